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
process.exitCode = await mod.main(process.argv.slice(2));
