/** A push parser for an uncompressed tar that records where each entry's data sits. */
import { ImgError, messageOf } from '../../store/errors.js';
import type { EntryType, LayerEntry } from '../../store/types.js';
import { dataSizeOf, entryError, LayerChecker, rawPathOf, toEntry, type Meta } from './entry.js';
import { BLOCK, decodeHeader, decodeLongName, decodePax, describeFlag, kindOf, padded, type RawHeader } from './headers.js';

/** Largest PAX or long-name body we hold in memory; real ones are a few KiB. */
const MAX_META = 16 << 20;

type MetaKind = 'pax' | 'pax-global' | 'long-name' | 'long-link';

/**
 * Feed it the uncompressed tar in chunks of any size; it never copies file
 * data, only the header blocks and metadata bodies it has to decode.
 */
export class TarParser {
  readonly entries: LayerEntry[] = [];
  /** Bytes consumed so far, i.e. the offset of the next byte in the uncompressed tar. */
  pos = 0;
  private skip = 0;
  private need = BLOCK;
  private parts: Buffer[] = [];
  private have = 0;
  private body: MetaKind | undefined;
  private afterBody = 0;
  private ended = false;
  private meta: Meta = {};
  private skipping = '';
  private readonly checker = new LayerChecker();

  /** `notTar` is the error for input whose first header is not a tar header. */
  constructor(private readonly notTar: string) {}

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.ended) {
        this.pos += chunk.length - i;
        return;
      }
      const n = Math.min(this.skip > 0 ? this.skip : this.need - this.have, chunk.length - i);
      if (this.skip > 0) this.skip -= n;
      else this.collect(chunk.subarray(i, i + n));
      i += n;
      this.pos += n;
      if (this.skip === 0 && this.have === this.need) this.complete(this.take());
    }
  }

  /** Call at end of input: throws when the archive stops inside a header or an entry. */
  end(): void {
    if (this.ended || (this.skip === 0 && this.have === 0 && !this.body && !hasMeta(this.meta))) return;
    if (this.pos === this.have) throw new ImgError('INVALID_ARGUMENT', this.notTar);
    const where = this.skip > 0 ? `inside ${this.skipping}` : this.body ? 'inside an extended header'
      : this.have > 0 ? 'inside a header' : 'after an extended header, before its entry';
    throw new ImgError('INVALID_ARGUMENT', `truncated tar: input ends ${where} at offset ${this.pos}`);
  }

  private collect(part: Buffer): void {
    this.parts.push(part);
    this.have += part.length;
  }

  private take(): Buffer {
    const buf = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.have);
    this.parts = [];
    this.have = 0;
    return buf;
  }

  private complete(buf: Buffer): void {
    if (!this.body) return this.onHeader(buf);
    this.onBody(this.body, buf);
    this.body = undefined;
    this.need = BLOCK;
  }

  private onHeader(block: Buffer): void {
    const h = this.decode(block);
    if (!h) return this.onZeroBlock();
    const kind = kindOf(block);
    if (kind === undefined) throw entryError(rawPathOf(h, this.meta), `unsupported entry type ${describeFlag(block)}`);
    if (kind === 'pax' || kind === 'pax-global' || kind === 'long-name' || kind === 'long-link') return this.startBody(kind, h.size);
    this.onEntry(h, kind);
  }

  private decode(block: Buffer): RawHeader | undefined {
    const at = this.pos - BLOCK;
    try {
      return decodeHeader(block);
    } catch (err) {
      if (at === 0) throw new ImgError('INVALID_ARGUMENT', this.notTar, { cause: err });
      throw new ImgError('INVALID_ARGUMENT', `${messageOf(err)} at offset ${at}`, { cause: err });
    }
  }

  private onZeroBlock(): void {
    if (hasMeta(this.meta)) throw new ImgError('INVALID_ARGUMENT', `extended header without an entry at offset ${this.pos - BLOCK}`);
    this.ended = true;
  }

  private startBody(kind: MetaKind, size: number): void {
    if (size > MAX_META) throw new ImgError('INVALID_ARGUMENT', `${kind} header of ${size} bytes at offset ${this.pos - BLOCK} is too large`);
    if (size === 0) return this.onBody(kind, Buffer.alloc(0));
    this.body = kind;
    this.need = size;
    this.afterBody = padded(size) - size;
  }

  private onBody(kind: MetaKind, body: Buffer): void {
    this.skip = this.afterBody;
    this.afterBody = 0;
    this.skipping = 'an extended header';
    // Global PAX headers are ignored, as Go's archive/tar (docker, umoci) ignores them.
    if (kind === 'pax') this.meta.pax = decodePax(body);
    else if (kind === 'long-name') this.meta.longName = decodeLongName(body);
    else if (kind === 'long-link') this.meta.longLink = decodeLongName(body);
    else decodePax(body);
  }

  private onEntry(h: RawHeader, type: EntryType): void {
    const size = dataSizeOf(h, type, this.meta);
    const e = this.checker.accept(toEntry(h, type, this.meta, this.pos));
    this.entries.push(e);
    this.skipping = `the data of entry ${JSON.stringify(e.path)}`;
    this.meta = {};
    this.skip = padded(size);
  }
}

const hasMeta = (m: Meta): boolean => m.pax !== undefined || m.longName !== undefined || m.longLink !== undefined;
