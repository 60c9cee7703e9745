#!/usr/bin/env node
// Measures one-pass layer ingest on a generated ~1 GiB layer (a few big files,
// many small ones), plain and gzip-compressed. Each step runs in its own
// process so that maxRSS is the ingest's own peak.
// Build first: npx tsc -p tsconfig.json   Usage: node scripts/measure-ingest.mjs [--mib 1024]
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';

const self = fileURLToPath(import.meta.url);
const dist = path.join(path.dirname(self), '..', 'dist');
const MiB = 1 << 20;

/** File contents: half incompressible, half text, so gzip gets a realistic ~2:1. */
function contentSource() {
  const random = randomBytes(4 * MiB);
  const text = Buffer.from(Array.from({ length: 60000 }, (_, i) => `line ${i} of some configuration text\n`).join('')).subarray(0, 4 * MiB);
  let n = 0;
  return (size) => {
    const src = n++ % 2 ? random : text;
    const start = (n * 7919) % (src.length - Math.min(size, src.length) + 1);
    return size <= src.length ? src.subarray(start, start + size) : Buffer.concat(Array.from({ length: Math.ceil(size / src.length) }, () => src)).subarray(0, size);
  };
}

async function writeBig(p, name, size, content) {
  const s = p.entry({ name, size, mode: 0o644 });
  for (let left = size; left > 0; left -= 4 * MiB) {
    if (!s.write(content(Math.min(left, 4 * MiB)))) await new Promise((r) => s.once('drain', r));
  }
  s.end();
  await new Promise((r, j) => s.once('finish', r).once('error', j));
}

async function generate(file, mib) {
  const p = pack();
  const done = pipeline(p, createWriteStream(file));
  const content = contentSource();
  const bigTotal = Math.floor(mib * 0.8) * MiB;
  for (let i = 0; i < 4; i++) await writeBig(p, `big/file${i}.bin`, bigTotal / 4, content);
  for (let i = 0, left = mib * MiB - bigTotal; left > 0; i++) {
    const size = 512 + ((i * 2654435761) % 7680);
    if (i % 500 === 0) p.entry({ name: `small/d${i / 500}`, type: 'directory', mode: 0o755 });
    p.entry({ name: `small/d${Math.floor(i / 500)}/f${i}`, size, mode: 0o644 }, content(size));
    left -= size + 512;
    if (p.readableLength > 16 * MiB) await new Promise((r) => setImmediate(r));
  }
  p.finalize();
  await done;
}

async function ingestOnce(file) {
  const { BlobStore } = await import(path.join(dist, 'store', 'blobs.js'));
  const { ingestLayer } = await import(path.join(dist, 'image', 'tar', 'ingest.js'));
  const root = await mkdtemp(path.join(path.dirname(file), 'store-'));
  const store = new BlobStore(root);
  await store.init();
  const t0 = process.hrtime.bigint();
  const r = await ingestLayer(store, createReadStream(file, { highWaterMark: 256 << 10 }), { what: path.basename(file) });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await rm(root, { recursive: true, force: true });
  const out = { file: path.basename(file), compression: r.compression, size: r.size, uncompressedSize: r.uncompressedSize, entries: r.entries.length, secs };
  console.log(JSON.stringify({ ...out, maxRssKiB: process.resourceUsage().maxRSS }));
}

function child(...args) {
  return execFileSync(process.execPath, [self, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim();
}

async function main() {
  const mib = Number(process.argv[process.argv.indexOf('--mib') + 1]) || 1024;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lamina-measure-'));
  try {
    const tar = path.join(dir, 'layer.tar');
    console.log(`generating a ${mib} MiB layer in ${dir} ...`);
    child('--generate', tar, String(mib));
    execFileSync('gzip', ['-k', '-1', tar]);
    for (const f of [tar, `${tar}.gz`]) {
      execFileSync('sync'); // or the generator's own writeback competes with the ingest's fsync
      report(JSON.parse(child('--ingest', f)));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function report(r) {
  const mb = (n) => (n / 1e6 / r.secs).toFixed(0);
  console.log(`${r.file.padEnd(14)} ${r.compression.padEnd(5)} ${(r.size / MiB).toFixed(0).padStart(5)} MiB in, ${(r.uncompressedSize / MiB).toFixed(0)} MiB tar, ` +
    `${r.entries} entries: ${r.secs.toFixed(2)} s, ${mb(r.uncompressedSize)} MB/s of tar (${mb(r.size)} MB/s as received), peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB`);
}

const [mode, a, b] = process.argv.slice(2);
if (mode === '--generate') await generate(a, Number(b));
else if (mode === '--ingest') await ingestOnce(a);
else await main();
