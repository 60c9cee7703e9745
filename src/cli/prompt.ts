import { createInterface } from 'node:readline';

/**
 * docker's prompt.Confirm: print `message [y/N] ` to stdout and read one
 * line; only "y" (any case) confirms, and end of input declines.
 */
export async function confirm(message: string, input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stdout): Promise<boolean> {
  output.write(`${message} [y/N] `);
  const rl = createInterface({ input, terminal: false });
  try {
    for await (const line of rl) return line.trim().toLowerCase() === 'y';
    return false;
  } finally {
    rl.close();
  }
}
