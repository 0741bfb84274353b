import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSandboxConfig, parseSandboxConfig } from '../../src/sandbox/config.js';
import { SandboxConfigError } from '../../src/sandbox/errors.js';
import { publicKeyToBase64, signRsa2, verifyRsa2 } from '../../src/protocol/tsk-node.js';
import { fixture, fixturePath } from '../support/helpers.js';

const pub = fixture('tsk-test-public.pem');
const skill = (extra: Record<string, unknown> = {}) => ({
  skillId: 'audiobook',
  skillEndpoint: 'http://127.0.0.1:9/skill',
  skillSecret: 's3cret',
  createOrderUrl: 'http://127.0.0.1:9/create',
  deliverUrl: 'http://127.0.0.1:9/deliver',
  skillPublicKey: pub,
  ...extra,
});

function configError(fn: () => unknown, path: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SandboxConfigError, String(e));
    assert.equal(e.code, 'ERR_SANDBOX_CONFIG');
    assert.equal(e.path, path);
    return true;
  });
}

test('keys as PEM, bare Base64 and file path all load; platform key generated when absent', () => {
  const a = parseSandboxConfig({ skills: [skill()] });
  assert.equal(a.generatedKey, true);
  const b = parseSandboxConfig({ skills: [skill({ skillPublicKey: publicKeyToBase64(pub) })] });
  assert.equal(publicKeyToBase64(b.skills[0]!.skillPublicKey), publicKeyToBase64(pub));
  const c = parseSandboxConfig({
    skills: [skill({ skillPublicKey: fixturePath('tsk-test-public.pem') })],
    platformPrivateKey: fixturePath('tsk-test-private.pem'),
  });
  assert.equal(c.generatedKey, false);
  assert.equal(c.tskPublicKey, publicKeyToBase64(pub));
  // the generated key really signs and its tskPublicKey verifies
  const h = signRsa2('{"x":1}', a.platformPrivateKey);
  assert.equal(verifyRsa2('{"x":1}', h, a.tskPublicKey).ok, true);
  assert.deepEqual(a.skills[0]!.utterances, []);
});

test('relative key paths resolve against the config file directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddp-sbcfg-'));
  try {
    writeFileSync(join(dir, 'skill.pub'), publicKeyToBase64(pub) + '\n');
    writeFileSync(join(dir, 'sandbox.json'), JSON.stringify({ skills: [skill({ skillPublicKey: 'skill.pub' })] }));
    const cfg = loadSandboxConfig(join(dir, 'sandbox.json'));
    assert.equal(publicKeyToBase64(cfg.skills[0]!.skillPublicKey), publicKeyToBase64(pub));
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    configError(() => loadSandboxConfig(join(dir, 'bad.json')), '');
    configError(() => loadSandboxConfig(join(dir, 'missing.json')), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validation names the offending field', () => {
  configError(() => parseSandboxConfig([]), '');
  configError(() => parseSandboxConfig({ skills: [] }), 'skills');
  assert.deepEqual(parseSandboxConfig({ skills: [skill({ url: 'http://x', skilId: 'typo' })], extra: 1 }).warnings, [
    'extra: unknown field, ignored',
    'skills[0].url: unknown field, ignored',
    'skills[0].skilId: unknown field, ignored',
  ]);
  configError(() => parseSandboxConfig({ skills: [skill({ skillId: 'x'.repeat(33) })] }), 'skills[0].skillId');
  configError(() => parseSandboxConfig({ skills: [skill({ skillSecret: '' })] }), 'skills[0].skillSecret');
  configError(() => parseSandboxConfig({ skills: [skill({ deliverUrl: 'ftp://x' })] }), 'skills[0].deliverUrl');
  configError(() => parseSandboxConfig({ skills: [skill({ createOrderUrl: undefined })] }), 'skills[0].createOrderUrl');
  configError(() => parseSandboxConfig({ skills: [skill({ refundNotifyUrl: 'not a url' })] }), 'skills[0].refundNotifyUrl');
  configError(() => parseSandboxConfig({ skills: [skill({ skillPublicKey: '/nonexistent/key.pem' })] }), 'skills[0].skillPublicKey');
  configError(() => parseSandboxConfig({ skills: [skill({ skillPublicKey: 'A'.repeat(64) })] }), 'skills[0].skillPublicKey');
  configError(() => parseSandboxConfig({ skills: [skill(), skill()] }), 'skills[1].skillId');
  configError(() => parseSandboxConfig({ skills: [skill({ utterances: [{ intent: 'play', samples: [] }] })] }), 'skills[0].utterances[0].samples');
  configError(() => parseSandboxConfig({ skills: [skill({ utterances: [{ intent: 'play', samples: ['听{album'] }] })] }), 'skills[0].utterances[0].samples[0]');
  configError(() => parseSandboxConfig({ skills: [skill()], platformPrivateKey: pub }), 'platformPrivateKey');
  const ok = parseSandboxConfig({ skills: [skill({ utterances: [{ intent: 'play', samples: ['我要听{album}'] }] })] });
  assert.equal(ok.skills[0]!.utterances[0]!.intent, 'play');
});

