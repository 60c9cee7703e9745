// How a container runs: docker's Config (the process) and HostConfig (network, restart policy,
// privileges), fixed when the container is created and stored with it.

/** A published port: `-p [IP:]HOST:CONTAINER[/PROTO]`. */
export interface PortBinding {
  /** Host address to listen on; undefined: every address (IPv4 and IPv6). */
  hostIp?: string;
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

export type NetworkMode = 'host' | 'none' | 'private';

/** docker's --restart: no, always, unless-stopped, on-failure[:MAX]. */
export interface RestartPolicy {
  name: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  /** on-failure only: give up after this many restarts (0: never give up). */
  maxRetries: number;
}

/** The process a container runs, resolved from the image config and the flags at create time. */
export interface ProcessSpec {
  argv: string[];
  env: string[];
  cwd: string;
  /** docker's -u as given (USER[:GROUP]); resolved against the image's /etc/passwd at start. */
  user: string;
}

export interface RunSpec {
  process: ProcessSpec;
  /** Container host name (default: the first 12 hex digits of the ID). */
  hostname?: string;
  tty: boolean;
  /** Keep stdin open (-i). */
  interactive: boolean;
  network: NetworkMode;
  ports: PortBinding[];
  /** `--add-host NAME:IP` lines for /etc/hosts. */
  addHosts: string[];
  /** `-v HOSTDIR:DIR[:ro|rw]` as given. */
  volumes: string[];
  /** Run tini as PID 1 (--init). */
  init: boolean;
  restart: RestartPolicy;
  /** --rm: remove the container when it exits. */
  autoRemove: boolean;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  /** --security-opt no-new-privileges[:true|false], seccomp=unconfined. */
  noNewPrivileges: boolean;
  seccomp: boolean;
  /** The image's StopSignal, if any (stop sends it instead of SIGTERM). */
  stopSignal?: string;
  /** The image's exposed ports ("80/tcp"), shown by ps. */
  exposed: string[];
}

/** The container's host name: --hostname, else the first 12 hex digits of its ID (docker's default). */
export function hostnameOf(id: string, spec: Pick<RunSpec, 'hostname'>): string {
  return spec.hostname ?? id.slice(0, 12);
}

/** What an old container (created before run specs were stored) runs with: the image's defaults. */
export const DEFAULT_HOST_CONFIG: Omit<RunSpec, 'process' | 'exposed' | 'stopSignal'> = {
  tty: false, interactive: false, network: 'private', ports: [], addHosts: [], volumes: [], init: false,
  restart: { name: 'no', maxRetries: 0 }, autoRemove: false, capAdd: [], capDrop: [], privileged: false,
  noNewPrivileges: false, seccomp: true,
};
