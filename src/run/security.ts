// Least privilege for container processes, as docker grants it: its default capability set,
// its masked and read-only kernel paths, and a seccomp filter for the system calls its default
// profile refuses. lamina-exec applies what this module decides.
import type { RunSpec } from '../container/run-spec.js';
import { ImgError } from '../store/errors.js';

/** Linux capability numbers (linux/capability.h). */
export const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
] as const;

/** The 14 capabilities docker keeps (moby oci/caps/defaults.go). */
export const DEFAULT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP',
  'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE'];

/** docker's maskedPaths and readonlyPaths (moby oci/defaults.go). */
export const MASKED_PATHS = ['/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** `cap_net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` all name NET_ADMIN; ALL names every one. */
export function capabilityName(s: string): string {
  const name = s.toUpperCase().replace(/^CAP_/, '');
  if (name !== 'ALL' && !(CAPABILITIES as readonly string[]).includes(name)) throw new ImgError('INVALID_ARGUMENT', `invalid capability "${s}"`);
  return name;
}

/** docker's rule: start from the defaults (or all with ALL in --cap-add), add, then drop (ALL in --cap-drop drops everything first). */
export function effectiveCaps(spec: Pick<RunSpec, 'capAdd' | 'capDrop' | 'privileged'>): string[] {
  if (spec.privileged) return [...CAPABILITIES];
  const add = spec.capAdd.map(capabilityName);
  const drop = spec.capDrop.map(capabilityName);
  let caps = new Set<string>(drop.includes('ALL') ? [] : DEFAULT_CAPS);
  if (add.includes('ALL')) caps = new Set(CAPABILITIES);
  for (const c of add) if (c !== 'ALL') caps.add(c);
  for (const c of drop) if (c !== 'ALL' && !add.includes(c)) caps.delete(c);
  return CAPABILITIES.filter((c) => caps.has(c));
}

/** The mask lamina-exec takes (--caps HEX). */
export function capsMask(caps: readonly string[]): string {
  let mask = 0n;
  for (const c of caps) mask |= 1n << BigInt(CAPABILITIES.indexOf(c as (typeof CAPABILITIES)[number]));
  return mask.toString(16);
}

/**
 * System calls refused unless a capability allows them, after docker's default profile (which
 * allows a list and refuses the rest; lamina refuses these and allows the rest). "clone-ns" and
 * "clone3" are lamina-exec's names for clone with namespace flags and clone3 (ENOSYS, so libc falls back).
 */
const DENIED: Array<[string | undefined, string[]]> = [
  [undefined, ['acct', 'add_key', 'keyctl', 'request_key', 'bpf', 'perf_event_open', 'userfaultfd', 'kexec_load', 'kexec_file_load',
    'lookup_dcookie', 'nfsservctl', 'uselib', '_sysctl', 'sysfs', 'ustat', 'create_module', 'get_kernel_syms', 'query_module',
    'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'vhangup', 'quotactl', 'quotactl_fd']],
  ['SYS_ADMIN', ['mount', 'umount', 'umount2', 'pivot_root', 'setns', 'unshare', 'clone-ns', 'clone3', 'fsopen', 'fsconfig', 'fsmount',
    'fspick', 'move_mount', 'open_tree', 'mount_setattr', 'name_to_handle_at', 'fanotify_init', 'setdomainname', 'sethostname',
    'swapon', 'swapoff']],
  ['DAC_READ_SEARCH', ['open_by_handle_at']],
  ['SYS_MODULE', ['init_module', 'finit_module', 'delete_module']],
  ['SYS_BOOT', ['reboot']],
  ['SYS_TIME', ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64']],
  ['SYS_RAWIO', ['iopl', 'ioperm']],
  ['SYS_PTRACE', ['kcmp', 'process_madvise']],
  ['SYS_NICE', ['mbind', 'migrate_pages', 'move_pages', 'set_mempolicy']],
  ['SYSLOG', ['syslog']],
];

/** The names lamina-exec refuses for a process holding `caps`; none without seccomp. */
export function seccompDenyList(caps: readonly string[], seccomp: boolean): string[] {
  if (!seccomp) return [];
  return DENIED.filter(([cap]) => cap === undefined || !caps.includes(cap)).flatMap(([, names]) => names);
}

/** `--security-opt` values: no-new-privileges[:true|false], seccomp=unconfined. */
export function parseSecurityOpts(opts: string[]): { noNewPrivileges: boolean; seccomp: boolean } {
  const out = { noNewPrivileges: false, seccomp: true };
  for (const o of opts) {
    const [key, value] = o.includes('=') ? o.split(/=(.*)/s, 2) : o.split(/:(.*)/s, 2);
    if (key === 'no-new-privileges' && (value === undefined || value === 'true' || value === 'false')) out.noNewPrivileges = value !== 'false';
    else if (key === 'seccomp' && value === 'unconfined') out.seccomp = false;
    else throw new ImgError('INVALID_ARGUMENT', `invalid --security-opt "${o}"`, { hint: 'lamina knows no-new-privileges[:true|false] and seccomp=unconfined' });
  }
  return out;
}

/** What lamina-exec needs about privileges, for `run` and for `exec`. */
export function privilegeArgs(spec: Pick<RunSpec, 'capAdd' | 'capDrop' | 'privileged' | 'noNewPrivileges' | 'seccomp'>): string[] {
  const caps = effectiveCaps(spec);
  const deny = seccompDenyList(caps, spec.seccomp && !spec.privileged);
  return ['--caps', capsMask(caps), ...(spec.noNewPrivileges ? ['--no-new-privs'] : []), ...(deny.length ? ['--seccomp-deny', deny.join(',')] : [])];
}
