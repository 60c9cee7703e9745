// A container's merged view: the image's lower view with a writable upper layer on top.
// Each change resolves the paths, asks the pure planner (union/container.ts) what to
// do, then applies the plan to the host upper dir (upper/host-upper.ts).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { fsError } from '../union/errno.js';
import {
  isInternalXattr, missingUpperParents, OVL_METACOPY, OVL_OPAQUE, OVL_REDIRECT, parentOf, planCopyUp, planCreate,
  planRemove, planRename, UnionResolver, type CopyUpPlan, type CreatePlan, type RemovePlan, type Resolved,
} from '../union/container.js';
import { copyData } from '../container/upper/copy-up.js';
import { HostUpper, type Meta } from '../container/upper/host-upper.js';
import { getXattr, lutimens, mknod, removeXattr, setXattr, UTIME_OMIT } from '../container/upper/sys.js';
import type { MergedView, Node, OpenTarget, Owner, StatfsTotals, WritableView } from '../union/view.js';

const { O_TRUNC, S_IFMT, S_IFREG } = fs.constants;
const O_ACCMODE = 3;
const KEEP = 0xffffffff; // chown's "unchanged" as fuse-native passes it (uid_t -1)

// glibc's major()/minor() of a 32-bit dev_t, as mknod receives it.
const devMajor = (d: number) => (d >>> 8) & 0xfff;
const devMinor = (d: number) => (d & 0xff) | ((d >>> 12) & 0xfff00);

export class ContainerView implements WritableView {
  readonly writable = true;
  readonly u: UnionResolver;
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(readonly lower: MergedView, readonly upper: HostUpper) {
    this.u = new UnionResolver(lower, upper);
    this.initRoot();
  }

  /** A fresh upper root takes the image root's owner, mode and mtime (once). */
  private initRoot(): void {
    const root = this.upper.probe('/');
    const lower = this.lower.lookup('/');
    if (!lower || root?.node.ino !== undefined && root.node.ino === lower.ino) return;
    this.upper.applyMeta(this.upper.root, 'dir', this.metaOf('/', lower));
  }

  lookup(p: string): Node | undefined {
    return this.u.resolve(p)?.node;
  }

  readdir(p: string): string[] | undefined {
    return this.u.list(p);
  }

  xattrs(p: string): Record<string, Buffer> {
    const r = this.u.resolve(p);
    if (!r) return {};
    return r.upper ? this.upper.xattrs(p) : this.lower.xattrs(r.lower!.path);
  }

  /** One xattr (undefined when absent): a single resolve and one lgetxattr, for the kernel's frequent security.* probes. */
  xattr(p: string, name: string): Buffer | undefined {
    const r = this.must(p);
    if (!r.upper) return this.lower.xattrs(r.lower!.path)[name];
    return isInternalXattr(name) ? undefined : getXattr(this.upper.host(p), name);
  }

  stats(): { files: number; bytes: number } {
    return this.lower.stats();
  }

  close(): void | Promise<void> {
    return this.lower.close?.();
  }

  async statfs(): Promise<StatfsTotals> {
    const s = await fsp.statfs(this.upper.root);
    const k = s.bsize / 4096;
    return { blocks: Math.floor(s.blocks * k), bfree: Math.floor(s.bfree * k), bavail: Math.floor(s.bavail * k), files: s.files, ffree: s.ffree };
  }

  private must(p: string): Resolved {
    const r = this.u.resolve(p);
    if (!r) throw fsError('ENOENT');
    return r;
  }

  // --- opens -------------------------------------------------------------

  async open(p: string, flags: number): Promise<OpenTarget> {
    const r = this.must(p);
    const write = (flags & O_ACCMODE) !== 0 || (flags & O_TRUNC) !== 0;
    if (r.node.type === 'dir') throw fsError(write ? 'EISDIR' : 'ENOTSUP');
    if (write) {
      await this.copyUp(p, flags & O_TRUNC ? 'trunc' : 'data');
      return { host: this.upper.host(p) };
    }
    if (!r.upper) return { node: r.node };
    return r.upper.metacopy && r.data ? { node: { ...r.data.node, size: r.node.size } } : { host: this.upper.host(p) };
  }

