// lamina build against `buildah bud` (Debian's buildah, chroot isolation, its own vfs storage in a
// temp dir): the same Dockerfile and context built by both, both images pushed to a local
// registry, pulled with skopeo and unpacked with umoci, must give the same tree: types, modes,
// owners, sizes, contents, link targets, hard links and xattrs (times differ by nature).
import { chmod, link, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canMount, mountsUnder } from '../helpers/containers.js';
import { pushBase, writeTree } from '../helpers/build.js';
import { diffSnapshots, treeSnapshot, umociUnpack } from '../helpers/images.js';
import { laminaOk, tempDir } from '../helpers/lamina.js';
import { haveCommand, runOk } from '../helpers/proc.js';
import { startRegistry, type Registry } from '../helpers/registry.js';

const tools = await Promise.all(['buildah', 'umoci', 'skopeo', 'unshare', 'setpriv'].map(haveCommand));

let work: string;
let removeWork: () => Promise<void>;
let registry: Registry;
let base: string;

const lamina = (args: string[]) => laminaOk(path.join(work, 'store'), args, { env: { LAMINA_RUN_DIR: path.join(work, 'run') }, timeout: 300_000 });
const buildah = (args: string[]) => runOk('buildah', ['--root', path.join(work, 'buildah'), '--runroot', path.join(work, 'buildah-run'),
  '--storage-driver', 'vfs', ...args], { timeout: 600_000, env: { BUILDAH_ISOLATION: 'chroot' } });

/** Pulls `ref` from the registry with skopeo and unpacks it with umoci; returns the rootfs. */
async function unpacked(ref: string, name: string): Promise<string> {
  const layout = path.join(work, `oci-${name}`);
  await runOk('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:${name}`], { timeout: 300_000 });
  return umociUnpack(layout, name, path.join(work, `unpacked-${name}`));
}

/** Builds `ctx` with both tools, pushes both, and returns the differences of the unpacked trees. */
async function compare(name: string, ctx: string): Promise<string[]> {
  const buildArgs = ['--build-arg', `BASE=${base}`];
  await buildah(['bud', '--isolation', 'chroot', '--tls-verify=false', ...buildArgs, '-t', `localhost/${name}:1`, ctx]);
  await buildah(['push', '--tls-verify=false', `localhost/${name}:1`, `docker://${registry.ref(`buildah/${name}:1`)}`]);
  await lamina(['build', ...buildArgs, '-t', registry.ref(`lamina/${name}:1`), ctx]);
  await lamina(['push', registry.ref(`lamina/${name}:1`)]);
  const [a, b] = await Promise.all([unpacked(registry.ref(`buildah/${name}:1`), `buildah-${name}`), unpacked(registry.ref(`lamina/${name}:1`), `lamina-${name}`)]);
  return diffSnapshots(await treeSnapshot(a), await treeSnapshot(b), { ignore: ['mtime'], labels: ['buildah', 'lamina'] });
}

describe.runIf(canMount && tools.every(Boolean))('lamina build and buildah bud give the same tree', () => {
  beforeAll(async () => {
    ({ dir: work, cleanup: removeWork } = await tempDir('lamina-build-buildah-'));
    await chmod(work, 0o755);
    registry = await startRegistry();
    base = await pushBase(registry, work);
  }, 600_000);

  afterAll(async () => {
    expect(await mountsUnder(`${work}/`)).toEqual([]);
    await registry?.stop();
    await removeWork?.();
  });

  it('for COPY, ADD, RUN and WORKDIR on busybox', async () => {
    const ctx = path.join(work, 'ctx-run');
    await writeTree(ctx, {
      Dockerfile: `ARG BASE
FROM \${BASE}
COPY a.txt /opt/app/
COPY --chown=1000:1000 tree /opt/tree
COPY --chmod=0700 run.sh /usr/local/bin/
COPY conf/ /etc/conf.d/
ADD bundle.tar /srv/
WORKDIR /work/dir
RUN echo made > made.txt && mkdir -p /var/cache/x && chmod 1777 /var/cache/x \\
 && rm /bin/ls && rm -r /home/user && ln -s /etc/passwd /work/passwd-link \\
 && echo linked > /srv/one && ln /srv/one /srv/two && chown 65534:65534 /srv/two
RUN echo "second layer" >> /etc/group && touch /opt/tree/new
`,
      'a.txt': 'a\n', 'tree/x/y.txt': 'y\n', 'tree/z': 'z\n', 'run.sh': '#!/bin/sh\n', 'conf/one.conf': 'one\n',
      'bundle/b.txt': 'in a tarball\n',
    });
    await chmod(path.join(ctx, 'tree/x'), 0o750);
    await symlink('x/y.txt', path.join(ctx, 'tree/link'));
    await runOk('tar', ['-cf', path.join(ctx, 'bundle.tar'), '--owner=5', '--group=6', '-C', path.join(ctx, 'bundle'), '.']);
    expect(await compare('run', ctx)).toEqual([]);
  });

  it('for a multi-stage build into scratch with COPY --from', async () => {
    const ctx = path.join(work, 'ctx-stages');
    await writeTree(ctx, {
      Dockerfile: `ARG BASE
FROM \${BASE} AS build
RUN mkdir -p /out/etc /out/bin && cp /bin/busybox /out/bin/ && echo v1 > /out/etc/version \\
 && chown -R 1000:1000 /out/etc && chmod 0600 /out/etc/version && ln -s busybox /out/bin/sh
FROM scratch
COPY --from=build /out/ /
COPY --from=build /etc/passwd /etc/group /etc/
COPY static/ /static/
`,
      'static/index.html': '<p>hi</p>\n', 'static/css/site.css': 'p {}\n',
    });
    await mkdir(path.join(ctx, 'static/empty'));
    await link(path.join(ctx, 'static/index.html'), path.join(ctx, 'static/copy.html'));
    expect(await compare('stages', ctx)).toEqual([]);
  });
});
