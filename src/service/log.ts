// Structured service logs: one JSON object per line on stderr, for journald and jq.

export type LogEvent =
  | 'start' | 'listen' | 'stop' | 'mount' | 'unmount' | 'adopt' | 'worker-exit' | 'restart' | 'cleanup' | 'request' | 'error'
  | 'container';

/** Writes `{"time","level","event",...fields}` as one line. */
export function logEvent(event: LogEvent, fields: Record<string, unknown> = {}, level: 'info' | 'warn' | 'error' = 'info'): void {
  const line = JSON.stringify({ time: new Date().toISOString(), level, event, ...fields });
  process.stderr.write(`${line}\n`);
}
