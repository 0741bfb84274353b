#!/usr/bin/env node
// `npm test`: build with scripts/build.js (tsc, the speaker page bundle, the
// simulate scripts: the CLI and browser tests run the real bin), then run every
// test/**/*.test.ts with node's test runner through tsx, print the spec
// report, and close with one line "N passed, N failed, N skipped".
//
// Two phases: the ordinary suites two at a time, then the heavy ones (chaos,
// multi-process, browser, fuzz, test/package/: pack + install) one at a time, so that a 2-core machine is
// not asked to run two load tests against each other.
// With DINGDANG_NO_SKIP=1 (set by .ci/run) any skipped test fails the run.
// `npm test -- name` runs only the files whose path contains `name`.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const build = spawnSync(process.execPath, [join(root, 'scripts/build.js')], {
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
// Heavy suites (load, chaos, fuzz, browser, several processes, the package install) live in test/heavy/.
const HEAVY = /^test\/heavy\//;
const phases = [
  { name: 'suites', files: files.filter((f) => !HEAVY.test(f)), concurrency: 2 },
  { name: 'heavy suites, one at a time', files: files.filter((f) => HEAVY.test(f)), concurrency: 1 },
].filter((p) => p.files.length > 0);

const tmp = mkdtempSync(join(tmpdir(), 'ddp-test-'));
const totals = { pass: 0, fail: 0, skipped: 0 };
const skipLines = [];
let status = 0;
for (const [i, phase] of phases.entries()) {
  console.log(`\n== ${phase.name}: ${phase.files.length} files ==`);
  const tap = join(tmp, `report-${i}.tap`);
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${phase.concurrency}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...phase.files,
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '' } },
  );
  let text = '';
  try {
    text = readFileSync(tap, 'utf8');
  } catch {}
  const count = (k) => Number((text.match(new RegExp(`^# ${k} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
  totals.pass += count('pass');
  totals.fail += count('fail') + count('cancelled');
  totals.skipped += count('skipped') + count('todo');
  skipLines.push(...text.split('\n').filter((l) => /# SKIP/.test(l)));
  if (run.status !== 0) status = run.status ?? 1;
}
rmSync(tmp, { recursive: true, force: true });
if (totals.skipped && process.env.DINGDANG_NO_SKIP === '1') {
  console.log('\nSkipped tests are not allowed here (DINGDANG_NO_SKIP=1):');
  for (const l of skipLines) console.log('  ' + l.trim());
}
console.log(`\n${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
const bad = status !== 0 || totals.fail > 0 || totals.pass === 0 || (totals.skipped > 0 && process.env.DINGDANG_NO_SKIP === '1');
process.exit(bad ? 1 : 0);
