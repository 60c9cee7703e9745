// The service's JSON-over-HTTP API on its Unix socket, shared by the server (api.ts) and the CLI (client.ts).
//
//   GET    /info            ServiceInfo
//   GET    /mounts          MountStatus[]
//   POST   /mounts          MountRequest → 201 MountResult
//   DELETE /mounts?dir=DIR  → 200 { dir }
//
// Errors are 4xx/5xx with an ErrorBody; the status follows the ImgError code.
import path from 'node:path';
import type { ErrorCode } from '../store/errors.js';

/** Where the service listens unless told otherwise. */
export const DEFAULT_SOCKET = '/run/lamina/lamina.sock';

/** The socket from a flag, then env LAMINA_SOCKET, then the default. */
export function socketPath(flag?: string): string {
  return path.resolve(flag ?? process.env.LAMINA_SOCKET ?? DEFAULT_SOCKET);
}

/** POST /mounts: exactly one of `image` and `container`. An image without readOnly gets a new container. */
export interface MountRequest {
  image?: string;
  container?: string;
  /** Absolute path of the mountpoint (an existing directory). */
  dir: string;
  readOnly?: boolean;
}

/** starting: first worker coming up; restarting: replacing a worker that died; failed: retrying after errors. */
export type MountState = 'starting' | 'mounted' | 'restarting' | 'failed';

/** One mount the service keeps. */
export interface MountStatus {
  dir: string;
  state: MountState;
  imageId: string;
  /** Absent for a read-only image mount. */
  containerId?: string;
  readOnly: boolean;
  /** The worker serving the mount, while one runs. */
  pid?: number;
  /** Workers replaced since the service started. */
  restarts: number;
  /** When the mount entered its current state (ISO 8601). */
  since: string;
  /** The last error while (re)starting, if any. */
  error?: string;
}

/** POST /mounts's answer. */
export interface MountResult {
  mount: MountStatus;
  /** True when the request named an image and a new container was created for it. */
  created: boolean;
}

/** GET /info. */
export interface ServiceInfo {
  pid: number;
  socket: string;
  root: string;
  runDir: string;
  startedAt: string;
  mounts: MountStatus[];
}

/** The body of every error answer. */
export interface ErrorBody {
  message: string;
  code: ErrorCode;
  hint?: string;
}

/** HTTP status for an error code; the client maps it back through codeOfStatus. */
export const STATUS_OF: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400, UNAUTHORIZED: 403, NOT_FOUND: 404, ALREADY_EXISTS: 409, FAILED_PRECONDITION: 412,
  DIGEST_MISMATCH: 422, INTERNAL: 500, UNAVAILABLE: 503,
};