  async create(p: string, mode: number, owner?: Owner): Promise<string> {
    this.placeNew(planCreate(this.u, p, false), (h) => this.upper.makeNode(h, 'file', mode, {}), owner);
    return this.upper.host(p);
  }

  // --- namespace ---------------------------------------------------------

  async mkdir(p: string, mode: number, owner?: Owner): Promise<void> {
    this.placeNew(planCreate(this.u, p, true), (h) => this.upper.makeNode(h, 'dir', mode, {}), owner, true);
  }

  async mknod(p: string, mode: number, dev: number, owner?: Owner): Promise<void> {
    if ((mode & S_IFMT) === S_IFREG) return void (await this.create(p, mode, owner));
    this.placeNew(planCreate(this.u, p, false), (h) => mknod(h, mode, devMajor(dev), devMinor(dev)), owner);
  }

  async symlink(target: string, p: string, owner?: Owner): Promise<void> {
    this.placeNew(planCreate(this.u, p, false), (h) => this.upper.makeNode(h, 'symlink', 0o777, { linkname: target }), owner);
  }

  async link(from: string, to: string): Promise<void> {
    if (this.must(from).node.type === 'dir') throw fsError('EPERM');
    await this.copyUp(from, 'data'); // links share one upper inode, so never a metacopy one
    this.placeNew(planCreate(this.u, to, false), (h) => fs.linkSync(this.upper.host(from), h));
  }

  async unlink(p: string): Promise<void> {
    this.applyRemove(planRemove(this.u, this.must(p), false), false);
  }

  async rmdir(p: string): Promise<void> {
    this.applyRemove(planRemove(this.u, this.must(p), true), true);
  }

  async rename(from: string, to: string): Promise<void> {
    const src = this.must(from);
    const plan = planRename(this.u, src, to);
    if (plan.from === plan.to) return;
    if (plan.copyUpSource) await this.copyUp(from, 'meta');
    this.ensureParents(to);
    const dst = this.upper.probe(to);
    for (const w of plan.replace?.clearWhiteouts ?? []) this.upper.remove(w);
    if (dst?.whiteout && src.node.type === 'dir') this.upper.remove(to); // rename(2) cannot put a dir over a char device
    this.upper.rename(from, to, plan.whiteoutSource);
    const moved = this.upper.host(to);
    if (plan.redirect !== undefined && (src.node.type === 'dir' || this.upper.probe(to)?.metacopy)) setXattr(moved, OVL_REDIRECT, Buffer.from(plan.redirect));
    if (plan.opaque) setXattr(moved, OVL_OPAQUE, Buffer.from('y'));
    this.u.invalidate();
  }

  // --- attributes --------------------------------------------------------

  async chmod(p: string, mode: number): Promise<void> {
    const r = await this.copyUp(p, 'meta');
    if (r.node.type !== 'symlink') fs.chmodSync(this.upper.host(p), mode & 0o7777);
  }

  async chown(p: string, uid: number, gid: number): Promise<void> {
    await this.copyUp(p, 'meta');
    fs.lchownSync(this.upper.host(p), uid === KEEP ? -1 : uid, gid === KEEP ? -1 : gid);
  }

  async utimens(p: string, atime: [number, number], mtime: [number, number]): Promise<void> {
    await this.copyUp(p, 'meta');
    lutimens(this.upper.host(p), atime, mtime);
  }

  async truncate(p: string, size: number): Promise<void> {
    const r = this.must(p);
    if (r.node.type === 'dir') throw fsError('EISDIR');
    if (!r.upper || r.upper.metacopy) await this.copyUp(p, size === 0 ? 'trunc' : 'data');
    await fsp.truncate(this.upper.host(p), size);
  }

