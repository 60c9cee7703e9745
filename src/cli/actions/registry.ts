import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { ImgError } from '../../store/errors.js';
import { login, logout, registryOf } from '../../registry/login.js';
import { parsePlatform } from '../../image/platform.js';
import { pull } from '../../registry/pull.js';
import { push } from '../../registry/push.js';
import { listTags, search } from '../../registry/search.js';
import { humanSize, table } from '../format.js';
import type { Context, Output } from '../context.js';

type LayerEvent = { kind: 'start'; text: string } | { kind: 'layer'; id: string; status: string; current?: number; total?: number };

/** docker's progress bar: `[=====>      ]  1.2MB/3.4MB`. */
function bar(current: number, total: number): string {
  const width = 50;
  const filled = total > 0 ? Math.min(width, Math.floor((current / total) * width)) : 0;
  const body = filled >= width ? '='.repeat(width) : `${'='.repeat(filled)}>${' '.repeat(width - filled - 1)}`;
  return `[${body}]  ${humanSize(current)}/${humanSize(total)}`;
}

/**
 * Per-layer status lines. On a TTY the block is redrawn in place (at most every
 * 100 ms for byte counts); otherwise each status change is printed once.
 */
class ProgressBoard {
  private readonly lines = new Map<string, string>();
  private readonly last = new Map<string, string>();
  private drawn = 0;
  private lastDraw = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  private get tty(): boolean {
    return !!this.out.isTTY;
  }

  handle = (e: LayerEvent): void => {
    if (e.kind === 'start') return void this.out.write(`${e.text}\n`);
    const moving = e.current !== undefined && e.total !== undefined;
    if (!this.tty) {
      if (this.last.get(e.id) !== e.status) this.out.write(`${e.id}: ${e.status}\n`);
      this.last.set(e.id, e.status);
      return;
    }
    this.lines.set(e.id, `${e.id}: ${e.status}${moving ? ` ${bar(e.current!, e.total!)}` : ''}`);
    if (!moving || Date.now() - this.lastDraw >= 100) this.draw();
  };

  private draw(): void {
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    const body = [...this.lines.values()].map((l) => `\x1b[2K${l}\n`).join('');
    this.out.write(up + body);
    this.drawn = this.lines.size;
    this.lastDraw = Date.now();
  }

  finish(): void {
    if (this.tty && this.lines.size) this.draw();
  }
}

function positive(raw: string, what: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ImgError('INVALID_ARGUMENT', `invalid ${what} "${raw}": want a positive integer`);
  return n;
}

function concurrency(flag: string | undefined, env: string, fallback: number): number {
  const raw = flag ?? process.env[env];
  return raw === undefined || raw === '' ? fallback : positive(raw, 'concurrency');
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '');
}

/** Ask on the terminal; `hidden` keeps a password off the screen. */
function ask(question: string, hidden: boolean): Promise<string> {
  let muted = false;
  const output = new Writable({ write: (c, _e, cb) => ((muted ? undefined : process.stderr.write(c)), cb()) });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      if (hidden) process.stderr.write('\n');
      resolve(answer);
    });
    muted = hidden;
  });
}

interface LoginFlags { username?: string; password?: string; passwordStdin?: boolean }

async function loginCredentials(o: LoginFlags): Promise<{ username: string; password: string }> {
  if (o.passwordStdin) {
    if (o.password) throw new ImgError('INVALID_ARGUMENT', '--password and --password-stdin are mutually exclusive');
    if (!o.username) throw new ImgError('INVALID_ARGUMENT', 'must provide --username with --password-stdin');
    return { username: o.username, password: await readStdin() };
  }
  if (o.password) process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (o.username && o.password) return { username: o.username, password: o.password };
  if (!process.stdin.isTTY) throw new ImgError('INVALID_ARGUMENT', 'cannot perform an interactive login from a non TTY device');
  const username = o.username ?? (await ask('Username: ', false));
  return { username, password: o.password ?? (await ask('Password: ', true)) };
}

export async function runPull(ctx: Context, ref: string, o: { quiet?: boolean; platform?: string; maxConcurrentDownloads?: string }): Promise<Output> {
  const board = o.quiet ? undefined : new ProgressBoard(process.stdout);
  const r = await pull(await ctx.store(), ref, {
    platform: o.platform ? parsePlatform(o.platform) : undefined,
    maxConcurrent: concurrency(o.maxConcurrentDownloads, 'LAMINA_MAX_CONCURRENT_DOWNLOADS', 3),
    onEvent: board?.handle,
  });
  board?.finish();
  if (o.quiet) return r.name;
  const status = r.upToDate ? `Image is up to date for ${r.familiar}` : `Downloaded newer image for ${r.familiar}`;
  return [`Digest: ${r.digest}`, `Status: ${status}`, r.name].join('\n');
}

export async function runPush(ctx: Context, ref: string, o: { quiet?: boolean; maxConcurrentUploads?: string }): Promise<Output> {
  const board = o.quiet ? undefined : new ProgressBoard(process.stdout);
  const r = await push(await ctx.store(), ref, {
    maxConcurrent: concurrency(o.maxConcurrentUploads, 'LAMINA_MAX_CONCURRENT_UPLOADS', 5),
    onEvent: board?.handle,
  });
  board?.finish();
  return o.quiet ? ref : `${r.tag}: digest: ${r.digest} size: ${r.size}`;
}

export async function runLogin(ctx: Context, server: string | undefined, o: LoginFlags): Promise<Output> {
  await login(ctx.root, server, await loginCredentials(o));
  return 'Login Succeeded';
}

export async function runLogout(_ctx: Context, server: string | undefined): Promise<Output> {
  const host = registryOf(server);
  return (await logout(server)) ? `Removing login credentials for ${host}` : `Not logged in to ${host}`;
}

export async function runSearch(ctx: Context, term: string, o: { tags?: boolean; limit?: string }): Promise<Output> {
  const limit = o.limit === undefined ? Infinity : positive(o.limit, '--limit');
  if (o.tags) {
    const r = await listTags(ctx.root, term, limit);
    return table(['REPOSITORY', 'TAG'], r.tags.map((t) => [r.name, t]));
  }
  const rows = await search(ctx.root, term, limit);
  if (rows.some((r) => r.description !== undefined)) {
    return table(['NAME', 'DESCRIPTION', 'STARS', 'OFFICIAL'], rows.map((r) => [r.name, r.description ?? '', String(r.stars ?? 0), r.official ? '[OK]' : '']));
  }
  return table(['NAME'], rows.map((r) => [r.name]));
}
