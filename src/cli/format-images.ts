/**
 * `images` rows as docker's formatter builds them (cli/command/formatter/image.go):
 * one row per tag, digests as extra rows with --digests, untagged images as
 * <none>, and the fields a --format template can use.
 */
import type { ImageSummary } from '../image/image-list.js';
import { goTime, humanSize, since, truncateId } from './format.js';
import type { Listing } from './format-write.js';
import { asStruct } from './format-values.js';

export const IMAGES: Listing = {
  headers: { ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED',
    CreatedAt: 'CREATED AT', Size: 'SIZE', Containers: 'CONTAINERS', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE' },
  table: 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}',
};
const TABLE_WITH_DIGEST = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';

export interface ImageFormatFlags { format?: string; quiet?: boolean; digests?: boolean }

/** docker's NewImageFormat: the template a flag combination means. */
export function imageFormat(o: ImageFormatFlags): string {
  const f = o.format || 'table';
  if (f === 'table') return o.quiet ? '{{.ID}}' : o.digests ? TABLE_WITH_DIGEST : IMAGES.table;
  return f.startsWith('table') && o.digests && !f.includes('{{.Digest}}') ? `${f}\t{{.Digest}}` : f;
}

function row(img: ImageSummary, trunc: boolean, repo: string, tag: string, digest: string) {
  return asStruct({
    Containers: String(img.containers),
    CreatedAt: goTime(img.created),
    CreatedSince: img.created ? since(img.created) : '',
    Digest: digest,
    ID: trunc ? truncateId(img.id) : img.id,
    Repository: repo,
    SharedSize: humanSize(img.sharedSize, 4),
    Size: humanSize(img.size),
    Tag: tag,
    UniqueSize: humanSize(img.size - img.sharedSize, 4),
  }, 'image', { row: true });
}

const split = (name: string, sep: string) => {
  const at = sep === ':' ? name.lastIndexOf(':') : name.indexOf('@');
  return [name.slice(0, at), name.slice(at + 1)] as const;
};

/** The rows of one image: tags first (times digests when shown), then digest-only repositories. */
function rowsOf(img: ImageSummary, trunc: boolean, digests: boolean, wantDigest: boolean) {
  if (img.repoTags.length === 0 && img.repoDigests.length === 0) return [row(img, trunc, '<none>', '<none>', '<none>')];
  const byRepo = new Map<string, string[]>();
  for (const d of img.repoDigests) {
    const [repo, dg] = split(d, '@');
    byRepo.set(repo, [...(byRepo.get(repo) ?? []), dg]);
  }
  const rows = [];
  for (const t of img.repoTags) {
    const [repo, tag] = split(t, ':');
    const ds = wantDigest ? byRepo.get(repo) ?? [] : [];
    if (ds.length === 0) rows.push(row(img, trunc, repo, tag, '<none>'));
    for (const d of ds) rows.push(row(img, trunc, repo, tag, d));
  }
  const tagged = new Set(img.repoTags.map((t) => split(t, ':')[0]));
  for (const [repo, ds] of byRepo) {
    if (tagged.has(repo)) continue;
    if (digests) for (const d of ds) rows.push(row(img, trunc, repo, '<none>', d));
    else rows.push(row(img, trunc, repo, '<none>', ''));
  }
  return rows;
}

/** Rows for `images`; `format` is the resolved template (it decides whether digests are needed). */
export function imageRows(images: ImageSummary[], o: { trunc: boolean; digests: boolean; format: string }): object[] {
  const wantDigest = o.digests || o.format.includes('{{.Digest}}');
  return images.flatMap((img) => rowsOf(img, o.trunc, o.digests, wantDigest));
}
