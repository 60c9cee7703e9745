// What each lamina invocation loads: help, version and option parsing load commander and the
// command definitions only; a command loads its own implementation and what that needs.
// A module loader hook in the child process logs every module it loads.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO, tempDir } from '../helpers/lamina.js';
import { run } from '../helpers/proc.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lamina-startup-'));
  await writeFile(path.join(dir, 'hooks.mjs'), [
    "import { appendFileSync } from 'node:fs';",
    'export async function load(url, context, next) {',
    '  appendFileSync(process.env.LAMINA_TEST_LOADED, `${url}\\n`);',
    '  return next(url, context);',
    '}',
  ].join('\n'));
  await writeFile(path.join(dir, 'register.mjs'),
    "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
});
afterAll(() => cleanup?.());

let runs = 0;
/** The modules `lamina ARGS` loads: lamina's as paths under dist/, packages by name. */
async function loaded(args: string[]): Promise<{ dist: string[]; packages: string[] }> {
  const log = path.join(dir, `loaded-${++runs}.txt`);
  const r = await run(process.execPath, ['--import', path.join(dir, 'register.mjs'), BIN, '--root', path.join(dir, 'root'), ...args], {
    env: { LAMINA_TEST_LOADED: log, LAMINA_SOCKET: path.join(dir, 'no.sock') },
  });
  expect(r.code, r.stderr).toBe(0);
  const files = (await readFile(log, 'utf8')).split('\n').filter((u) => u.startsWith('file:')).map((u) => new URL(u).pathname);
  const dist = path.join(REPO, 'dist') + path.sep;
  return {
    dist: files.filter((f) => f.startsWith(dist)).map((f) => f.slice(dist.length)),
    packages: [...new Set(files.map((f) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter((p) => p !== undefined))],
  };
}

/** What the definitions may load besides src/cli's own modules: small modules of constants. */
const DEFINITION_DEPS = ['store/errors.js', 'store/root.js', 'image/image-filters.js', 'container/container-filters.js', 'image/change-instructions.js'];
const isDefinition = (f: string) => (f.startsWith('cli/') && !f.startsWith('cli/actions/') && !f.startsWith('cli/format')) || DEFINITION_DEPS.includes(f);

describe('lamina start-up', () => {
  for (const args of [['--help'], ['images', '--help'], ['run', '--help'], ['--version']]) {
    it(`${args.join(' ')} loads the definitions only`, async () => {
      const { dist, packages } = await loaded(args);
      expect(dist.filter((f) => !isDefinition(f))).toEqual([]);
      expect(packages).toEqual(['commander']);
    });
  }

  it('version loads its action and the service client, no store, no template engine', async () => {
    const { dist, packages } = await loaded(['version']);
    expect(dist.filter((f) => !isDefinition(f)).sort()).toEqual(['cli/actions/version.js', 'service/client.js', 'service/protocol.js']);
    expect(packages).toEqual(['commander']);
  });

  it('images loads no registry client, build, run, service, FUSE or union code', async () => {
    const { dist, packages } = await loaded(['images']);
    expect(dist).toContain('cli/actions/images.js');
    expect(dist.filter((f) => /^(registry|build|run|fuse|union|service)\//.test(f))).toEqual([]);
    expect(packages.sort()).toEqual(['@sinkingpoint/gotemplate', 'better-sqlite3', 'commander', 'valibot']);
  });

  it('ps loads no registry client, build or run code', async () => {
    const { dist } = await loaded(['ps', '-a']);
    expect(dist).toContain('cli/actions/containers.js');
    expect(dist.filter((f) => /^(registry|build|run)\//.test(f))).toEqual([]);
  });
});
