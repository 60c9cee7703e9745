#!/usr/bin/env node
// Forgets the stored merged views (view files) of a store, so the next `lamina mount` computes
// its view again: how the benchmark times a first mount right after `lamina load`.
// Usage: node bench/drop-view.mjs STORE_ROOT   (no mount of the store may be running)
import { rmSync } from 'node:fs';
import path from 'node:path';

const [root] = process.argv.slice(2);
if (!root) {
  console.error('usage: drop-view.mjs STORE_ROOT');
  process.exit(2);
}
rmSync(path.join(root, 'views'), { recursive: true, force: true });
