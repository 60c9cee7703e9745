#!/usr/bin/env node
// Forgets an image's stored merged view, so the next `lamina mount` computes it again:
// how the benchmark times a first mount right after `lamina load`.
// Usage: node bench/drop-view.mjs STORE_ROOT IMAGE_ID   (no mount of the image may be running)
import path from 'node:path';
import { createRequire } from 'node:module';

const [root, image] = process.argv.slice(2);
if (!root || !image) {
  console.error('usage: drop-view.mjs STORE_ROOT IMAGE_ID');
  process.exit(2);
}
const require = createRequire(new URL('../package.json', import.meta.url));
const Database = require('better-sqlite3');
const db = new Database(path.join(root, 'index.db'));
db.pragma('busy_timeout = 10000');
db.transaction(() => {
  db.prepare('DELETE FROM view_entries WHERE image_id = ?').run(image);
  db.prepare('DELETE FROM views WHERE image_id = ?').run(image);
})();
db.close();
