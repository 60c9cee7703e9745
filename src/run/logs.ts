// Container logs in the store, in docker's json-file format: one JSON object per line,
// {"log":"text\n","stream":"stdout","time":"RFC 3339 with nanoseconds"}.
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

export type Stream = 'stdout' | 'stderr';

export interface LogEntry {
  log: string;
  stream: Stream;
  time: string;
}

/** Where a container's log lives: beside its writable layer. */
export const logPath = (upperDir: string): string => path.join(path.dirname(upperDir), 'container.log');

/** An RFC 3339 time with nine fractional digits, as docker writes them (the clock gives microseconds). */
function nanoTime(): string {
  const now = performance.timeOrigin + performance.now();
  const ms = Math.floor(now);
  const micro = Math.min(999, Math.floor((now - ms) * 1000));
  return new Date(ms).toISOString().replace(/Z$/, `${String(micro).padStart(3, '0')}000Z`);
}

/**
 * Appends a container's output, a line per entry as it completes (a line without its newline is
 * written when its stream ends). A crash can tear only the last line, which readers skip.
 */
export class LogWriter {
  private readonly out: WriteStream;
  private readonly partial: Record<Stream, string> = { stdout: '', stderr: '' };
  /** Characters split between chunks are decoded whole. */
  private readonly decoders: Record<Stream, StringDecoder> = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };

  constructor(file: string) {
    this.out = createWriteStream(file, { flags: 'a', mode: 0o640 });
    this.out.on('error', () => undefined); // a full disk loses log lines, never the container
  }

  write(stream: Stream, chunk: Buffer): void {
    const text = this.partial[stream] + this.decoders[stream].write(chunk);
    const lines = text.split(/(?<=\n)/);
    const last = lines[lines.length - 1]!;
    this.partial[stream] = last.endsWith('\n') ? '' : last;
    const time = nanoTime();
    for (const l of last.endsWith('\n') ? lines : lines.slice(0, -1)) this.out.write(`${JSON.stringify({ log: l, stream, time })}\n`);
  }

  /** Writes what is left of unfinished lines. */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      this.partial[stream] += this.decoders[stream].end();
      if (this.partial[stream]) this.out.write(`${JSON.stringify({ log: this.partial[stream], stream, time: nanoTime() })}\n`);
      this.partial[stream] = '';
    }
  }

  close(): Promise<void> {
    this.flush();
    return new Promise((resolve) => this.out.end(resolve));
  }
}

function parseLines(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as LogEntry;
      if (typeof e.log === 'string' && (e.stream === 'stdout' || e.stream === 'stderr')) out.push(e);
    } catch {
      // a line torn by a crash
    }
  }
  return out;
}

/** Every entry logged so far, and how many bytes of the file they came from. */
export async function readLog(file: string): Promise<{ entries: LogEntry[]; size: number }> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const end = text.lastIndexOf('\n') + 1; // an unfinished last line is read next time
  return { entries: parseLines(text.slice(0, end)), size: Buffer.byteLength(text.slice(0, end)) };
}

/** Entries appended after byte `from`, and the new offset. */
export async function readLogFrom(file: string, from: number): Promise<{ entries: LogEntry[]; size: number }> {
  const st = await stat(file).catch(() => undefined);
  if (!st || st.size <= from) return { entries: [], size: from };
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(st.size - from);
    const { bytesRead } = await fh.read(buf, 0, buf.length, from);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    const end = text.lastIndexOf('\n') + 1;
    return { entries: parseLines(text.slice(0, end)), size: from + Buffer.byteLength(text.slice(0, end)) };
  } finally {
    await fh.close();
  }
}
