// runContainer({ inProcess: true }), the entry point for callers that run many short commands
// (build): the container's monitor runs in the caller, yet the container is a container like any
// other to ps, stop and exec, and its output reaches the caller's streams.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runContainer, type RunOpts } from '../../src/run/run.js';
import { Store } from '../../src/store/store.js';
import { canMount, fixture, type Fixture } from '../helpers/containers.js';
import { expectNothingLeft, psRows, webRootfs } from '../helpers/live-containers.js';
import { haveCommand, waitFor } from '../helpers/proc.js';

const tools = await Promise.all(['umoci', 'pasta'].map(haveCommand));

let f: Fixture;
let store: Store;

/** Everything the container prints (stdout and stderr together, as build -q takes them). */
function collect(): { output: (chunk: Buffer) => void; text: () => string } {
  let text = '';
  return { output: (b) => (text += b.toString()), text: () => text };
}

const opts = (cmd: string[], output: (chunk: Buffer) => void, extra: Partial<RunOpts> = {}): RunOpts => ({
  image: f.ref, cmd, env: [], rm: false, interactive: false, tty: false, volumes: [], inProcess: true, output, say: () => undefined, ...extra,
});

describe.runIf(canMount && tools.every(Boolean))('run in the caller\'s process', () => {
  beforeAll(async () => {
    f = await fixture('lamina-run-inproc-', [webRootfs], 'lamina.test/inproc:1');
    process.env.LAMINA_RUN_DIR = f.runDir; // where this process's monitor puts its socket, as the CLI does
    store = await Store.open(f.root);
  }, 600_000);
  afterEach(() => expectNothingLeft(f.root, f.work, (a) => f.cli(a)), 60_000);
  afterAll(async () => {
    store?.close();
    await f?.cleanup();
  }, 60_000);

  it('gives the exit status and both output streams, and --rm removes the container', async () => {
    const out = collect();
    const code = await runContainer(store, opts(['sh', '-c', 'echo out; sleep 0.1; echo err >&2; exit 3'], out.output, { rm: true }));
    expect({ code, out: out.text() }).toEqual({ code: 3, out: 'out\nerr\n' });
    expect(await psRows((a) => f.cli(a))).toEqual([]);
  }, 60_000);

  it('is Up to ps, answers exec and stop from other processes while it runs', async () => {
    const out = collect();
    const running = runContainer(store, opts(['sh', '-c', "trap 'echo stopping; exit 0' TERM; echo ready; while :; do sleep 0.1; done"],
      out.output, { name: 'inproc' }));
    await waitFor(() => out.text() === 'ready\n', { what: 'the container' });
    expect((await psRows((a) => f.cli(a))).find((r) => r.Names === 'inproc')?.Status).toMatch(/^Up /);
    expect(await f.cliOk(['exec', 'inproc', 'echo', 'from exec'])).toBe('from exec\n');
    expect(await f.cliOk(['stop', 'inproc'])).toBe('inproc\n');
    expect(await running).toBe(0);
    expect(out.text()).toBe('ready\nstopping\n');
    expect((await psRows((a) => f.cli(a))).find((r) => r.Names === 'inproc')?.Status).toMatch(/^Exited \(0\) /);
  }, 60_000);

  it('reports a failed start as an error, not an exit status', async () => {
    await expect(runContainer(store, opts(['id'], collect().output, { user: 'nobody-here', rm: true })))
      .rejects.toThrow(/unable to find user nobody-here/);
  }, 60_000);
});
