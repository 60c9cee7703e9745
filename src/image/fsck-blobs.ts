/** fsck's blob checks: every file against its name, every blob the index needs against the files. */
import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { isDigest, sha256Of, shortId } from '../store/digest.js';
import type { ImageRecord, LayerBlobRecord } from '../store/index-db.js';
import type { Store } from '../store/store.js';
import type { Digest } from '../store/types.js';
import { finding, type Finding, type FsckContext } from './fsck.js';
import { makeManifest } from './register.js';
import { decompressor } from './tar/decompress.js';

/** Files in the blob directory: named by their digest, and holding what that digest says. */
export async function checkBlobFiles(ctx: FsckContext): Promise<{ findings: Finding[]; checked: number }> {
  const { blobs } = ctx.store;
  const out: Finding[] = [];
  let checked = 0;
  for (const name of (await readdir(blobs.dir)).sort()) {
    const file = path.join(blobs.dir, name);
    const st = await lstat(file).catch(() => undefined);
    const d = `sha256:${name}`;
    if (!st) continue; // gone meanwhile
    if (!isDigest(d) || !st.isFile()) {
      const problem = st.isFile() ? 'not named by a sha256 digest' : 'not a regular file';
      out.push(await finding(ctx, { subject: `blob store entry ${file}`, problem, repair: 'removed it' }, () => rm(file, { recursive: true, force: true })));
      continue;
    }
    checked++;
    const good = await blobs.verify(d).catch((err: NodeJS.ErrnoException) => err.code ?? String(err));
    if (good === true) continue;
    const problem = good === false ? 'content does not match its digest' : `cannot be read: ${good}`;
    out.push(await finding(ctx, { subject: `blob ${d}`, problem, repair: 'removed it' }, () => blobs.delete(d)));
  }
  return { findings: out, checked };
}

type Row = Record<string, unknown>;

/** Write layer `diffId`'s tar again from a compressed blob of it; the digest must come out right. */
async function rebuildTar(store: Store, diffId: Digest, src: LayerBlobRecord): Promise<void> {
  const w = store.blobs.writer();
  try {
    const tar = pipeline(store.blobs.open(src.digest), decompressor(src.compression as 'gzip' | 'zstd'), () => undefined);
    for await (const c of tar) await w.write(c as Buffer);
    await w.commit({ digest: diffId, what: `layer ${diffId}` });
  } finally {
    await w.abort();
  }
}

/** Layer tars are needed to serve files; a compressed copy (kept for save and push) can stand in. */
async function checkLayerTars(ctx: FsckContext): Promise<Finding[]> {
  const { store } = ctx;
  const db = store.index.db;
  const out: Finding[] = [];
  // Unused layers are checkRows' business.
  const used = db.prepare('SELECT diff_id FROM layers WHERE diff_id IN (SELECT diff_id FROM image_layers) ORDER BY diff_id');
  for (const diffId of used.pluck().all() as Digest[]) {
    if (await store.blobs.has(diffId)) continue;
    let source: LayerBlobRecord | undefined;
    for (const b of store.index.blobsOfLayer(diffId)) if (b.compression !== 'none' && !source && (await store.blobs.has(b.digest))) source = b;
    const subject = `layer ${diffId}`;
    if (source) {
      const src = source;
      out.push(await finding(ctx, { subject, problem: 'its tar blob is missing', repair: `rebuilt it from its ${src.compression} blob ${src.digest}` },
        () => rebuildTar(store, diffId, src)));
      continue;
    }
    const users = (db.prepare('SELECT DISTINCT image_id FROM image_layers WHERE diff_id = ?').pluck().all(diffId) as Digest[]).map(shortId);
    out.push({ subject, problem: 'its tar blob is missing, and no compressed copy is stored',
      hint: `remove the images that use it (lamina rmi ${users.join(' ')}) and pull or load them again` });
  }
  return out;
}

/** Compressed copies only spare save and push a recompression: one that is gone is forgotten. */
async function checkCompressedBlobs(ctx: FsckContext): Promise<Finding[]> {
  const { store } = ctx;
  const out: Finding[] = [];
  const rows = store.index.db.prepare('SELECT digest, diff_id, compression FROM layer_blobs WHERE digest != diff_id ORDER BY digest').all() as Row[];
  for (const r of rows) {
    const digest = r.digest as Digest;
    if (await store.blobs.has(digest)) continue;
    out.push(await finding(ctx, {
      subject: `blob ${digest}`, problem: `the ${r.compression as string} copy of layer ${r.diff_id as string} is missing`, warning: true,
      repair: 'forgot it (save and push send the layer tar instead; a pull that needs it stores it again)',
    }, () => void store.index.db.prepare('DELETE FROM layer_blobs WHERE digest = ?').run(digest)));
  }
  return out;
}

/** The manifest lamina wrote for an image that came without one, if that is what `img` names. */
async function regeneratedManifest(store: Store, img: ImageRecord): Promise<Buffer | undefined> {
  const configSize = await store.blobs.size(img.id).catch(() => undefined);
  if (configSize === undefined) return undefined;
  const layers = [];
  for (const l of store.index.imageLayers(img.id)) {
    const b = store.index.blobByDigest(l.blobDigest);
    if (!b) return undefined;
    layers.push({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  }
  const bytes = Buffer.from(JSON.stringify(makeManifest(img.id, configSize, layers, img.manifestMediaType)));
  return sha256Of(bytes) === img.manifestDigest ? bytes : undefined;
}

/** Every image needs its config; its manifest only for save and push, which can write a new one. */
async function checkImageBlobs(ctx: FsckContext): Promise<Finding[]> {
  const { store } = ctx;
  const out: Finding[] = [];
  for (const img of store.index.images()) {
    const subject = `image ${img.id}`;
    if (!(await store.blobs.has(img.id))) {
      out.push({ subject, problem: 'its config blob is missing', hint: `remove it (lamina rmi ${shortId(img.id)}) and pull or load it again` });
    }
    if (await store.blobs.has(img.manifestDigest)) continue;
    const problem = `its manifest blob ${img.manifestDigest} is missing`;
    const bytes = await regeneratedManifest(store, img);
    out.push(bytes
      ? await finding(ctx, { subject, problem, repair: 'wrote it again from the config and layers' },
        async () => void (await store.blobs.put(bytes, { digest: img.manifestDigest })))
      : { subject, problem, warning: true, hint: 'save and push write a new manifest, with a new digest' });
  }
  return out;
}

/** Blobs the index names that are gone (or were just removed as corrupt). */
export async function checkReferencedBlobs(ctx: FsckContext): Promise<Finding[]> {
  return [...(await checkLayerTars(ctx)), ...(await checkCompressedBlobs(ctx)), ...(await checkImageBlobs(ctx))];
}
