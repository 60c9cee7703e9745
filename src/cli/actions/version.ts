import { serviceReport } from '../../service/client.js';
import type { Context, Output } from '../context.js';
import { VERSION } from '../version.js';

/** Go's GOARCH names for Node's process.arch. */
const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export async function runVersion(ctx: Context, o: { format?: string }): Promise<Output> {
  const client = { Version: VERSION, NodeVersion: process.version, Os: process.platform, Arch: GO_ARCH[process.arch] ?? process.arch };
  const svc = (await serviceReport(ctx.socketFlag, ctx.root)).json as { state: string; pid?: number; socket?: string; root?: string };
  const server = svc.state === 'running' ? { Version: VERSION, Pid: svc.pid, Socket: svc.socket, Root: svc.root } : null;
  if (o.format) {
    const { execute, parseFormat } = await import('../format-write.js'); // the template engine, only for --format
    return execute(parseFormat(o.format), { Client: client, Server: server });
  }
  const lines = ['Client:', ` Version:           ${client.Version}`, ` Node version:      ${client.NodeVersion}`, ` OS/Arch:           ${client.Os}/${client.Arch}`];
  if (server) lines.push('', 'Server: lamina service', ` Version:           ${server.Version}`, ` Pid:               ${server.Pid}`, ` Socket:            ${server.Socket}`);
  return lines.join('\n');
}
