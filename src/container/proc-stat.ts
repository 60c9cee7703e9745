import { readFileSync } from 'node:fs';

/** The fields of /proc/PID/stat after the command name: state, ppid, ..., start time (field 22). */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** A live (not zombie) process's parent PID and start time (clock ticks after boot); undefined once it is gone. */
export function procInfo(pid: number | 'self'): { ppid: number; start: number } | undefined {
  const f = statFields(pid);
  if (!f || f[0] === 'Z' || f[0] === 'X') return undefined;
  return { ppid: Number(f[1]), start: Number(f[19]) };
}