test('skill settings: invocationName, accountLinking, deviceMaker, responseTimeoutMs, strictSchema, slot kinds', () => {
  const d = parseSandboxConfig({ skills: [skill()] }).skills[0]!;
  assert.equal(d.invocationName, undefined);
  assert.equal(d.accountLinking, false);
  assert.equal(d.deviceMaker, false);
  assert.equal(d.responseTimeoutMs, 1000, 'the platform advises answering within 1000 ms');
  assert.equal(d.strictSchema, false);
  const cfg = parseSandboxConfig({
    skills: [
      skill({
        invocationName: ' 有声书 ',
        accountLinking: true,
        deviceMaker: true,
        responseTimeoutMs: 2500,
        strictSchema: true,
        utterances: [{ intent: 'play', samples: ['听第{n}集'], slots: { n: 'number', album: 'text' } }],
      }),
    ],
  });
  assert.deepEqual(cfg.warnings, []);
  const s = cfg.skills[0]!;
  assert.equal(s.invocationName, '有声书');
  assert.deepEqual([s.accountLinking, s.deviceMaker, s.responseTimeoutMs, s.strictSchema], [true, true, 2500, true]);
  assert.deepEqual(s.utterances[0]!.slots, { n: 'number', album: 'text' });
  configError(() => parseSandboxConfig({ skills: [skill({ invocationName: '' })] }), 'skills[0].invocationName');
  configError(() => parseSandboxConfig({ skills: [skill({ accountLinking: 'yes' })] }), 'skills[0].accountLinking');
  configError(() => parseSandboxConfig({ skills: [skill({ deviceMaker: 1 })] }), 'skills[0].deviceMaker');
  configError(() => parseSandboxConfig({ skills: [skill({ strictSchema: null })] }), 'skills[0].strictSchema');
  configError(() => parseSandboxConfig({ skills: [skill({ responseTimeoutMs: 0 })] }), 'skills[0].responseTimeoutMs');
  configError(() => parseSandboxConfig({ skills: [skill({ responseTimeoutMs: 1.5 })] }), 'skills[0].responseTimeoutMs');
  configError(
    () => parseSandboxConfig({ skills: [skill({ utterances: [{ intent: 'p', samples: ['x'], slots: { n: 'date' } }] })] }),
    'skills[0].utterances[0].slots.n',
  );
  configError(() => parseSandboxConfig({ skills: [skill({ utterances: [{ intent: 'p', samples: ['x'], slots: [] }] })] }), 'skills[0].utterances[0].slots');
  configError(
    () => parseSandboxConfig({ skills: [skill({ invocationName: '有声书' }), skill({ skillId: 'other', invocationName: '有声书' })] }),
    'skills[1].invocationName',
  );
});
