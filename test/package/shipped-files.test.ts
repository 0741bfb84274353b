/**
 * What the package needs at run time is found without the checkout's
 * extras: the shipped simulate scripts by name (and a file path still
 * wins), the build's copy of them in dist/, the page's statechart the build
 * writes, and the rule that decides when the prebuilt speaker bundle is
 * served instead of bundling in memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { resolveScript, shippedScripts, SHIPPED_SCRIPTS_DIR } from '../../src/cli/commands/simulate.js';
import { main } from '../../src/cli/main.js';
import { prebuiltBundlePath, prebuiltIsFresh, SPEAKER_BUNDLE_FILE } from '../../src/demo/bundle.js';
import { prebuiltStatechartPath, STATECHART_FILE, statechartJson } from '../../src/demo/statechart.js';

const root = new URL('../..', import.meta.url).pathname;

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  return { io: { stdin: new PassThrough(), stdout, stderr }, out: () => out, err: () => err };
}

test('the shipped scripts are src/demo/scripts/*.json, by name', () => {
  assert.equal(SHIPPED_SCRIPTS_DIR, join(root, 'src/demo/scripts/'));
  const names = shippedScripts();
  assert.deepEqual(
    names,
    readdirSync(join(root, 'src/demo/scripts'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort(),
  );
  for (const n of ['screen-success', 'screenless-success', 'cancel', 'already-owned']) assert.ok(names.includes(n), n);
  assert.equal(resolveScript('screen-success'), join(root, 'src/demo/scripts/screen-success.json'));
  assert.equal(resolveScript('screen-success.json'), join(root, 'src/demo/scripts/screen-success.json'));
});

test('--script: an existing file wins over a shipped name; neither is ENOENT naming the shipped scripts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddp-shipped-'));
  try {
    const own = join(dir, 'screen-success');
    writeFileSync(own, '{"steps":[]}');
    assert.equal(resolveScript(own), own);
    for (const bad of ['no-such-script', '../scripts/screen-success', join(dir, 'nope.json'), dir]) {
      assert.throws(
        () => resolveScript(bad),
        (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && /no such file/.test(e.message) && /shipped: .*screen-success/.test(e.message),
        bad,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('simulate --help lists every shipped script; an unknown name exits 1 saying which exist', async () => {
  const help = io();
  assert.equal(await main(['simulate', '--help'], help.io), 0);
  const text = help.out().replace(/\s+/g, ' ');
  for (const n of shippedScripts()) assert.ok(text.includes(` ${n},`) || text.includes(` ${n} `), `--help lists ${n}`);
  const bad = io();
  assert.equal(await main(['simulate', '--script', 'screen-sucess'], bad.io), 1);
  assert.match(bad.err(), /no shipped script of that name \(shipped: already-owned, /);
});

test('the build copies the shipped scripts into dist/demo/scripts', () => {
  const src = readdirSync(join(root, 'src/demo/scripts')).sort();
  const dist = readdirSync(join(root, 'dist/demo/scripts')).sort();
  assert.deepEqual(dist, src);
});

test('the prebuilt speaker bundle is served only when no code file is newer (equal times count as fresh)', () => {
  assert.equal(prebuiltBundlePath(), join(root, 'dist/demo/web', SPEAKER_BUNDLE_FILE));
  const dir = mkdtempSync(join(tmpdir(), 'ddp-bundle-'));
  try {
    const file = join(dir, SPEAKER_BUNDLE_FILE);
    assert.equal(prebuiltIsFresh(file), false, 'missing');
    writeFileSync(file, '/* bundle */');
    const later = new Date(Date.now() + 3600_000);
    utimesSync(file, later, later);
    assert.equal(prebuiltIsFresh(file), true, 'newer than every source');
    utimesSync(file, new Date(0), new Date(0));
    assert.equal(prebuiltIsFresh(file), false, 'older than the sources');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the build writes the speaker page's statechart, as the generator gives it, into dist/demo/web", () => {
  assert.equal(prebuiltStatechartPath(), join(root, 'dist/demo/web', STATECHART_FILE));
  assert.equal(readFileSync(prebuiltStatechartPath(), 'utf8'), statechartJson());
});