  async setxattr(p: string, name: string, value: Buffer, flags: number): Promise<void> {
    if (isInternalXattr(name)) throw fsError('EPERM');
    await this.copyUp(p, 'meta');
    setXattr(this.upper.host(p), name, value, flags);
  }

  async removexattr(p: string, name: string): Promise<void> {
    if (isInternalXattr(name) || !(name in this.xattrs(p))) throw fsError('ENODATA');
    await this.copyUp(p, 'meta');
    removeXattr(this.upper.host(p), name);
  }

  // --- applying plans ----------------------------------------------------

  /** Brings `p` up as `need` requires; concurrent callers share one copy-up per path. */
  async copyUp(p: string, need: 'meta' | 'data' | 'trunc'): Promise<Resolved> {
    for (;;) {
      const running = this.inflight.get(p);
      if (running) {
        await running.catch(() => undefined);
        continue;
      }
      const r = this.must(p);
      const plan = planCopyUp(r, need);
      if (plan.op === 'none') return r;
      const job = this.applyCopyUp(plan).finally(() => this.inflight.delete(p));
      this.inflight.set(p, job);
      await job;
    }
  }

  private async applyCopyUp(plan: Exclude<CopyUpPlan, { op: 'none' }>): Promise<void> {
    if (plan.op === 'data-up') return this.fillMetacopy(plan.path, plan.from?.node, plan.truncate);
    this.ensureParents(plan.path);
    const { node } = plan.from;
    if (plan.kind === 'data') return this.copyUpData(plan.path, plan.from);
    const meta = this.metaOf(plan.from.path, node);
    const t = this.upper.tmp();
    this.upper.makeNode(t, node.type, node.mode, { ...node, size: plan.kind === 'meta' ? node.size : 0 });
    this.upper.applyMeta(t, node.type, meta);
    if (node.type === 'file' && plan.kind === 'meta') setXattr(t, OVL_METACOPY, Buffer.alloc(0));
    this.upper.keepTimes(parentOf(plan.path), () => this.upper.place(t, plan.path));
    if (node.type === 'dir') this.u.invalidate();
  }

  /** Full copy: stream into a temp file, fsync, then rename into place (never a partial file). */
  private async copyUpData(p: string, from: { path: string; node: Node }): Promise<void> {
    const t = this.upper.tmp();
    const fh = await fsp.open(t, 'wx', 0o600);
    try {
      await copyData(from.node, fh);
      await fh.sync();
    } catch (err) {
      await fh.close();
      await fsp.rm(t, { force: true });
      throw err;
    }
    await fh.close();
    const now = this.u.resolve(p);
    if (now?.upper || now?.lower?.node.ino !== from.node.ino) return void fs.rmSync(t, { force: true }); // changed meanwhile
    this.ensureParents(p);
    this.upper.applyMeta(t, 'file', this.metaOf(from.path, from.node));
    this.upper.keepTimes(parentOf(p), () => this.upper.place(t, p));
  }

  /**
   * Data for a metacopy file, written in place (its links and open fds stay valid); the
   * metacopy xattr goes only once the data is durable, and the file keeps its mtime.
   */
  private async fillMetacopy(p: string, from: Node | undefined, truncate: boolean): Promise<void> {
    const h = this.upper.host(p);
    const fh = await fsp.open(h, 'r+');
    const st = await fh.stat({ bigint: true });
    const { mtimeNs } = st;
    const size = Number(st.size);
    const keepMtime = () => lutimens(h, [0, UTIME_OMIT], [Number(mtimeNs / 1_000_000_000n), Number(mtimeNs % 1_000_000_000n)]);
    try {
      if (truncate) await fh.truncate(0);
      else if (from) await copyData(from, fh, size);
      await fh.sync();
    } catch (err) {
      // Still a metacopy file (reads keep coming from below): give back the blocks written
      // so far (ENOSPC must not leave the disk full) by punching it back to one hole.
      await fh.truncate(0).then(() => fh.truncate(size)).catch(() => undefined);
      await fh.close();
      keepMtime();
      throw err;
    }
    await fh.close();
    keepMtime();
    removeXattr(h, OVL_METACOPY);
    if (this.upper.probe(p)?.redirect !== undefined) removeXattr(h, OVL_REDIRECT);
  }

