#!/usr/bin/env node
// `npm test`: build (the CLI tests run the real bin), then run every
// test/**/*.test.ts with node's test runner through tsx, print the spec
// report, and close with one line "N passed, N failed, N skipped".
// With DINGDANG_NO_SKIP=1 (set by .ci/run) any skipped test fails the run.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) {
  console.error('build failed');
  process.exit(1);
}

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}
const filter = process.argv.slice(2);
let files = collect(join(root, 'test'));
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));

const tmp = mkdtempSync(join(tmpdir(), 'ddp-test-'));
const tap = join(tmp, 'report.tap');
const run = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '' } },
);
let text = '';
try {
  text = readFileSync(tap, 'utf8');
} catch {}
rmSync(tmp, { recursive: true, force: true });
const count = (k) => Number((text.match(new RegExp(`^# ${k} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const skipped = count('skipped') + count('todo');
const skipLines = text.split('\n').filter((l) => /# SKIP/.test(l));
if (skipped && process.env.DINGDANG_NO_SKIP === '1') {
  console.log('\nSkipped tests are not allowed here (DINGDANG_NO_SKIP=1):');
  for (const l of skipLines) console.log('  ' + l.trim());
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
const bad = run.status !== 0 || failed > 0 || passed === 0 || (skipped > 0 && process.env.DINGDANG_NO_SKIP === '1');
process.exit(bad ? 1 : 0);
