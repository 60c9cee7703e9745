// lamina's listings against docker's documented output, column by column and
// template by template. The reference is docker's documentation and CLI
// (docker/cli@28f7560: docs/reference/commandline/{image_ls,container_ls,
// image_history,image_inspect}.md, cli/command/formatter/*.go): headers,
// placeholders, the tabwriter (min width 10, padding 3), the JSON keys, and
// the --filter semantics (different keys AND, repeated keys OR, labels AND).
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { humanSize } from '../../src/cli/format.js';
import { dockerArchive, layerTar } from '../helpers/archives.js';
import { BIN, lamina, laminaOk, tempDir } from '../helpers/lamina.js';
import { run } from '../helpers/proc.js';
import { startRegistry, type Registry } from '../helpers/registry.js';

let work: string;
let root: string;
let cleanup: () => Promise<void>;
let registry: Registry;
let env: NodeJS.ProcessEnv;
const ids: Record<string, string> = {};
let sizes: { base: number; a: number; b: number; c: number; d: number };
let digestRepo: string;
let digest: string;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const LONG = 'RUN /bin/sh -c apk add --no-cache\tcurl ca-certificates tzdata && rm -rf /var/cache/apk/*';

/** Four images: A (two repos, labels), B and C sharing a 1 MiB base layer, D untagged; a digest-only name for C. */
async function buildStore(): Promise<void> {
  const base = await layerTar([{ name: 'base', content: 'B'.repeat(1 << 20) }]);
  const la = await layerTar([{ name: 'a', content: 'a'.repeat(3000) }]);
  const lb = await layerTar([{ name: 'b', content: 'b' }]);
  const lc = await layerTar([{ name: 'c', content: 'c'.repeat(70_000) }]);
  const ld = await layerTar([{ name: 'd', content: 'd' }]);
  sizes = { base: base.length, a: la.length, b: lb.length, c: lc.length, d: ld.length };
  const config = (created: string, diffs: Buffer[], labels?: Record<string, string>, history?: object[]) => ({
    architecture: 'amd64', os: 'linux', created, config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh', '-c', 'echo hello from a long command line'], Labels: labels },
    rootfs: { type: 'layers', diff_ids: diffs.map((d) => `sha256:${sha256(d)}`) },
    history: history ?? diffs.map((_, i) => ({ created, created_by: `step ${i + 1}` })),
  });
  const archive = path.join(work, 'images.tar');
  const loaded = await dockerArchive(archive, [
    { tags: ['example.com/team/app:1.0', 'app:latest'], layers: [la],
      config: config('2024-01-02T03:04:05Z', [la], { color: 'blue', 'com.example.version': '1.0' }, [
        { created: '2024-01-02T03:04:00Z', created_by: 'ENV PATH=/bin', empty_layer: true, comment: 'buildkit.dockerfile.v0' },
        { created: '2024-01-02T03:04:05Z', created_by: LONG, comment: 'buildkit.dockerfile.v0' },
      ]) },
    { tags: ['busybox:latest', 'busybox:uclibc'], layers: [base, lb], config: config('2024-02-01T00:00:00Z', [base, lb], { color: 'red' }) },
    { tags: ['busybox:glibc'], layers: [base, lc], config: config('2024-03-01T00:00:00Z', [base, lc]) },
    { tags: [], layers: [ld], config: config('2023-12-01T00:00:00Z', [ld]) },
  ]);
  [ids.a, ids.b, ids.c, ids.d] = loaded as [string, string, string, string];
  await laminaOk(root, ['load', '-i', archive]);
  digestRepo = registry.ref('lamina/busybox');
  await laminaOk(root, ['tag', 'busybox:glibc', `${digestRepo}:glibc`]);
  const pushed = await laminaOk(root, ['push', `${digestRepo}:glibc`], { env });
  digest = pushed.match(/digest: (sha256:[0-9a-f]{64})/)![1]!;
  await laminaOk(root, ['rmi', `${digestRepo}:glibc`]);
  await laminaOk(root, ['pull', `${digestRepo}@${digest}`], { env });
  await laminaOk(root, ['create', '--name', 'web', 'app:latest']);
  await laminaOk(root, ['create', '--name', 'db', 'busybox:latest']);
}


