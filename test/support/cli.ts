/** The CLI's `main` in this process, its stdout and stderr captured: `{ code, out, err }`. */
import { main } from '../../src/cli/main.js';

export async function runCli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = { stdin: process.stdin, stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((err += s), true) } };
  const code = await main(argv, io as never);
  return { code, out, err };
}
