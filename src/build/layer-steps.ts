// The steps that make a layer: RUN in a container on a lamina mount, COPY and ADD written into
// a mounted container, WORKDIR's missing directory. Each commits the container's writable
// layer as the step's image and always removes the container, whatever happens.
import { mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { containerLayerTar } from '../container/container-tar.js';
import { mountContainer, mountImage, unmountDir } from '../container/container-mounts.js';
import { createContainer, findContainer, removeContainer, type ContainerRecord } from '../container/containers.js';
import { childOf, deriveImage } from '../image/commit.js';
import { imageView } from '../image/image-view.js';
import { expand } from '../image/shell-words.js';
import { resolveImage } from '../image/resolve.js';
import { imageFor, runInContainer } from '../run/run.js';
import { credentialsIn } from '../run/rootfs.js';
import { hexOf } from '../store/digest.js';
import { messageOf } from '../store/errors.js';
import type { Digest } from '../store/types.js';
import { copyInto, type InlineFile } from './copy.js';
import type { Step } from './dockerfile.js';
import { RootfsWriter, type Owner } from './rootfs-write.js';
import { contentDigest, SourceTree, type SourceMatch } from './sources.js';
import type { StageState, StepResult } from './stage.js';

/** Runs `work` in a new container on the stage's image, commits its layer with `r`, removes the container. */
async function inContainer(st: StageState, step: Step, r: StepResult, work: (c: ContainerRecord) => Promise<void>): Promise<Digest> {
  const { store } = st.env;
  const c = await createContainer(store, st.image);
  try {
    await work(c);
    st.env.checkInterrupted();
    const layer = containerLayerTar(imageView(store, c.imageId), c.upperDir, c.workDir, { mtimeMax: st.env.epoch });
    const created = st.created();
    const d = await deriveImage(store, {
      parent: st.image, layer, dropEmptyLayer: true, what: `${st.env.file}:${step.line}`,
      config: (p, diffId) => childOf(p, { diffId, config: r.config, entry: { created_by: r.createdBy }, created, author: st.author }),
    });
    return d.id;
  } finally {
    await removeContainer(store, findContainer(store, c.id));
  }
}

/** Mounts something on `dir` with `mount` for the duration of `fn`; then unmounts and removes the mount point. */
async function whileMounted<T>(st: StageState, dir: string, mount: (dir: string) => Promise<void>, fn: (dir: string) => Promise<T>): Promise<T> {
  await mkdir(dir, { recursive: true });
  await mount(dir);
  try {
    return await fn(dir);
  } finally {
    await unmountDir(st.env.store, dir);
    await rmdir(dir).catch(() => undefined); // never recursive: a mount that failed to go must keep its files
  }
}

/** Container `c` mounted on its own directory for the duration of `fn`. */
const mounted = <T>(st: StageState, c: ContainerRecord, fn: (rootfs: string) => Promise<T>): Promise<T> =>
  whileMounted(st, path.join(path.dirname(c.upperDir), 'merged'), (d) => mountContainer(st.env.store, c, d), fn);

/** RUN's command line: exec form as given; shell form through the SHELL; a bare heredoc is the script. */
function runArgv(st: StageState, step: Step): string[] {
  if (step.json) return step.json;
  const bare = /^<<-?(["']?)(\S+)\1\s*$/.exec(step.args.split('\n')[0]!);
  if (bare && step.heredocs.length === 1) return [...st.shell, step.heredocs[0]!.body];
  return [...st.shell, step.args];
}

export async function runStep(st: StageState, step: Step): Promise<void> {
  const argv = runArgv(st, step);
  const args = st.argEnv();
  const r = { createdBy: `${args.length ? `|${args.length} ${args.join(' ')} ` : ''}${argv.join(' ')}`, config: st.container };
  await st.cached(['RUN', r.createdBy], () => inContainer(st, step, r, async (c) => {
    st.env.out(` ---> Running in ${c.id.slice(0, 12)}`);
    const code = await runInContainer(st.env.store, c, {
      cmd: argv, entrypoint: '', env: args, volumes: [], interactive: false, tty: false,
      say: (l) => st.env.out(l), output: st.env.runOutput,
    });
    if (code !== 0) throw st.error(step, `The command '${argv.join(' ')}' returned a non-zero code: ${code}`);
    st.env.out(`Removing intermediate container ${c.id.slice(0, 12)}`);
  }));
}

/** --chown: `user[:group]`, names looked up in the image's own passwd and group; a lone user means the same number for the group (docker). */
async function chownOf(spec: string | undefined, rootfs: string): Promise<Owner | undefined> {
  if (spec === undefined) return undefined;
  const [user, group] = spec.split(':');
  // read inside the image's root: its /etc/passwd may be a link to a host file
  const cred = credentialsIn(rootfs, `${user || '0'}${group ? `:${group}` : ''}`);
  return { uid: cred.uid, gid: group ? cred.gid : cred.uid };
}

function chmodOf(st: StageState, step: Step): number | undefined {
  const v = step.flags.get('chmod');
  if (v === undefined) return undefined;
  if (!/^[0-7]{3,4}$/.test(v)) throw st.error(step, `invalid chmod parameter "${v}": want an octal mode such as 0755`);
  return parseInt(v, 8);
}

/** COPY/ADD's sources and destination, expanded; a relative destination is under WORKDIR. */
function copyArgs(st: StageState, step: Step): { srcs: string[]; dest: string } {
  const vars = st.vars();
  const words = step.json
    ? step.json.map((w) => expand(w, vars.lookup, vars.escape).text)
    : expand(step.args.split('\n')[0]!, vars.lookup, vars.escape).words;
  const last = words.pop()!;
  const dirLike = last.endsWith('/') || last === '.' || last.endsWith('/.');
  const abs = path.posix.resolve(st.container.WorkingDir || '/', last);
  return { srcs: words, dest: dirLike && abs !== '/' ? `${abs}/` : abs };
}

/** Where a COPY --from reads: an earlier stage by name or index, else an image (pulled when missing). */
async function fromImage(st: StageState, from: string): Promise<Digest> {
  const stage = st.env.stages.get(from.toLowerCase());
  if (stage) return stage;
  await imageFor(st.env.store, from, st.env.out);
  return resolveImage(st.env.store, from).id;
}

/** Image `id` mounted read-only for the duration of `fn`. */
const imageMounted = <T>(st: StageState, id: Digest, fn: (root: string) => Promise<T>): Promise<T> =>
  whileMounted(st, path.join(st.env.store.root, 'tmp', `build-from-${randomUUID()}`), (d) => mountImage(st.env.store, id, d), fn);

async function matchAll(st: StageState, step: Step, tree: SourceTree, srcs: string[], inContext: boolean): Promise<SourceMatch[]> {
  const out: SourceMatch[] = [];
  for (const src of srcs) {
    if (step.keyword === 'ADD' && /^(https?|git):\/\/|^git@/.test(src)) throw st.error(step, `ADD ${src}: adding from a URL is not supported (lamina builds offline)`);
    if (inContext && path.posix.normalize(src).startsWith('../')) throw st.error(step, `Forbidden path outside the build context: ${src}`);
    const m = await tree.match(src);
    if (!m.length) {
      throw st.error(step, `${step.keyword} failed: ${inContext ? 'file not found in build context or excluded by .dockerignore' : 'no such file in the source image'}: stat ${src}: file does not exist`);
    }
    out.push(...m);
  }
  return out;
}

/** How docker names copied content in history: file:, dir: or multi: and a digest. */
function contentName(matches: SourceMatch[], inline: InlineFile[], digest: string): string {
  const one = matches.length + inline.length === 1 ? matches[0]?.entries[0]?.type ?? 'file' : 'multi';
  return `${one === 'dir' ? 'dir' : one === 'multi' ? 'multi' : 'file'}:${digest}`;
}

export async function copyStep(st: StageState, step: Step): Promise<void> {
  const { srcs, dest } = copyArgs(st, step);
  const inline: InlineFile[] = step.heredocs.filter((h) => srcs.some((s) => s.replace(/^<<-?/, '') === h.name)).map((h) => ({ name: h.name, body: h.body }));
  const paths = srcs.filter((s) => !s.startsWith('<<'));
  const from = step.flags.get('from');
  const source = from !== undefined ? await fromImage(st, expand(from, st.vars().lookup, st.env.escape).text) : undefined;
  const chmod = chmodOf(st, step);
  const run = async (tree: SourceTree) => {
    const matches = await matchAll(st, step, tree, paths, !source);
    if (matches.length + inline.length > 1 && !dest.endsWith('/')) {
      throw st.error(step, `When using ${step.keyword} with more than one source file, the destination must be a directory and end with a /`);
    }
    const digest = source ? hexOf(source) : await contentDigest(matches);
    const r = { createdBy: `${st.shell.join(' ')} #(nop) ${step.keyword} ${contentName(matches, inline, digest)} in ${dest} `, config: st.container };
    const key = [step.keyword, r.createdBy, paths, inline, [...step.flags].sort()];
    await st.cached(key, () => inContainer(st, step, r, (c) => mounted(st, c, async (rootfs) => {
      const chown = await chownOf(step.flags.get('chown'), rootfs).catch((err) => { throw st.error(step, messageOf(err), err); });
      const w = new RootfsWriter(rootfs, chown ?? { uid: 0, gid: 0 });
      await copyInto(w, { matches, dest, chown, chmod, keepOwners: !!source, extract: step.keyword === 'ADD' }, inline)
        .catch((err) => { throw st.error(step, `${step.keyword} failed: ${messageOf(err)}`, err); });
    })));
  };
  if (source) await imageMounted(st, source, (root) => run(new SourceTree(root)));
  else await run(st.env.context);
}

/** True when `p` is a directory in the image with no symlink on the way; undefined when a symlink makes it unclear. */
function dirInImage(st: StageState, p: string): boolean | undefined {
  const view = imageView(st.env.store, st.image);
  let at = '';
  for (const name of p.split('/').filter(Boolean)) {
    at += `/${name}`;
    const node = view.lookup(at);
    if (!node) return false;
    if (node.type === 'symlink') return undefined;
  }
  return view.lookup(p)?.type === 'dir';
}

/** WORKDIR: the config change, and the directory made (as docker does) when the image lacks it. */
export async function workdirStep(st: StageState, step: Step): Promise<void> {
  const r = st.configStep(step);
  const dir = r.config.WorkingDir!;
  await st.cached(['WORKDIR', r.createdBy], () => (dirInImage(st, dir)
    ? st.commitConfig(step, r)
    : inContainer(st, step, r, (c) => mounted(st, c, (rootfs) => new RootfsWriter(rootfs, { uid: 0, gid: 0 }).mkdirs(dir).then(() => undefined)))));
}

