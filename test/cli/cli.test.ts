import { strict as assert } from 'node:assert';
import { describe, it, before, after } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTskDatetime, loadPrivateKey, parseTskDatetime, publicKeyToBase64 } from '../../src/protocol/index.js';

const BIN = new URL('../../bin/dingdang-pay.js', import.meta.url).pathname;
const cli = (args: string[], input = '') => {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const openssl = (args: string[], input?: Buffer) => spawnSync('openssl', args, { input, timeout: 30_000 });

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ddp-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const BODY = '{"skillId":"s1","tradeNo":"A1","nonceStr":"xyz","desc":"叮当 付费"}';

describe('dingdang-pay CLI', () => {
  it('keygen writes an RSA-2048 pair and the bare Base64 public key, and refuses to overwrite', () => {
    const r = cli(['keygen', '--out', join(dir, 'keys')]);
    assert.equal(r.code, 0, r.err);
    const priv = readFileSync(join(dir, 'keys/private_key.pem'), 'utf8');
    const pubPem = readFileSync(join(dir, 'keys/public_key.pem'), 'utf8');
    const pubTxt = readFileSync(join(dir, 'keys/public_key.txt'), 'utf8').trim();
    assert.match(priv, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(loadPrivateKey(priv).asymmetricKeyDetails?.modulusLength, 2048);
    assert.match(pubTxt, /^[A-Za-z0-9+/]+=*$/);
    assert.equal(publicKeyToBase64(pubPem), pubTxt);
    assert.equal(publicKeyToBase64(priv), pubTxt);
    assert.equal(statSync(join(dir, 'keys/private_key.pem')).mode & 0o777, 0o600);
    const again = cli(['keygen', '--out', join(dir, 'keys')]);
    assert.equal(again.code, 2);
    assert.match(again.err, /refusing to overwrite/);
    assert.equal(readFileSync(join(dir, 'keys/private_key.pem'), 'utf8'), priv, 'key untouched');
  });

  it('sign then verify round-trips, and verify names the failure', () => {
    const keys = join(dir, 'keys');
    const s = cli(['sign', '--key', join(keys, 'private_key.pem'), '--datetime', '2026-11-26T12:00:00Z'], BODY);
    assert.equal(s.code, 0, s.err);
    const header = s.out.trim();
    assert.match(header, /^TSK-RSA2 Datetime=20261126T120000Z, Signature=[A-Za-z0-9+/]+=*$/);
    const ok = cli(['verify', '--key', join(keys, 'public_key.txt'), '--authorization', header, '--now', '20261126T120100Z'], BODY);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.equal(ok.out.trim(), 'ok');
    const cases: Array<[string[], string, string]> = [
      [['--now', '20261126T120400Z'], BODY, 'stale'],
      [['--now', '20261126T115600Z'], BODY, 'future'],
      [['--now', '20261126T120000Z'], BODY + ' ', 'bad-signature'],
    ];
    for (const [extra, body, reason] of cases) {
      const r = cli(['verify', '--key', join(keys, 'public_key.pem'), '--authorization', header, ...extra], body);
      assert.equal(r.code, 1, reason);
      assert.match(r.out, new RegExp(`^${reason}: `));
    }
    const mal = cli(['verify', '--key', join(keys, 'public_key.pem'), '--authorization', 'nonsense'], BODY);
    assert.equal(mal.code, 1);
    assert.match(mal.out, /^malformed-header: /);
    const alg = cli(['verify', '--key', join(keys, 'public_key.pem'), '--authorization', header.replace('TSK-RSA2', 'TSK-HMAC-SHA256-BASIC')], BODY);
    assert.equal(alg.code, 1);
    assert.match(alg.out, /^algorithm-mismatch: /);
  });

  it('HMAC sign/verify with a secret file (one trailing newline ignored)', () => {
    const secretFile = join(dir, 'secret.txt');
    writeFileSync(secretFile, 'skill-secret-123\n');
    const s = cli(['sign', '--hmac', '--key', secretFile, '--datetime', '20170720T193559Z'], '{"skillId":"s1","transactionId":"T123","nonceStr":"abc"}');
    assert.equal(s.code, 0, s.err);
    assert.equal(s.out.trim(), 'TSK-HMAC-SHA256-BASIC Datetime=20170720T193559Z, Signature=85b9fc4472698bdecbbae285a7275553beb63ed96dea24431ab4a9ccf0fa1593');
    const v = cli(
      ['verify', '--hmac', '--key', secretFile, '--authorization', s.out.trim(), '--now', '20170720T193600Z'],
      '{"skillId":"s1","transactionId":"T123","nonceStr":"abc"}',
    );
    assert.equal(v.code, 0, v.out);
  });

  it('--help everywhere; unknown options, commands and missing flags are usage errors', () => {
    for (const args of [['--help'], ['keygen', '--help'], ['sign', '--help'], ['verify', '-h']]) {
      const r = cli(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.out, /Usage: dingdang-pay/);
    }
    assert.equal(cli([]).code, 2);
    const unknownCmd = cli(['frobnicate']);
    assert.equal(unknownCmd.code, 2);
    assert.match(unknownCmd.err, /unknown command "frobnicate"/);
    for (const args of [
      ['sign', '--nope'],
      ['verify', '--key', 'x', '--authorization', 'y', '--bogus'],
      ['keygen', 'extra'],
      ['sign'],
      ['verify', '--key', 'k'],
    ]) {
      const r = cli(args, BODY);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, /^dingdang-pay \S+: .* \(dingdang-pay \S+ --help shows the usage\)\n?$/, 'one line naming the command and --help');
    }
    const badDate = cli(['sign', '--key', join(dir, 'keys/private_key.pem'), '--datetime', 'yesterday'], BODY);
    assert.equal(badDate.code, 2);
    const missing = cli(['sign', '--key', join(dir, 'no-such-file.pem')], BODY);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no-such-file/);
  });
});