beforeAll(async () => {
  ({ dir: work, cleanup } = await tempDir());
  root = path.join(work, 'store');
  registry = await startRegistry();
  env = { DOCKER_CONFIG: path.join(work, 'docker-config') };
  await buildStore();
}, 180_000);

afterAll(async () => {
  await registry?.stop();
  await cleanup?.();
});

const ok = (...args: string[]) => laminaOk(root, args, { env });

/**
 * Split a table printed through docker's tabwriter into cells, checking the
 * header is exactly `headers` and that every column is as wide as its widest
 * cell plus 3, and at least 10 (NewWriter(out, 10, 1, 3, ' ', 0)).
 */
function cells(out: string, headers: string[]): string[][] {
  const [head, ...rows] = out.replace(/\n$/, '').split('\n');
  const starts: number[] = [];
  for (const h of headers) starts.push(head!.indexOf(h, starts.length ? starts[starts.length - 1]! + 1 : 0));
  const split = (l: string) => starts.map((s, i) => l.slice(s, i + 1 < starts.length ? starts[i + 1] : undefined).trimEnd());
  expect(split(head!)).toEqual(headers);
  expect(starts[0]).toBe(0);
  const table = rows.map(split);
  for (let i = 0; i + 1 < starts.length; i++) {
    const widest = Math.max(headers[i]!.length, ...table.map((r) => r[i]!.length));
    expect(starts[i + 1]! - starts[i]!, `column ${headers[i]}`).toBe(Math.max(10, widest + 3));
  }
  return table;
}

const IMAGE_HEADERS = ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
const short = (id: string) => id.slice(7, 19);

