// The adapter's readdir op, called directly (no mount): what the kernel gets for `ls -a`.
import { describe, expect, it } from 'vitest';
import { createAdapter } from '../../src/fuse/adapter.js';
import type { DirList } from '../../src/fuse/binding.js';
import { MemoryView } from '../../src/fuse/memory-view.js';
import type { Node } from '../../src/union/view.js';

const node = (ino: number, type: Node['type'], n: Partial<Node> = {}): Node =>
  ({ ino, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, size: 0, mtimeSec: 0, mtimeNsec: 0, nlink: 1, ...n });

const view = new MemoryView({
  entries: [
    { path: '/', node: node(1, 'dir', { nlink: 3 }) },
    { path: '/d', node: node(2, 'dir', { mode: 0o700, nlink: 2 }) },
    { path: '/d/f', node: node(3, 'file') },
  ],
});

function readdir(p: string): Promise<{ err: number; list?: DirList }> {
  const { ops } = createAdapter(view);
  return new Promise((resolve) => ops.readdir(p, (err, list) => resolve({ err, list })));
}

describe('adapter readdir', () => {
  it('lists . and .. first, like ext4 and overlayfs (ls -a shows them)', async () => {
    const { err, list } = await readdir('/d');
    expect(err).toBe(0);
    expect(list!.names).toEqual(['.', '..', 'f']);
    expect(list!.stats.map((s) => s.ino)).toEqual([2, 1, 3]); // d_ino: the dir, its parent, the child
  });

  it('gives the root a .. that is itself, as a filesystem root does', async () => {
    const { list } = await readdir('/');
    expect(list!.names).toEqual(['.', '..', 'd']);
    expect(list!.stats.map((s) => s.ino)).toEqual([1, 1, 2]);
  });

  it('still answers ENOTDIR and ENOENT', async () => {
    expect((await readdir('/d/f')).err).toBe(-20);
    expect((await readdir('/nope')).err).toBe(-2);
  });
});