describe('interop with an independent implementation (openssl)', { skip: hasOpenssl ? false : 'install openssl (apt-get install openssl) to run this' }, () => {
  it('openssl signs, dingdang-pay verify accepts; a tampered body is refused', () => {
    const keys = join(dir, 'keys');
    const datetime = formatTskDatetime(Date.now());
    const content = Buffer.from(BODY + datetime);
    const sig = openssl(['dgst', '-sha256', '-sign', join(keys, 'private_key.pem')], content);
    assert.equal(sig.status, 0, sig.stderr?.toString());
    const header = `TSK-RSA2 Datetime=${datetime}, Signature=${sig.stdout.toString('base64')}`;
    const ok = cli(['verify', '--key', join(keys, 'public_key.txt'), '--authorization', header], BODY);
    assert.equal(ok.code, 0, ok.out);
    const bad = cli(['verify', '--key', join(keys, 'public_key.txt'), '--authorization', header], BODY.replace('A1', 'A2'));
    assert.equal(bad.code, 1);
  });

  it('dingdang-pay signs, openssl dgst -verify accepts; a tampered body is refused', () => {
    const keys = join(dir, 'keys');
    const s = cli(['sign', '--key', join(keys, 'private_key.pem')], BODY);
    assert.equal(s.code, 0, s.err);
    const m = /^TSK-RSA2 Datetime=(\d{8}T\d{6}Z), Signature=(\S+)$/.exec(s.out.trim());
    assert.ok(m);
    assert.ok(Math.abs(parseTskDatetime(m[1]!)! - Date.now()) < 60_000, 'signed now');
    const sigFile = join(dir, 'sig.bin');
    writeFileSync(sigFile, Buffer.from(m[2]!, 'base64'));
    const v = openssl(['dgst', '-sha256', '-verify', join(keys, 'public_key.pem'), '-signature', sigFile], Buffer.from(BODY + m[1]));
    assert.equal(v.status, 0, v.stdout.toString() + v.stderr.toString());
    assert.match(v.stdout.toString(), /Verified OK/);
    const t = openssl(['dgst', '-sha256', '-verify', join(keys, 'public_key.pem'), '-signature', sigFile], Buffer.from(BODY + ' ' + m[1]));
    assert.notEqual(t.status, 0);
  });

  it('HMAC equals openssl dgst -hmac over the same SigningContent', () => {
    const secretFile = join(dir, 'secret2.txt');
    writeFileSync(secretFile, 'another secret');
    const s = cli(['sign', '--hmac', '--key', secretFile, '--datetime', '20261126T120000Z'], BODY);
    const o = openssl(['dgst', '-sha256', '-hmac', 'another secret', '-r'], Buffer.from(BODY + '20261126T120000Z'));
    assert.equal(s.out.trim().split('Signature=')[1], o.stdout.toString().split(' ')[0]);
  });
});

it('the bin survives what slips through in a long-running command: one line on stderr, still serving', { timeout: 30_000 }, async () => {
  const { spawn } = await import('node:child_process');
  const { createInterface } = await import('node:readline');
  const binPath = new URL('../../bin/dingdang-pay.js', import.meta.url).pathname;
  // A stray throw and a stray rejection in the process, after it started serving.
  const inject = `data:text/javascript,setTimeout(()=>{throw new Error('stray throw')},300);setTimeout(()=>{Promise.reject(new Error('stray rejection'))},400)`;
  const child = spawn(process.execPath, ['--import', inject, binPath, 'example-skill', '--port', '0'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  try {
    const first = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no record: ${err}`)), 20_000);
      createInterface({ input: child.stdout }).once('line', (l) => (clearTimeout(t), resolve(l)));
    });
    const record = JSON.parse(first) as { url: string };
    const end = Date.now() + 10_000;
    while (!/stray rejection/.test(err) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.match(err, /^dingdang-pay: internal error, still running: stray throw$/m);
    assert.match(err, /^dingdang-pay: internal error, still running: stray rejection$/m);
    assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
    const r = await fetch(record.url, { signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 200, 'still serving');
    await r.arrayBuffer();
    assert.equal(child.exitCode, null);
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
});