  private metaOf(lowerPath: string, node: Node): Meta {
    // A lower file with several links keeps no ino: its copy is a separate file (overlayfs index=off).
    const ino = node.type === 'dir' || node.nlink <= 1 ? node.ino : undefined;
    return { mode: node.mode, uid: node.uid, gid: node.gid, mtimeSec: node.mtimeSec, mtimeNsec: node.mtimeNsec, xattrs: this.lower.xattrs(lowerPath), ino };
  }

  /** Copies up (metadata only) every parent of `p` that has no upper directory yet. */
  private ensureParents(p: string): void {
    const missing = missingUpperParents(this.u, p);
    for (const dir of missing) {
      const r = this.must(dir);
      const t = this.upper.tmp();
      this.upper.makeNode(t, 'dir', r.node.mode, {});
      this.upper.applyMeta(t, 'dir', this.metaOf(r.lower!.path, r.lower!.node));
      this.upper.keepTimes(parentOf(dir), () => this.upper.place(t, dir));
      this.u.invalidate();
    }
  }

  /** Creates a new entry with `build`, over a whiteout if there is one (a new dir there is opaque). */
  private placeNew(plan: CreatePlan, build: (hostPath: string) => void, owner?: Owner, isDir = false): void {
    this.ensureParents(plan.path);
    const h = plan.replaceWhiteout ? this.upper.tmp() : this.upper.host(plan.path);
    build(h);
    if (owner) this.own(h, plan.path, owner);
    if (plan.replaceWhiteout) {
      if (plan.opaque) setXattr(h, OVL_OPAQUE, Buffer.from('y'));
      if (isDir) this.upper.remove(plan.path);
      this.upper.place(h, plan.path);
    }
    // Only directories have cached states (ensureParents drops those it changes): a new
    // file, link, symlink or node changes none, so the cache survives `tar x` and friends.
    if (isDir) this.u.invalidate();
  }

  /** Gives a new entry its creator's uid, and its gid (the parent's in a setgid directory, which dirs inherit). */
  private own(h: string, p: string, owner: Owner): void {
    const parent = this.must(parentOf(p)).node;
    const setgid = (parent.mode & 0o2000) !== 0;
    fs.lchownSync(h, owner.uid, setgid ? parent.gid : owner.gid);
    const st = fs.lstatSync(h);
    if (setgid && st.isDirectory()) fs.chmodSync(h, (st.mode & 0o7777) | 0o2000);
  }

  private applyRemove(plan: RemovePlan, rmdir: boolean): void {
    if (plan.whiteout) this.ensureParents(plan.path);
    for (const w of plan.clearWhiteouts) this.upper.remove(w);
    const isDir = plan.removeUpper && this.upper.probe(plan.path)?.node.type === 'dir';
    if (plan.removeUpper && (isDir || !plan.whiteout)) this.upper.remove(plan.path);
    // replaces a non-dir upper entry atomically; with nothing there, made in place (rm -rf of a lower tree)
    if (plan.whiteout) this.upper.whiteout(plan.path, plan.removeUpper && !isDir);
    if (rmdir) this.u.invalidate(); // only directories have cached states
  }
}

/** A container view over `lower` with its writable layer in `upperDir` (work files in `workDir`). */
export function containerView(lower: MergedView, upperDir: string, workDir: string): ContainerView {
  fs.mkdirSync(upperDir, { recursive: true });
  return new ContainerView(lower, new HostUpper(upperDir, workDir));
}
