// CPU profile of a lamina mount server, for bench/profile.mjs. Node 20 refuses --cpu-prof
// in NODE_OPTIONS, but the server is spawned with process.env, so
//   NODE_OPTIONS="--import=/path/to/bench/cpu-prof-preload.mjs" LAMINA_CPU_PROF_DIR=DIR
// reaches it. The profiler starts on import (only in serve-mount.js processes) and the
// profile is written, V8's .cpuprofile format, when the server exits.
import inspector from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.LAMINA_CPU_PROF_DIR;
if (dir && /serve-mount\.js$/.test(process.argv[1] ?? '')) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.LAMINA_CPU_PROF_INTERVAL_US ?? 200) });
  session.post('Profiler.start');
  process.on('exit', () => {
    // a same-thread session answers synchronously
    session.post('Profiler.stop', (err, res) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `server.${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
