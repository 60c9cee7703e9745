// `lamina build` end to end: the built CLI builds multi-stage Dockerfiles FROM a busybox image made
// here (pushed to a local registry, pulled by the build) and FROM scratch, runs the results and
// checks files, owners, modes, config and history against the Dockerfile; the build cache, its
// invalidation and reproducible builds; and that a failed build leaves nothing half-built behind.
import { chmod, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canMount, mountsUnder } from '../helpers/containers.js';
import { pushBase, readTar, writeTree, type TarMember } from '../helpers/build.js';
import { lamina, tempDir } from '../helpers/lamina.js';
import { haveCommand, runOk, type RunResult } from '../helpers/proc.js';
import { startRegistry, type Registry } from '../helpers/registry.js';

const tools = await Promise.all(['umoci', 'skopeo', 'unshare', 'setpriv'].map(haveCommand));

let work: string;
let removeWork: () => Promise<void>;
let registry: Registry;
let base: string;
let root: string;

const env = () => ({ LAMINA_RUN_DIR: path.join(work, 'run') });
const cli = (args: string[], extra: Record<string, string> = {}): Promise<RunResult> =>
  lamina(root, args, { env: { ...env(), ...extra }, timeout: 300_000 });
async function cliOk(args: string[], extra: Record<string, string> = {}): Promise<string> {
  const r = await cli(args, extra);
  if (r.code !== 0) throw new Error(`lamina ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}
const inspect = async (ref: string) => JSON.parse(await cliOk(['inspect', ref]))[0];
const imageIds = async () => (await cliOk(['images', '-a', '-q', '--no-trunc'])).trim().split('\n').filter(Boolean).sort();

/** `Step N/M : ...` blocks of build output, each with whether it came from the cache. */
function steps(out: string): Array<{ step: string; cached: boolean }> {
  return out.split(/^(?=Step \d+\/\d+ : )/m).filter((b) => b.startsWith('Step ')).map((b) => ({
    step: b.split('\n')[0]!.replace(/^Step \d+\/\d+ : /, ''), cached: b.includes(' ---> Using cache'),
  }));
}
const builtId = (out: string) => /^Successfully built ([0-9a-f]{12})$/m.exec(out)?.[1];

/** An image's files, read from `lamina export` of a container made from it. */
async function files(ref: string): Promise<Map<string, TarMember>> {
  const c = (await cliOk(['create', ref])).trim();
  try {
    const tarFile = path.join(work, `export-${c}.tar`);
    await cliOk(['export', '-o', tarFile, c]);
    const members = await readTar(tarFile);
    await rm(tarFile);
    return members;
  } finally {
    await cliOk(['rm', c]);
  }
}
const shape = (m: TarMember | undefined) => m && [m.type, m.mode, m.uid, m.gid, m.linkname ?? m.content];

const APP = `# escape=\\
ARG BASE
FROM \${BASE} AS builder
ARG FLAVOR=plain
ENV APP_HOME=/srv/app
WORKDIR $APP_HOME
COPY --chown=1000:1000 src/ ./src/
RUN mkdir -p /out/bin /out/etc \\
 && echo "flavor=$FLAVOR home=$APP_HOME" > /out/etc/app.conf \\
 && cp /bin/busybox /out/bin/busybox \\
 && chmod 0640 /out/etc/app.conf && chown 1000:1000 /out/etc/app.conf \\
 && stat -c '%u:%g %n' src/* > /out/etc/sources

FROM scratch
COPY --from=builder /out/ /
ADD assets.tar.gz /assets/
COPY --chmod=0755 tool.sh /usr/local/bin/tool
RUN ["/bin/busybox", "ln", "-s", "/bin/busybox", "/bin/sh"]
ENV PATH=/usr/local/bin:/bin
USER 1000:1000
WORKDIR /home/app
LABEL org.opencontainers.image.title="demo app" version=2
EXPOSE 8080
VOLUME /data
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /etc/app.conf; id -u; pwd; tool"]
`;

/** The app's context: sources (one .dockerignore'd), a tool script, an assets archive. */
async function appContext(dir: string): Promise<void> {
  await writeTree(dir, {
    Dockerfile: APP, '.dockerignore': '*.md\nsrc/secret*\n', 'README.md': 'not copied\n',
    'src/main.c': 'int main() { return 0; }\n', 'src/util.c': 'int util;\n', 'src/secret.txt': 'excluded\n',
    'tool.sh': '#!/bin/sh\necho tool ran\n', 'assets/img/logo.txt': 'logo\n',
  });
  await symlink('img/logo.txt', path.join(dir, 'assets/logo'));
  await runOk('tar', ['-czf', path.join(dir, 'assets.tar.gz'), '--owner=3', '--group=4', '-C', path.join(dir, 'assets'), '.']);
  await rm(path.join(dir, 'assets'), { recursive: true });
}

describe.runIf(canMount && tools.every(Boolean))('lamina build', () => {
  let app: string;

  beforeAll(async () => {
    ({ dir: work, cleanup: removeWork } = await tempDir('lamina-build-'));
    await chmod(work, 0o755);
    root = path.join(work, 'store');
    registry = await startRegistry();
    base = await pushBase(registry, work);
    app = path.join(work, 'app');
    await appContext(app);
  }, 600_000);

  afterAll(async () => {
    await registry?.stop();
    await removeWork?.();
  });

  afterEach(async () => {
    expect(await mountsUnder(`${work}/`)).toEqual([]);
    expect(await readdir(path.join(root, 'containers')).catch(() => [])).toEqual([]);
  });

  it('builds a multi-stage Dockerfile FROM busybox and FROM scratch whose image runs and holds what it says', async () => {
    const out = await cliOk(['build', '-t', 'demo:1', '--build-arg', `BASE=${base}`, '--build-arg', 'FLAVOR=fast', app]);
    expect(steps(out).map((s) => s.step.split(' ')[0])).toEqual(['FROM', 'ARG', 'ENV', 'WORKDIR', 'COPY', 'RUN', 'FROM', 'COPY',
      'ADD', 'COPY', 'RUN', 'ENV', 'USER', 'WORKDIR', 'LABEL', 'EXPOSE', 'VOLUME', 'ENTRYPOINT', 'CMD']);
    expect(out).toMatch(/^Step 1\/19 : FROM \$\{BASE\} AS builder\nUnable to find image '[^']+' locally\n(?:.*\n)* ---> [0-9a-f]{12}$/m);
    expect(out).toMatch(/^Step 6\/19 : RUN mkdir -p \/out\/bin \/out\/etc  && echo .*\n ---> Running in [0-9a-f]{12}\nRemoving intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}$/m);
    expect(out).toMatch(/^Successfully tagged demo:1$/m);

    const r = await cli(['run', '--rm', 'demo:1']);
    expect({ code: r.code, stdout: r.stdout }, r.stderr).toEqual({ code: 0, stdout: 'flavor=fast home=/srv/app\n1000\n/home/app\ntool ran\n' });

    const f = await files('demo:1');
    expect(shape(f.get('etc/app.conf'))).toEqual(['file', '640', 1000, 1000, 'flavor=fast home=/srv/app\n']);
    expect(shape(f.get('etc/sources'))).toEqual(['file', '644', 0, 0, '1000:1000 src/main.c\n1000:1000 src/util.c\n']);
    expect(shape(f.get('bin/busybox'))?.slice(0, 4)).toEqual(['file', '755', 0, 0]);
    expect(shape(f.get('bin/sh'))).toEqual(['symlink', '777', 0, 0, '/bin/busybox']);
    expect(shape(f.get('assets/img/logo.txt'))).toEqual(['file', '644', 3, 4, 'logo\n']);
    expect(shape(f.get('assets/logo'))).toEqual(['symlink', '777', 3, 4, 'img/logo.txt']);
    expect(shape(f.get('usr/local/bin/tool'))).toEqual(['file', '755', 0, 0, '#!/bin/sh\necho tool ran\n']);
    expect(shape(f.get('home/app'))).toEqual(['directory', '755', 0, 0, undefined]);
    expect([...f.keys()].filter((k) => /README|secret|srv/.test(k))).toEqual([]);
    for (const scaffold of ['proc', 'sys', 'dev', 'etc/hosts', 'etc/resolv.conf']) expect(f.has(scaffold), scaffold).toBe(false);

    const img = await inspect('demo:1');
    expect(img.Config).toEqual({
      Env: ['PATH=/usr/local/bin:/bin'], User: '1000:1000', WorkingDir: '/home/app',
      Labels: { 'org.opencontainers.image.title': 'demo app', version: '2' }, ExposedPorts: { '8080/tcp': {} },
      Volumes: { '/data': {} }, Entrypoint: ['/bin/sh', '-c'], Cmd: ['cat /etc/app.conf; id -u; pwd; tool'],
    });
    expect(img.RootFS.Layers).toHaveLength(5); // COPY --from, ADD, COPY, RUN, WORKDIR's new directory
  });

  it('records one history entry per step, empty_layer for config-only ones, and shows them like docker history', async () => {
    const config = await inspect('demo:1');
    const hist = (await cliOk(['history', '--no-trunc', 'demo:1'])).trim().split('\n');
    expect(hist[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(hist[1]).toContain(config.Id);
    expect(hist[1]).toContain('/bin/sh -c #(nop)  CMD ["cat /etc/app.conf; id -u; pwd; tool"]');
    expect(hist[1]).toMatch(/\s0B\s*$/);
    expect(hist.some((l) => l.includes('#(nop)  ENV PATH=/usr/local/bin:/bin'))).toBe(true);
    expect(hist.some((l) => /#\(nop\) ADD file:[0-9a-f]{64} in \/assets\//.test(l))).toBe(true);
    expect(hist.some((l) => l.includes('/bin/busybox ln -s /bin/busybox /bin/sh'))).toBe(true);
    expect(hist.slice(1).every((l) => !l.startsWith('<missing>'))).toBe(true); // every step's image is known here
  });

  it('reuses every step of an unchanged rebuild, and rebuilds from the first changed input on', async () => {
    const args = ['build', '-t', 'demo:1', '--build-arg', `BASE=${base}`, '--build-arg', 'FLAVOR=fast', app];
    const first = builtId(await cliOk(args));
    const again = await cliOk(args);
    expect(steps(again).filter((s) => !s.step.startsWith('FROM')).every((s) => s.cached)).toBe(true);
    expect(builtId(again)).toBe(first);

    await writeFile(path.join(app, 'src/util.c'), 'int util = 2;\n');
    const changed = steps(await cliOk(args));
    expect(changed.slice(0, 4).map((s) => s.cached)).toEqual([false, true, true, true]); // FROM, ARG, ENV, WORKDIR
    expect(changed.slice(4).some((s) => s.cached)).toBe(false);
    await writeFile(path.join(app, 'src/util.c'), 'int util;\n');

    const other = steps(await cliOk(['build', '--build-arg', `BASE=${base}`, '--build-arg', 'FLAVOR=slow', app]));
    expect(other[1]).toEqual({ step: 'ARG FLAVOR=plain', cached: false });
    const none = await cliOk([...args, '--no-cache']);
    expect(steps(none).some((s) => s.cached)).toBe(false);
    expect(await imageIds()).toContain(`sha256:${(await inspect('demo:1')).Id.slice(7)}`);
  });

  it('gives the same image ID for the same context under SOURCE_DATE_EPOCH, even without the cache', async () => {
    const epoch = { SOURCE_DATE_EPOCH: '1700000000' };
    const args = ['build', '--no-cache', '-q', '--build-arg', `BASE=${base}`, '--build-arg', 'FLAVOR=fast', app];
    const a = (await cliOk(args, epoch)).trim();
    const b = (await cliOk(args, epoch)).trim();
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b).toBe(a);
    const img = await inspect(a);
    expect(img.Created).toBe('2023-11-14T22:13:20.000Z');
    const f = await files(a);
    expect([...f.values()].every((m) => m.mtime <= 1700000000)).toBe(true);
  });

  it('builds a --target stage, runs ONBUILD triggers once, and takes a Dockerfile from -f', async () => {
    const out = await cliOk(['build', '-q', '--target', 'builder', '--build-arg', `BASE=${base}`, app]);
    const f = await files(out.trim());
    expect(f.get('out/etc/app.conf')?.content).toBe('flavor=plain home=/srv/app\n');
    expect(f.has('assets')).toBe(false);

    const ctx = path.join(work, 'onbuild');
    await writeTree(ctx, {
      'parent.Dockerfile': `FROM ${base}\nONBUILD RUN echo triggered > /triggered\n`,
      'child.Dockerfile': 'FROM onbuild:parent\nRUN cat /triggered\n',
    });
    await cliOk(['build', '-t', 'onbuild:parent', '-f', path.join(ctx, 'parent.Dockerfile'), ctx]);
    expect((await inspect('onbuild:parent')).Config.OnBuild).toEqual(['RUN echo triggered > /triggered']);
    const child = await cliOk(['build', '-t', 'onbuild:child', '-f', path.join(ctx, 'child.Dockerfile'), ctx]);
    expect(child).toMatch(/# Executing 1 build trigger\n[\s\S]*\ntriggered\n/);
    expect((await inspect('onbuild:child')).Config.OnBuild ?? null).toBeNull();
  });

  it('hides intermediate images from `images` unless -a, as docker does', async () => {
    const shown = (await cliOk(['images', '-q', '--no-trunc'])).trim().split('\n');
    const all = await imageIds();
    expect(all.length).toBeGreaterThan(shown.length);
    expect(shown).toContain((await inspect('demo:1')).Id);
    expect((await inspect('demo:1')).Parent).toMatch(/^sha256:/);
  });

  describe('failures', () => {
    let ctx: string;
    beforeAll(async () => {
      ctx = path.join(work, 'bad');
      await mkdir(ctx, { recursive: true });
      await writeTree(ctx, { 'ok.txt': 'fine\n', 'hidden.txt': 'ignored\n', '.dockerignore': 'hidden.txt\n' });
    });

    /** Builds `dockerfile`; it must fail with `message`, leaving no new image, container, mount or stray blob. */
    async function fails(dockerfile: string, message: string, before?: string[]): Promise<RunResult> {
      await writeFile(path.join(ctx, 'Dockerfile'), dockerfile);
      const images = before ?? await imageIds();
      const r = await cli(['build', '-t', 'bad:1', ctx]);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([`error: ${message}`]);
      if (!before) expect(await imageIds()).toEqual(images);
      expect(await cliOk(['ps', '-a', '-q'])).toBe('');
      expect(await cliOk(['gc'])).toMatch(/^Removed 0 blobs/);
      expect(await readdir(path.join(root, 'ingest')).catch(() => [])).toEqual([]);
      return r;
    }

    it('names the file and line of a bad instruction and builds nothing', async () => {
      const df = path.relative(process.cwd(), path.join(ctx, 'Dockerfile'));
      await fails(`FROM ${base}\nRUN echo never\nFOO bar\n`, `${df}:3: unknown instruction: FOO`);
      await fails(`FROM ${base}\nCOPY hidden.txt /\n`, `${df}:2: COPY failed: file not found in build context or excluded by .dockerignore: stat hidden.txt: file does not exist`);
      await fails(`FROM ${base}\nADD http://example.com/x /x\n`, `${df}:2: ADD http://example.com/x: adding from a URL is not supported (lamina builds offline)`);
      await fails(`FROM ${base}\nCOPY ok.txt hidden.txt /dir\n`, `${df}:2: COPY failed: file not found in build context or excluded by .dockerignore: stat hidden.txt: file does not exist`);
      await fails(`FROM ${base}\nENV B="unterminated\n`, `${df}:2: unexpected end of statement while looking for matching double-quote`);
    });

    it('stops at a failing RUN with its exit code and removes its container and layer', async () => {
      const df = path.relative(process.cwd(), path.join(ctx, 'Dockerfile'));
      await writeFile(path.join(ctx, 'Dockerfile'), `FROM ${base}\nRUN echo partial > /partial\n`);
      await cliOk(['build', ctx]); // the step before the failing one is cached, as in docker
      const before = await imageIds();
      const r = await fails(`FROM ${base}\nRUN echo partial > /partial\nRUN echo about to fail && exit 7\n`,
        `${df}:3: The command '/bin/sh -c echo about to fail && exit 7' returned a non-zero code: 7`, before);
      expect(r.stdout).toContain('about to fail\n');
      expect(await imageIds()).toEqual(before);
    });

    it('refuses an unknown --target and a missing context', async () => {
      await writeFile(path.join(ctx, 'Dockerfile'), `FROM ${base} AS one\n`);
      const t = await cli(['build', '--target', 'two', ctx]);
      expect([t.code, t.stderr.trim()]).toEqual([1, 'error: target stage "two" could not be found']);
      const m = await cli(['build', path.join(work, 'nope')]);
      expect([m.code, m.stderr.trim()]).toEqual([1, `error: unable to prepare context: path "${path.join(work, 'nope')}" not found or not a directory`]);
    });
  });
});
