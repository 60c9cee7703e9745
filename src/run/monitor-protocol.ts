// How clients talk to a container's monitor over its Unix socket. A connection opens with one
// JSON request line. `attach` then carries frames both ways, as docker's attach stream does:
// an 8-byte header (kind, three zero bytes, payload length as u32 big-endian) and the payload.
// Every other request gets one JSON answer line.

/** Frame kinds: output and exit from the monitor; input, resize and signals from the client. */
export const FRAME = { stdin: 0, stdout: 1, stderr: 2, exit: 3, stdinEnd: 4, resize: 5, signal: 6 } as const;
export type FrameKind = (typeof FRAME)[keyof typeof FRAME];

export type MonitorRequest =
  | { op: 'attach'; stdin: boolean; rows?: number; cols?: number }
  /** Answers once the first start succeeded (with the process's PID) or failed. */
  | { op: 'started' }
  | { op: 'kill'; signal: string }
  | { op: 'stop'; signal: string; timeoutSec: number };

export interface MonitorAnswer {
  ok: boolean;
  error?: string;
  /** stop: the exit code. */
  exitCode?: number;
  /** started: the host PID of the container's first process. */
  pid?: number;
  code?: string;
}

/** What the exit frame says. */
export interface ExitReport {
  exitCode: number;
  /** The container was removed (--rm) before this was sent. */
  removed?: boolean;
  error?: string;
}

export function frame(kind: FrameKind, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(8);
  head[0] = kind;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** Splits a byte stream into frames, whatever the chunk boundaries. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (kind: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + len) return;
      const kind = this.buf[0]!;
      const payload = this.buf.subarray(8, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      this.onFrame(kind, payload);
    }
  }
}

/** Reads the first line of a connection; the rest of what arrived is handed back. */
export function firstLine(onLine: (line: string, rest: Buffer) => void, maxBytes = 64 * 1024): (chunk: Buffer) => boolean {
  let head: Buffer = Buffer.alloc(0);
  return (chunk) => {
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(10);
    if (nl < 0) {
      if (head.length > maxBytes) throw new Error('request line too long');
      return false;
    }
    onLine(head.subarray(0, nl).toString('utf8'), head.subarray(nl + 1));
    return true;
  };
}