describe('images (docker image ls)', () => {
  it('prints the default table column by column, one row per tag, dangling images hidden', async () => {
    const t = cells(await ok('images'), IMAGE_HEADERS);
    expect(t.map((r) => `${r[0]}:${r[1]}`).sort()).toEqual(['app:latest', 'busybox:glibc', 'busybox:latest', 'busybox:uclibc', 'example.com/team/app:1.0', `${digestRepo}:<none>`].sort());
    for (const r of t) {
      expect(r[2]).toMatch(/^[0-9a-f]{12}$/);
      expect(r[3]).toMatch(/ ago$/);
      expect(r[4]).toMatch(/^\d+(\.\d+)?(B|kB|MB)$/);
    }
    const busybox = t.find((r) => r[0] === 'busybox' && r[1] === 'latest')!;
    expect(busybox[2]).toBe(short(ids.b!));
    // SIZE is the whole image, shared base layer included (docker's documented meaning)
    expect(busybox[4]).toBe(humanSize(sizes.base + sizes.b));
    // newest first
    expect(t[0]![2]).toBe(short(ids.c!));
  });

  it('shows dangling images with -a and with --filter dangling=true', async () => {
    const all = cells(await ok('images', '-a'), IMAGE_HEADERS);
    expect(all.find((r) => r[2] === short(ids.d!))?.slice(0, 2)).toEqual(['<none>', '<none>']);
    const dangling = cells(await ok('images', '--filter', 'dangling=true'), IMAGE_HEADERS);
    expect(dangling.map((r) => r[2])).toEqual([short(ids.d!)]);
  });

  it('adds a DIGEST column with --digests, and a row for a digest-only repository', async () => {
    const t = cells(await ok('images', '--digests'), ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE']);
    expect(t.find((r) => r[0] === digestRepo)?.slice(1, 4)).toEqual(['<none>', digest, short(ids.c!)]);
    expect(t.find((r) => r[0] === 'busybox' && r[1] === 'glibc')?.[2]).toBe('<none>');
  });

  it('prints full IDs with --no-trunc and one ID per row with -q', async () => {
    const t = cells(await ok('images', '--no-trunc'), IMAGE_HEADERS);
    expect(t.find((r) => r[1] === 'uclibc')?.[2]).toBe(ids.b);
    const q = (await ok('images', '-q')).trim().split('\n');
    expect(q).toHaveLength(6);
    expect(q.filter((x) => x === short(ids.b!))).toHaveLength(2);
  });

  it("prints docker's JSON keys, sorted and HTML-escaped, with --format json", async () => {
    const lines = (await ok('images', '--format', 'json')).trim().split('\n');
    expect(lines).toHaveLength(6);
    const row = JSON.parse(lines.find((l) => l.includes('"uclibc"'))!);
    // docs/reference/commandline/image_ls.md, "--format json"
    expect(Object.keys(row)).toEqual(['Containers', 'CreatedAt', 'CreatedSince', 'Digest', 'ID', 'Repository', 'SharedSize', 'Size', 'Tag', 'UniqueSize']);
    expect(lines.find((l) => l.includes('"uclibc"'))).toContain('"Digest":"\\u003cnone\\u003e"');
    expect(row).toMatchObject({ Containers: '1', ID: short(ids.b!), Repository: 'busybox', Tag: 'uclibc', Size: humanSize(sizes.base + sizes.b) });
    expect(row.CreatedAt).toMatch(/^2024-0[12]-\d\d \d\d:\d\d:\d\d [+-]\d{4} \S+$/);
    // the base layer is shared with busybox:glibc: shared and unique sizes split the image
    expect(row.SharedSize).toBe(humanSize(sizes.base, 4));
    expect(row.UniqueSize).toBe(humanSize(sizes.b, 4));
  });

  it("prints CreatedAt as Go's time.Time.String() in the local zone", async () => {
    const at = (tz: string) => laminaOk(root, ['images', '--format', '{{.CreatedAt}}', 'app:latest'], { env: { ...env, TZ: tz } });
    expect(await at('UTC')).toBe('2024-01-02 03:04:05 +0000 UTC\n');
    expect(await at('Europe/Berlin')).toBe('2024-01-02 04:04:05 +0100 CET\n');
    expect(await at('America/New_York')).toBe('2024-01-01 22:04:05 -0500 EST\n');
  });

  it('renders the documented templates', async () => {
    const plain = (await ok('images', '--format', '{{.ID}}: {{.Repository}}')).trim().split('\n');
    expect(plain).toContain(`${short(ids.a!)}: app`);
    const t = cells(await ok('images', '--format', 'table {{.ID}}\t{{.Repository}}\t{{.Tag}}'), ['IMAGE ID', 'REPOSITORY', 'TAG']);
    expect(t).toContainEqual([short(ids.a!), 'example.com/team/app', '1.0']);
  });

  it.each([
    ['.ID', 'IMAGE ID'], ['.Repository', 'REPOSITORY'], ['.Tag', 'TAG'], ['.Digest', 'DIGEST'],
    ['.CreatedSince', 'CREATED'], ['.CreatedAt', 'CREATED AT'], ['.Size', 'SIZE'],
  ])('documented placeholder {{%s}} has header %s', async (field, header) => {
    const out = (await ok('images', '--format', `table {{${field}}}\t{{.Tag}}`, 'busybox:uclibc')).trim().split('\n');
    expect(out[0]).toMatch(new RegExp(`^${header} +TAG$`));
    expect(out).toHaveLength(2);
    expect(out[1]).not.toMatch(/no value|<nil>/);
  });

  it.each([
    ['label=color', ['app:latest', 'busybox:latest', 'busybox:uclibc', 'example.com/team/app:1.0']],
    ['label=color=blue', ['app:latest', 'example.com/team/app:1.0']],
    ['before=busybox:glibc', ['app:latest', 'busybox:latest', 'busybox:uclibc', 'example.com/team/app:1.0']],
    ['since=app:latest', ['busybox:glibc', 'busybox:latest', 'busybox:uclibc', 'REGISTRY_REPO:<none>']],
    ['reference=busy*:*libc', ['busybox:glibc', 'busybox:uclibc']],
  ])('--filter %s', async (filter, want) => {
    const t = cells(await ok('images', '--filter', filter), IMAGE_HEADERS);
    expect(t.map((r) => `${r[0]}:${r[1]}`).sort()).toEqual(want.map((w) => w.replace('REGISTRY_REPO', digestRepo)).sort());
  });

  it('ORs repeated references, ANDs different keys, ANDs labels', async () => {
    const rows = async (...f: string[]) => cells(await ok('images', ...f.flatMap((x) => ['--filter', x])), IMAGE_HEADERS).map((r) => `${r[0]}:${r[1]}`).sort();
    expect(await rows('reference=busy*:uclibc', 'reference=busy*:glibc')).toEqual(['busybox:glibc', 'busybox:uclibc']);
    expect(await rows('label=color', 'reference=busybox')).toEqual(['busybox:latest', 'busybox:uclibc']);
    expect(await rows('label=color', 'label=com.example.version=1.0')).toEqual(['app:latest', 'example.com/team/app:1.0']);
    expect(await rows('label=color=blue', 'label=color=red')).toEqual([]);
  });

  it('rejects unknown and malformed filters and bad templates in one line', async () => {
    for (const [args, why] of [
      [['--filter', 'colour=blue'], /^error: invalid filter 'colour'$/m],
      [['--filter', 'dangling'], /bad format of filter/],
      [['--filter', 'dangling=maybe'], /Invalid filter 'dangling=maybe'/],
      [['--filter', 'before=nope:1'], /No such image: nope:1/],
      [['--format', '{{.Nope}}'], /^error: template parsing error: template: :1:2: executing "" at <\.Nope>: can't evaluate field Nope in type image$/m],
    ] as Array<[string[], RegExp]>) {
      const r = await lamina(root, ['images', ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(why);
      expect(r.stdout).toBe('');
    }
  });
});

describe('history (docker image history)', () => {
  const HEADERS = ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'];

  it('prints the default table: the image ID on top, <missing> below, CREATED BY cut to 45 columns', async () => {
    const t = cells(await ok('history', 'app:latest'), HEADERS);
    expect(t.map((r) => r[0])).toEqual([short(ids.a!), '<missing>']);
    expect(t[0]![2]).toBe(`${LONG.replace('\t', ' ').slice(0, 44)}…`);
    expect(t[0]![3]).toBe(humanSize(sizes.a));
    expect(t[1]![3]).toBe('0B');
    expect(t[0]![4]).toBe('buildkit.dockerfile.v0');
    const full = cells(await ok('history', '--no-trunc', 'app:latest'), HEADERS);
    expect(full[0]![0]).toBe(ids.a);
    expect(full[0]![2]).toBe(LONG.replace('\t', ' '));
  });

  it('prints dates and plain byte counts with -H=false', async () => {
    const t = cells(await ok('history', '-H=false', 'app:latest'), ['IMAGE', 'CREATED AT', 'CREATED BY', 'SIZE', 'COMMENT']);
    expect(t[0]![1]).toMatch(/^2024-01-0\dT\d\d:\d\d:05(Z|[+-]\d\d:\d\d)$/);
    expect(t[0]![3]).toBe(String(sizes.a));
  });

  it('renders the documented template and JSON keys', async () => {
    expect((await ok('history', '--format', '{{.ID}}: {{.CreatedSince}}', 'busybox')).trim().split('\n'))
      .toEqual([`${short(ids.b!)}: ${(await ok('images', '--format', '{{.CreatedSince}}', 'busybox:latest')).trim()}`, expect.stringMatching(/^<missing>: .* ago$/)]);
    const j = JSON.parse((await ok('history', '--format', 'json', 'busybox')).split('\n')[0]!);
    expect(Object.keys(j)).toEqual(['Comment', 'CreatedAt', 'CreatedBy', 'CreatedSince', 'ID', 'Size']);
    expect((await ok('history', '-q', 'busybox')).trim().split('\n')).toEqual([short(ids.b!), '<missing>']);
  });
});

describe('ps (docker container ls)', () => {
  const HEADERS = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'];

  it('prints the default table column by column; without -a only running containers', async () => {
    const t = cells(await ok('ps', '-a'), HEADERS);
    expect(t.map((r) => r[6]).sort()).toEqual(['db', 'web']);
    const web = t.find((r) => r[6] === 'web')!;
    expect(web[0]).toMatch(/^[0-9a-f]{12}$/);
    expect(web[1]).toBe('app:latest');
    // the command is quoted and cut to 20 columns (docker's Ellipsis)
    expect(web[2]).toBe('"/bin/sh -c echo hel…"');
    expect(web[4]).toBe('Created');
    expect(cells(await ok('ps'), HEADERS)).toEqual([]);
  });

  it("prints docker's documented JSON keys", async () => {
    const row = JSON.parse((await ok('ps', '-a', '--format', 'json', '--filter', 'name=web')).trim());
    // docs/reference/commandline/container_ls.md, "--format json"
    for (const k of ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Ports', 'RunningFor', 'Size', 'State', 'Status']) {
      expect(row).toHaveProperty(k);
    }
    expect(Object.keys(row)).toEqual([...Object.keys(row)].sort());
    expect(row).toMatchObject({ Names: 'web', Image: 'app:latest', State: 'created', Status: 'Created', Labels: 'color=blue,com.example.version=1.0' });
  });

  it('renders the documented templates, .Label included', async () => {
    const t = cells(await ok('ps', '-a', '--format', 'table {{.ID}}\t{{.Labels}}'), ['CONTAINER ID', 'LABELS']);
    expect(t.map((r) => r[1]).sort()).toEqual(['color=blue,com.example.version=1.0', 'color=red']);
    expect((await ok('ps', '-a', '--format', '{{.Names}}={{.Label "color"}}')).trim().split('\n').sort()).toEqual(['db=red', 'web=blue']);
    expect((await ok('ps', '-a', '--format', '{{.ID}}: {{.Command}}')).trim().split('\n')).toHaveLength(2);
  });

  it.each([
    [['name=we'], ['web']],
    [['name=^d'], ['db']],
    [['label=color=red'], ['db']],
    [['ancestor=busybox:latest'], ['db']],
    [['ancestor=app'], ['web']],
    [['status=created'], ['db', 'web']],
    [['status=running'], []],
    [['name=web', 'name=db'], ['db', 'web']],
    [['name=web', 'label=color=red'], []],
  ])('--filter %j', async (filters, want) => {
    const out = await ok('ps', '-a', ...filters.flatMap((f) => ['--filter', f]), '--format', '{{.Names}}');
    expect(out.trim().split('\n').filter(Boolean).sort()).toEqual(want);
  });

  it('lists created containers with a status filter and no -a (docker implies -a)', async () => {
    expect((await ok('ps', '--filter', 'status=created', '-q')).trim().split('\n')).toHaveLength(2);
    const r = await lamina(root, ['ps', '--filter', 'status=sleeping']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Invalid filter 'status=sleeping'/);
  });
});

describe('inspect', () => {
  it('prints an indented JSON array by default and compact JSON with --format json', async () => {
    const out = await ok('inspect', 'app:latest');
    expect(out).toMatch(/^\[\n {4}\{\n {8}"Id": "sha256:/);
    const [info] = JSON.parse(out);
    expect(info.RepoTags.sort()).toEqual(['app:latest', 'example.com/team/app:1.0']);
    expect(JSON.parse(await ok('image', 'inspect', '--format', 'json', 'app:latest'))).toEqual([info]);
    expect((await ok('inspect', '--format', 'json', 'app:latest')).trim()).not.toContain('\n');
  });

  it('runs templates on each object', async () => {
    expect(await ok('inspect', '--format', '{{.Id}}', 'app:latest', 'busybox')).toBe(`${ids.a}\n${ids.b}\n`);
    expect(await ok('inspect', '-f', '{{json .Config.Labels}}', 'app:latest')).toBe('{"color":"blue","com.example.version":"1.0"}\n');
    expect((await ok('inspect', '-f', '{{range .RepoTags}}{{.}};{{end}}', 'app:latest')).split(';').sort()).toEqual(['\n', 'app:latest', 'example.com/team/app:1.0']);
    expect(await ok('inspect', '-f', '{{index .Config.Labels "color"}} {{len .RootFS.Layers}}', 'busybox')).toBe('red 2\n');
    expect(await ok('inspect', '-f', '{{.Name}} {{.Config.Image}} {{.State.Status}}', 'web')).toBe('/web app:latest created\n');
  });

  it('reports each missing object, prints the others, exits 1', async () => {
    const r = await lamina(root, ['inspect', '-f', '{{.Id}}', 'nope', 'app:latest', 'nope2']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${ids.a}\n`);
    expect(r.stderr.trim().split('\n')).toEqual(['error: No such object: nope', 'error: No such object: nope2']);
    const m = await lamina(root, ['inspect', '-f', '{{.Config.Nope}}', 'app:latest']);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/map has no entry for key "Nope"/);
  });
});

describe('command groups, version, system df', () => {
  it('answers the same under docker\'s group names', async () => {
    expect(await ok('image', 'ls')).toBe(await ok('images'));
    expect(await ok('image', 'list', '-q')).toBe(await ok('images', '-q'));
    expect(await ok('container', 'ls', '-a', '--format', '{{.ID}}')).toBe(await ok('ps', '-a', '--format', '{{.ID}}'));
    expect(await ok('image', 'history', '-q', 'busybox')).toBe(await ok('history', '-q', 'busybox'));
    expect(await ok('container', 'inspect', '-f', '{{.Name}}', 'db')).toBe('/db\n');
    expect((await lamina(root, ['image', 'inspect', 'web'])).stderr).toMatch(/No such image: web/);
    expect(await ok('system', 'info', '--format', '{{.Images}} {{.Containers}} {{.Driver}}')).toBe('4 2 lamina\n');
  });

  it('prints the version', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(await ok('--version')).toBe(`lamina version ${version}\n`);
    expect(await ok('version', '--format', '{{.Client.Version}}')).toBe(`${version}\n`);
    expect(await ok('version')).toMatch(new RegExp(`^Client:\\n Version: +${version.replace(/\./g, '\\.')}\\n`));
  });

  it('counts a shared layer once in system df and splits shared from unique sizes', async () => {
    const t = cells(await ok('system', 'df'), ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE']);
    const all = sizes.base + sizes.a + sizes.b + sizes.c + sizes.d;
    // A and B are used by containers: what C and D alone need is reclaimable (the base layer is not)
    const reclaim = sizes.c + sizes.d;
    expect(t[0]).toEqual(['Images', '4', '2', humanSize(all, 4), `${humanSize(reclaim, 4)} (${Math.floor((reclaim * 100) / all)}%)`]);
    expect(t[1]).toEqual(['Containers', '2', '0', '0B', '0B']);
    const v = await ok('system', 'df', '-v');
    expect(v).toMatch(/^Images space usage:\n\nREPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS\n/);
    expect(v).toMatch(/\nContainers space usage:\n\nCONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES\n/);
  });
});

describe('errors, several arguments, prompts, pipes', () => {
  it('prints a usage error as one line and where to read more', async () => {
    for (const [args, see] of [[['images', 'a', 'b'], 'lamina images'], [['image', 'ls', '--bogus'], 'lamina image ls'], [['rmi'], 'lamina rmi']] as const) {
      const r = await lamina(root, [...args]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[1]).toBe(`See '${see} --help'.`);
    }
  });

  it('refuses an empty mount directory instead of mounting over the current one', async () => {
    const before = await ok('ps', '-aq');
    const r = await lamina(root, ['mount', 'app:latest', ''], { cwd: work });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('error: mount: the directory argument is empty');
    expect(await ok('ps', '-aq')).toBe(before);
    expect((await run('findmnt', ['-n', work])).stdout).toBe('');
  });

  it('ends quietly when the reader of stdout goes away (EPIPE)', async () => {
    for (const cmd of [`save -o - app:latest`, `images --format '{{printf "%200000s" .ID}}'`]) {
      const errFile = path.join(work, 'stderr.txt');
      const r = await run('bash', ['-c', `set -o pipefail; node ${BIN} --root ${root} ${cmd} 2>${errFile} | head -c 10 >/dev/null`]);
      expect(r.code, cmd).toBe(141);
      expect(await readFile(errFile, 'utf8')).toBe('');
    }
  });
});

describe('rmi, rm and prune on a store of their own', () => {
  let r2: string;
  const ok2 = (...args: string[]) => laminaOk(r2, args, { env });

  beforeAll(async () => {
    r2 = path.join(work, 'store2');
    const archive = path.join(work, 'prune.tar');
    await dockerArchive(archive, [
      { tags: ['keep:1', 'keep:2', 'keep:3'], layers: [await layerTar([{ name: 'k', content: 'k' }])] },
      { tags: [], layers: [await layerTar([{ name: 'dangling', content: 'x'.repeat(5000) }])] },
    ]);
    await ok2('load', '-i', archive);
    // an image named only by a digest: pulled by digest from the registry
    await ok2('pull', `${digestRepo}@${digest}`);
  }, 120_000);

  it('rmi acts on every argument, reports each failure, exits 1', async () => {
    const r = await lamina(r2, ['rmi', 'keep:1', 'nope:1', 'keep:2', 'nope:2']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('Untagged: keep:1\nUntagged: keep:2\n');
    expect(r.stderr.trim().split('\n')).toEqual(['error: No such image: nope:1', 'error: No such image: nope:2']);
    expect((await ok2('images', '--format', '{{.Repository}}:{{.Tag}}', 'keep')).trim()).toBe('keep:3');
  });

  it('rm acts on every argument', async () => {
    const a = (await ok2('create', 'keep:3')).trim();
    const b = (await ok2('create', 'keep:3')).trim();
    const r = await lamina(r2, ['rm', a, 'nope', b]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${a}\n${b}\n`);
    expect(r.stderr.trim()).toBe('error: No such container: nope');
    expect(await ok2('ps', '-aq')).toBe('');
  });

  it('image prune asks first, keeps tagged and digest-named images, removes dangling ones', async () => {
    const stdin = path.join(work, 'answer');
    const count = async () => (await ok2('images', '-a', '-q')).trim().split('\n').length;
    const n = await count();
    await writeFile(stdin, 'n\n');
    const no = await run('sh', ['-c', `node ${BIN} --root ${r2} image prune < ${stdin}`]);
    expect(no.code).toBe(1);
    expect(no.stdout).toBe('WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ');
    expect(await count()).toBe(n);
    await writeFile(stdin, 'y\n');
    const yes = await run('sh', ['-c', `node ${BIN} --root ${r2} image prune < ${stdin}`]);
    expect(yes.code).toBe(0);
    expect(yes.stdout).toMatch(/\[y\/N\] Deleted Images:\ndeleted: sha256:[0-9a-f]{64}\n(deleted: sha256:[0-9a-f]{64}\n)*\nTotal reclaimed space: \d/);
    expect(await count()).toBe(n - 1);
    expect((await ok2('images', '-a', '--digests', '--format', '{{.Repository}}@{{.Digest}}')).trim().split('\n')).toContain(`${digestRepo}@${digest}`);
    expect(await ok2('image', 'prune', '-f')).toBe('Total reclaimed space: 0B\n');
  });
});
