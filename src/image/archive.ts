import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { ImgError, withContext } from '../store/errors.js';
import { sha256Of } from '../store/digest.js';
import { ingestLayer, type IngestResult } from './tar/ingest.js';
import { parseJson } from './oci.js';
import type { BlobStore } from '../store/blobs.js';
import type { Digest } from '../store/types.js';

/** Members this small that look like JSON are kept in memory; everything else is ingested as a layer. */
const MAX_JSON = 16 << 20;

/**
 * The members of an image archive: a docker-archive or OCI layout, as a tar
 * file, a tar stream or a directory. Layers stream straight into `blobs`.
 */
export interface ArchiveReader {
  readonly name: string;
  /** Parsed JSON member, or undefined when the archive has no such member. */
  json(member: string): Promise<unknown>;
  /** Raw bytes of a small member (configs, manifests), verified when `expect` is given. */
  bytes(member: string, expect?: Digest): Promise<Buffer>;
  /** Ingest (or return the already ingested) layer member. */
  layer(member: string, expect?: Digest): Promise<IngestResult>;
  /** Drop staged layers nothing asked for (so they never become orphan blobs). */
  discardUnused(): Promise<void>;
}

const clean = (p: string) => path.posix.normalize(p).replace(/^(\.\/)+/, '').replace(/^\/+/, '');

function verifyBytes(buf: Buffer, expect: Digest | undefined, what: string): Buffer {
  if (expect && sha256Of(buf) !== expect) {
    throw new ImgError('DIGEST_MISMATCH', `${what}: digest mismatch: want ${expect}, got ${sha256Of(buf)}`);
  }
  return buf;
}

/** Reads an OCI layout directory member by member. */
class DirReader implements ArchiveReader {
  private readonly ingested = new Map<string, IngestResult>();
  constructor(readonly name: string, private readonly dir: string, private readonly blobs: BlobStore) {}

  private file(member: string): string {
    const p = clean(member);
    if (p.startsWith('../') || p === '..') throw new ImgError('INVALID_ARGUMENT', `${this.name}: member "${member}" escapes the archive`);
    return path.join(this.dir, p);
  }

  async json(member: string): Promise<unknown> {
    const buf = await readFile(this.file(member)).catch(() => undefined);
    if (!buf) return undefined;
    return parseJson(buf, `${this.name}: ${member}`);
  }

  async bytes(member: string, expect?: Digest): Promise<Buffer> {
    const f = this.file(member);
    const buf = await readFile(f).catch(() => {
      throw new ImgError('NOT_FOUND', `${this.name}: missing ${member}`);
    });
    return verifyBytes(buf, expect, `${this.name}: ${member}`);
  }

  async layer(member: string, expect?: Digest): Promise<IngestResult> {
    const hit = this.ingested.get(member);
    if (hit) return hit;
    const f = this.file(member);
    await stat(f).catch(() => {
      throw new ImgError('NOT_FOUND', `${this.name}: missing layer ${member}`);
    });
    const r = await ingestLayer(this.blobs, createReadStream(f), { expectDigest: expect, what: `${this.name}: layer ${member}` });
    this.ingested.set(member, r);
    return r;
  }

  async discardUnused(): Promise<void> {}
}

type Member = { kind: 'json'; buf: Buffer } | { kind: 'layer'; result: IngestResult } | { kind: 'error'; err: unknown };

/** Reads a tar archive in one pass: small JSON members in memory, every other member ingested as it streams by. */
class TarReader implements ArchiveReader {
  private readonly members = new Map<string, Member>();
  private readonly links = new Map<string, string>();
  private readonly used = new Set<Digest>();
  constructor(readonly name: string, private readonly blobs: BlobStore) {}

  async scan(src: Readable): Promise<void> {
    const ex = tar.extract();
    src.on('error', (err) => ex.destroy(err));
    src.pipe(ex);
    try {
      for await (const entry of ex) await this.take(entry);
    } catch (err) {
      throw withContext(`${this.name}: reading archive`, err);
    }
  }

