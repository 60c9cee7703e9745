// Pure checks of the FUSE helpers (no mount).
import { describe, expect, it } from 'vitest';
import { parseMountInfo } from '../../src/fuse/mountinfo.js';
import { mountdArgs, nativeMountOptions } from '../../src/fuse/native-server.js';

describe('parseMountInfo', () => {
  it('unescapes mount points and reads type and source', () => {
    const text = '42 27 0:39 / /tmp/a\\040b ro,nosuid - fuse.lamina lamina ro,user_id=0\n'
      + '36 25 0:31 / /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw\n';
    expect(parseMountInfo(text)).toEqual([
      { mountPoint: '/tmp/a b', fstype: 'fuse.lamina', source: 'lamina' },
      { mountPoint: '/sys/fs/cgroup', fstype: 'cgroup2', source: 'cgroup2' },
    ]);
  });
});

describe('nativeMountOptions', () => {
  it('defaults to a read-only nosuid,nodev mount that other users reach and the kernel checks', () => {
    expect(nativeMountOptions({})).toEqual(['fsname=lamina', 'subtype=lamina', 'allow_other', 'default_permissions', 'ro', 'nosuid', 'nodev']);
  });

  it('keeps option syntax out of fsname, and gives suid and dev only when asked', () => {
    expect(nativeMountOptions({ fsname: 'a,b=c d', readOnly: false, suid: true, dev: true })).toEqual(['fsname=a_b_c_d', 'subtype=lamina',
      'allow_other', 'default_permissions', 'rw', 'suid', 'dev']);
  });

  it('passes the cache lifetime as the server\'s --timeout', () => {
    const args = (o: object) => mountdArgs('/m', { view: '/v', store: '/s' }, o);
    expect(args({}).join(' ')).toMatch(/--timeout 31536000 /);
    expect(args({ cache: 'off' }).join(' ')).toMatch(/--timeout 0 /);
    expect(args({ cache: 'default' }).join(' ')).toMatch(/--timeout 1 /);
  });
});
