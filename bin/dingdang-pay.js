#!/usr/bin/env node
// Entry of the `dingdang-pay` command. Runs the compiled CLI (built by
// `npm ci` through the `prepare` script); in a checkout without `dist/` it
// falls back to the TypeScript sources through tsx (a dev dependency).
import { existsSync } from 'node:fs';

const dist = new URL('../dist/cli/main.js', import.meta.url);
let mod;
if (existsSync(dist)) {
  mod = await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
// A guard for our own CLI processes only (the library never installs one in a
// user's process): what slips through a server's own handling is reported in
// one line and the process keeps serving; an unexpected failure of a command
// is one line and exit 1, never a stack trace.
const oneLine = (e) =>
  String(e instanceof Error ? e.message : e)
    .split('\n')[0]
    .slice(0, 300);
process.on('uncaughtException', (e) => console.error(`dingdang-pay: internal error, still running: ${oneLine(e)}`));
process.on('unhandledRejection', (e) => console.error(`dingdang-pay: internal error, still running: ${oneLine(e)}`));
try {
  process.exitCode = await mod.main(process.argv.slice(2));
} catch (e) {
  console.error(`dingdang-pay: ${oneLine(e)}`);
  process.exitCode = 1;
}
