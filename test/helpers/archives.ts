// Hand-made docker-archive tars (the `docker save` format) for hostile-input tests.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export interface RawEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  content?: string;
  linkname?: string;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An uncompressed layer tar from entries (names are written verbatim, hostile ones too). */
export async function layerTar(entries: RawEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((r) => pack.on('end', r));
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = Buffer.from(e.content ?? '');
    pack.entry({ name: e.name, type, linkname: e.linkname, mode: type === 'directory' ? 0o755 : 0o644, size: type === 'file' ? body.length : 0 },
      type === 'file' ? body : undefined);
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export interface ArchiveImage {
  tags: string[];
  layers: Buffer[];
  /** Replace the generated config (e.g. with wrong diff_ids). */
  config?: object;
  gzip?: boolean;
  /** Leave the config out of the archive. */
  omitConfig?: boolean;
}

/** Write a docker-archive with the given images; returns their config digests. */
export async function dockerArchive(file: string, images: ArchiveImage[]): Promise<string[]> {
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(file));
  const manifest = [];
  const ids = [];
  for (const img of images) {
    const layerNames = [];
    const diffIds = [];
    for (const l of img.layers) {
      const body = img.gzip ? gzipSync(l) : l;
      const name = `${sha(body)}.tar`;
      pack.entry({ name, size: body.length }, body);
      layerNames.push(name);
      diffIds.push(`sha256:${sha(l)}`);
    }
    const config = Buffer.from(JSON.stringify(img.config ?? {
      architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z', config: { Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: img.layers.map((_, i) => ({ created: '2024-01-02T03:04:05Z', created_by: `step ${i + 1}` })),
    }));
    const configName = `${sha(config)}.json`;
    if (!img.omitConfig) pack.entry({ name: configName, size: config.length }, config);
    ids.push(`sha256:${sha(config)}`);
    manifest.push({ Config: configName, RepoTags: img.tags, Layers: layerNames });
  }
  const m = Buffer.from(JSON.stringify(manifest));
  pack.entry({ name: 'manifest.json', size: m.length }, m);
  pack.finalize();
  await done;
  return ids;
}
