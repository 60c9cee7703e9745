import { ImgError } from '../store/errors.js';

export interface Credentials {
  uid: number;
  gid: number;
  home: string;
}

interface PasswdLine { name: string; uid: number; gid: number; home: string }

function parsePasswd(text: string): PasswdLine[] {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const [name = '', , uid = '', gid = '', , home = '/'] = l.split(':');
    return { name, uid: Number(uid), gid: Number(gid), home };
  });
}

function parseGroup(text: string): Array<{ name: string; gid: number }> {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const [name = '', , gid = ''] = l.split(':');
    return { name, gid: Number(gid) };
  });
}

const isId = (s: string) => /^\d+$/.test(s);

/**
 * Resolve docker's `-u USER[:GROUP]` against the container's own /etc/passwd
 * and /etc/group, as docker does: numeric IDs need no entry, names must exist.
 */
export function resolveUser(spec: string, passwd: string, group: string): Credentials {
  const [user = '', grp] = spec.split(':');
  const users = parsePasswd(passwd);
  const hit = isId(user || '0') ? users.find((u) => u.uid === Number(user || '0')) : users.find((u) => u.name === user);
  if (!hit && !isId(user || '0')) throw new ImgError('INVALID_ARGUMENT', `unable to find user ${user}: no matching entries in passwd file`);
  const uid = hit?.uid ?? Number(user || '0');
  let gid = hit?.gid ?? 0;
  if (grp !== undefined && grp !== '') {
    const g = isId(grp) ? { gid: Number(grp) } : parseGroup(group).find((x) => x.name === grp);
    if (!g) throw new ImgError('INVALID_ARGUMENT', `unable to find group ${grp}: no matching entries in group file`);
    gid = g.gid;
  }
  return { uid, gid, home: hit?.home ?? '/' };
}
