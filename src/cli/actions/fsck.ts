import { fsck, findingLine } from '../../image/fsck.js';
import type { Context, Output } from '../context.js';

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

export async function runFsck(ctx: Context, o: { repair?: boolean }): Promise<Output> {
  const r = await fsck(await ctx.store(), { repair: !!o.repair });
  if (!r.ok) ctx.exitCode = 1;
  const { blobs, layers, images, containers } = r.checked;
  const checked = `checked ${count(blobs, 'blob')}, ${count(layers, 'layer')}, ${count(images, 'image')}, ${count(containers, 'container')}`;
  const problems = r.findings.filter((f) => !f.warning).length;
  const repaired = r.findings.filter((f) => f.repaired).length;
  const unrepaired = r.findings.some((f) => !f.repaired && f.repair !== undefined);
  const verdict = r.findings.length === 0 ? 'no problems'
    : [count(problems, 'problem'), ...(r.findings.length > problems ? [count(r.findings.length - problems, 'warning')] : []),
      ...(o.repair ? [`${repaired} repaired`] : unrepaired ? ['run lamina fsck --repair'] : [])].join(', ');
  return [...r.findings.map(findingLine), `${checked}: ${verdict}`].join('\n');
}