  private async take(entry: tar.ExtractEvents['entry'][1]): Promise<void> {
    const h = entry.header;
    const member = clean(h.name);
    if (h.type === 'symlink' || h.type === 'link') {
      const target = h.type === 'symlink' ? path.posix.join(path.posix.dirname(member), h.linkname ?? '') : h.linkname ?? '';
      this.links.set(member, clean(target));
    }
    if (h.type !== 'file' && h.type !== 'contiguous-file') return void entry.resume();
    // Look at the first chunk to tell JSON from layer data, then stream the rest.
    const it = entry[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const first = await it.next();
    async function* rest(): AsyncGenerator<Buffer> {
      if (!first.done) yield first.value;
      for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
    }
    const head = first.done ? undefined : first.value[0];
    if (head === undefined || ((head === 0x7b || head === 0x5b) && (h.size ?? 0) <= MAX_JSON)) {
      this.members.set(member, { kind: 'json', buf: await readAll(rest()) });
      return;
    }
    try {
      const result = await ingestLayer(this.blobs, rest(), { what: `${this.name}: layer ${member}` });
      this.members.set(member, { kind: 'layer', result });
    } catch (err) {
      for (let n = await it.next(); !n.done; n = await it.next());
      this.members.set(member, { kind: 'error', err });
    }
  }

  private get(member: string): Member | undefined {
    let p = clean(member);
    for (let hops = 0; hops < 8 && !this.members.has(p) && this.links.has(p); hops++) p = this.links.get(p)!;
    return this.members.get(p);
  }

  async json(member: string): Promise<unknown> {
    const m = this.get(member);
    return m?.kind === 'json' ? parseJson(m.buf, `${this.name}: ${member}`) : undefined;
  }

  async bytes(member: string, expect?: Digest): Promise<Buffer> {
    const m = this.get(member);
    if (!m || m.kind === 'error') throw new ImgError('NOT_FOUND', `${this.name}: missing ${member}`);
    if (m.kind === 'layer') throw new ImgError('INVALID_ARGUMENT', `${this.name}: ${member} is not JSON`);
    return verifyBytes(m.buf, expect, `${this.name}: ${member}`);
  }

  async layer(member: string, expect?: Digest): Promise<IngestResult> {
    const m = this.get(member);
    if (!m) throw new ImgError('NOT_FOUND', `${this.name}: missing layer ${member}`);
    if (m.kind === 'error') throw m.err;
    if (m.kind === 'json') throw new ImgError('INVALID_ARGUMENT', `${this.name}: layer ${member} is not a tar archive`);
    if (expect && m.result.digest !== expect) {
      throw new ImgError('DIGEST_MISMATCH', `${this.name}: layer ${member}: digest mismatch: want ${expect}, got ${m.result.digest}`);
    }
    this.used.add(m.result.digest).add(m.result.diffId);
    return m.result;
  }

  async discardUnused(): Promise<void> {
    for (const m of this.members.values()) {
      if (m.kind !== 'layer') continue;
      for (const d of [m.result.digest, m.result.diffId]) if (!this.used.has(d)) await this.blobs.delete(d);
    }
  }
}

async function readAll(s: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Open an archive at `file` (tar, or OCI layout directory) or from a stream. */
export async function openArchive(src: string | Readable, blobs: BlobStore): Promise<ArchiveReader> {
  if (typeof src !== 'string') {
    const r = new TarReader('stdin', blobs);
    await r.scan(src);
    return r;
  }
  const st = await stat(src).catch(() => {
    throw new ImgError('NOT_FOUND', `${src}: no such file or directory`);
  });
  if (st.isDirectory()) return new DirReader(src, src, blobs);
  const r = new TarReader(src, blobs);
  await r.scan(createReadStream(src));
  return r;
}
