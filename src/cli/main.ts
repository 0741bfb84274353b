/**
 * `dingdang-pay` command line. Each command lives in its own module under
 * `commands/`, loaded only when used.
 */
import { DingDangPayError } from '../protocol/errors.js';
import { UsageError, write, type CliIO, type Command } from './io.js';

type Loader = () => Promise<Command>;

export const COMMANDS: Record<string, Loader> = {
  keygen: async () => (await import('./commands/keygen.js')).keygen,
  sign: async () => (await import('./commands/sign.js')).sign,
  verify: async () => (await import('./commands/verify.js')).verify,
  'example-skill': async () => (await import('./commands/example-skill.js')).exampleSkill,
  sandbox: async () => (await import('./commands/sandbox.js')).sandbox,
  demo: async () => (await import('./commands/demo.js')).demo,
  simulate: async () => (await import('./commands/simulate.js')).simulate,
  orderquery: async () => (await import('./commands/pay.js')).orderquery,
  refund: async () => (await import('./commands/pay.js')).refund,
  refundquery: async () => (await import('./commands/pay.js')).refundquery,
  reconcile: async () => (await import('./commands/reconcile.js')).reconcile,
};

async function help(): Promise<string> {
  const lines = ['Usage: dingdang-pay <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(14)} ${(await load()).summary}`);
  lines.push('', 'Run "dingdang-pay <command> --help" for the options of a command.');
  return lines.join('\n');
}

export async function main(argv: string[], io: CliIO = process): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    write(name === undefined ? io.stderr : io.stdout, await help());
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    write(io.stderr, `dingdang-pay: unknown command "${name.slice(0, 40)}" (dingdang-pay --help lists the commands)`);
    return 2;
  }
  const command = await load();
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      // One line: what was wrong and where the usage is (not the usage itself).
      write(io.stderr, `dingdang-pay ${name}: ${e.message.split('\n')[0]} (dingdang-pay ${name} --help shows the usage)`);
      return 2;
    }
    if (e instanceof DingDangPayError) {
      write(io.stderr, `dingdang-pay ${name}: ${e.code}: ${e.message}`);
      return 1;
    }
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      write(io.stderr, `dingdang-pay ${name}: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
}
