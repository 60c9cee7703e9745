import { ImgError } from '../store/errors.js';

export interface Credentials {
  uid: number;
  gid: number;
  /** Supplementary groups: those of /etc/group that list the user by name. */
  groups: number[];
  home: string;
}

interface PasswdLine { name: string; uid: number; gid: number; home: string }
interface GroupLine { name: string; gid: number; members: string[] }

/** The largest ID the kernel takes: (uid_t)-1 means "unchanged". */
const MAX_ID = 2 ** 32 - 2;
const isId = (s: string) => /^\d+$/.test(s);
const lines = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));
/** An ID field of a passwd or group line; a malformed one matches nothing. */
const idField = (s: string) => (isId(s) && Number(s) <= MAX_ID ? Number(s) : -1);

function parsePasswd(text: string): PasswdLine[] {
  return lines(text).map((l) => {
    const [name = '', , uid = '', gid = '', , home = '/'] = l.split(':');
    return { name, uid: idField(uid), gid: idField(gid), home };
  });
}

function parseGroup(text: string): GroupLine[] {
  return lines(text).map((l) => {
    const [name = '', , gid = '', members = ''] = l.split(':');
    return { name, gid: idField(gid), members: members.split(',').filter(Boolean) };
  });
}

/** A numeric ID from -u, refused past what the kernel takes, so nothing wraps around to root. */
function numericId(s: string, what: 'user' | 'group'): number {
  const n = Number(s);
  if (n > MAX_ID) throw new ImgError('INVALID_ARGUMENT', `invalid ${what} ID ${s}: over ${MAX_ID}`);
  return n;
}

/**
 * Resolve docker's `-u USER[:GROUP]` against the container's own /etc/passwd
 * and /etc/group, as docker does: numeric IDs need no entry, names must exist.
 */
export function resolveUser(spec: string, passwd: string, group: string): Credentials {
  const [user = '', grp] = spec.split(':');
  const name = user || '0';
  const users = parsePasswd(passwd);
  const hit = isId(name) ? users.find((u) => u.uid === numericId(name, 'user')) : users.find((u) => u.name === name);
  if (!hit && !isId(name)) throw new ImgError('INVALID_ARGUMENT', `unable to find user ${user}: no matching entries in passwd file`);
  if (hit && (hit.uid < 0 || hit.gid < 0)) throw new ImgError('INVALID_ARGUMENT', `invalid user ID for ${hit.name} in passwd file`);
  const uid = hit?.uid ?? numericId(name, 'user');
  let gid = hit && hit.gid >= 0 ? hit.gid : 0;
  const groups = parseGroup(group);
  if (grp !== undefined && grp !== '') {
    const g = isId(grp) ? { gid: numericId(grp, 'group') } : groups.find((x) => x.name === grp);
    if (!g) throw new ImgError('INVALID_ARGUMENT', `unable to find group ${grp}: no matching entries in group file`);
    gid = g.gid;
  }
  const supplementary = hit ? groups.filter((g) => g.gid >= 0 && g.members.includes(hit.name)).map((g) => g.gid) : [];
  return { uid, gid, groups: [...new Set(supplementary)], home: hit?.home ?? '/' };
}
