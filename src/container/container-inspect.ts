import { readConfig } from '../image/inspect.js';
import type { ContainerConfig } from '../image/oci.js';
import type { Store } from '../store/store.js';
import { isUpState, type ContainerRecord } from './container-index.js';
import type { ContainerSummary } from './container-list.js';
import { hostnameOf, type PortBinding, type RunSpec } from './run-spec.js';

/** Go's zero time, which docker shows for a container that never started or finished. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** docker's PortBindings: {"80/tcp": [{HostIp, HostPort}]}. */
function portBindings(ports: PortBinding[]): Record<string, Array<{ HostIp: string; HostPort: string }>> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of ports) (out[`${p.containerPort}/${p.proto}`] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: String(p.hostPort) });
  return out;
}

/** docker's HostConfig, for the fields a run spec records. */
function hostConfig(spec: RunSpec | undefined): Record<string, unknown> {
  if (!spec) return {};
  return {
    NetworkMode: spec.network === 'private' ? 'bridge' : spec.network, PortBindings: portBindings(spec.ports),
    RestartPolicy: { Name: spec.restart.name, MaximumRetryCount: spec.restart.maxRetries }, AutoRemove: spec.autoRemove,
    Binds: spec.volumes, ExtraHosts: spec.addHosts, Init: spec.init, Privileged: spec.privileged, CapAdd: spec.capAdd,
    CapDrop: spec.capDrop, SecurityOpt: [...(spec.noNewPrivileges ? ['no-new-privileges'] : []), ...(spec.seccomp ? [] : ['seccomp=unconfined'])],
  };
}

/** docker container inspect's shape, with the fields this store records. */
export async function inspectContainer(store: Store, c: ContainerRecord, s: ContainerSummary): Promise<Record<string, unknown>> {
  const cfg: ContainerConfig = await readConfig(store, c.imageId).then((x) => x.config ?? {}, () => ({}));
  const argv = c.spec?.process.argv ?? [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])];
  const r = c.run;
  const running = isUpState(r.state);
  return {
    Id: c.id,
    Created: c.created,
    Path: argv[0] ?? '',
    Args: argv.slice(1),
    State: {
      Status: s.state, Running: running, Paused: false, Restarting: r.state === 'restarting', OOMKilled: false, Dead: false,
      Pid: running ? (r.pid ?? 0) : 0, ExitCode: r.exitCode ?? 0, Error: r.error ?? '',
      StartedAt: r.startedAt ?? ZERO_TIME, FinishedAt: r.finishedAt ?? ZERO_TIME,
    },
    Image: c.imageId,
    Name: `/${c.name}`,
    RestartCount: r.restartCount,
    LogPath: `${c.upperDir.replace(/\/upper$/, '')}/container.log`,
    HostConfig: hostConfig(c.spec),
    GraphDriver: { Name: 'lamina', Data: { UpperDir: c.upperDir, WorkDir: c.workDir, ...(s.mounts?.[0] ? { MergedDir: s.mounts[0] } : {}) } },
    Mounts: [],
    Config: {
      ...cfg, Image: c.imageRef, Labels: cfg.Labels ?? {},
      ...(c.spec ? { Cmd: argv, Entrypoint: null, Env: c.spec.process.env, WorkingDir: c.spec.process.cwd, User: c.spec.process.user,
        Hostname: hostnameOf(c.id, c.spec), Tty: c.spec.tty, OpenStdin: c.spec.interactive } : {}),
    },
  };
}
