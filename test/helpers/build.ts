// For build tests: a busybox base image made here (busybox-static, umoci) and pushed to a
// local registry, so that lamina and buildah both build FROM it; and a way to see an image's
// files (lamina export, read with tar-stream).
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import tar from 'tar-stream';
import { buildOciLayout, busyboxRootfs } from './images.js';
import { runOk } from './proc.js';
import type { Registry } from './registry.js';

/**
 * busybox with what a RUN's sandbox mounts over already in place (/etc/hosts, /etc/hostname,
 * /etc/resolv.conf, /run): buildah 1.28 otherwise leaves its empty mount targets in the image.
 */
async function baseRootfs(rootfs: string): Promise<void> {
  await busyboxRootfs(rootfs);
  for (const f of ['hosts', 'hostname', 'resolv.conf']) await writeFile(path.join(rootfs, 'etc', f), '');
  await mkdir(path.join(rootfs, 'run'), { recursive: true });
}

/** Builds the base image in `work` and pushes it as `registry/NAME:1`; returns that reference. */
export async function pushBase(registry: Registry, work: string, name = 'base/busybox'): Promise<string> {
  const layout = path.join(work, 'base-layout');
  await buildOciLayout(layout, [baseRootfs], {
    config: { env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], cmd: ['sh'] }, timeout: 300_000,
  });
  const ref = registry.ref(`${name}:1`);
  await runOk('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${ref}`], { timeout: 300_000 });
  await rm(layout, { recursive: true, force: true });
  return ref;
}

export interface TarMember {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  mtime: number;
  linkname?: string;
  content?: string;
}

/** The members of a tar file by name (no leading ./, directories without their trailing /). */
export async function readTar(file: string): Promise<Map<string, TarMember>> {
  const { createReadStream } = await import('node:fs');
  const ex = tar.extract();
  createReadStream(file).pipe(ex);
  const out = new Map<string, TarMember>();
  for await (const e of ex) {
    const h = e.header;
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    out.set(h.name.replace(/^\.?\//, '').replace(/\/$/, ''), {
      type: h.type ?? 'file', mode: (h.mode ?? 0).toString(8), uid: h.uid ?? 0, gid: h.gid ?? 0,
      mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000), linkname: h.linkname ?? undefined,
      ...(h.type === 'file' && { content: Buffer.concat(chunks).toString() }),
    });
  }
  return out;
}

/** Writes `files` (path → content) under `dir`. */
export async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [p, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, p)), { recursive: true });
    await writeFile(path.join(dir, p), content);
  }
}
