/**
 * The three small framework examples start as written (node --import tsx
 * examples/partner-*.ts) and answer a platform-signed create order and
 * delivery with skill-signed replies.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { randomNonce, validateJson, verifyRsa2, type MessageKind } from '../../src/protocol/index.js';
import { platform, signedRequest, skill } from '../support/partner-fixtures.js';

const root = new URL('../..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'ddp-examples-'));
writeFileSync(join(tmp, 'tsk.txt'), platform.publicKeyBase64 + '\n');
writeFileSync(join(tmp, 'skill.pem'), skill.privateKeyPem);
const live = new Set<ChildProcess>();

after(async () => {
  for (const c of live) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }
  rmSync(tmp, { recursive: true, force: true });
});

async function post<K extends MessageKind>(url: string, message: object, kind: K) {
  const req = signedRequest(JSON.stringify(message));
  const res = await fetch(url, {
    method: 'POST',
    headers: req.headers as Record<string, string>,
    body: new Uint8Array(req.rawBody),
    signal: AbortSignal.timeout(10_000),
  });
  const raw = Buffer.from(await res.arrayBuffer());
  assert.ok(verifyRsa2(raw, res.headers.get('authorization'), skill.publicKey).ok, 'reply signed with the skill key');
  const v = validateJson(kind, raw);
  assert.ok(v.ok);
  return v.value;
}

for (const name of ['partner-node-http', 'partner-express', 'partner-fastify']) {
  describe(`examples/${name}.ts`, () => {
    it('starts and sells ep35', async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(root, `examples/${name}.ts`)], {
        cwd: root,
        env: {
          ...process.env,
          NODE_OPTIONS: '',
          PORT: '0',
          DB: join(tmp, `${name}.db`),
          SKILL_ID: 'mySkill',
          TSK_PUBLIC_KEY: join(tmp, 'tsk.txt'),
          SKILL_PRIVATE_KEY: join(tmp, 'skill.pem'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      live.add(child);
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const lines = createInterface({ input: child.stdout });
      const base = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`not listening in 20 s: ${err}`)), 20_000);
        lines.on('line', (l) => {
          const m = /listening on (http:\/\/\S+)/.exec(l);
          if (m) {
            clearTimeout(t);
            resolve(m[1]!);
          }
        });
        child.once('exit', (code) => {
          clearTimeout(t);
          reject(new Error(`exited ${code}: ${err}`));
        });
      });
      const created = await post(
        `${base}/dingdang/create-order`,
        { skillId: 'mySkill', userToken: '用户A', details: [{ itemId: 'ep35', quantity: 1, amount: 200 }], totalAmt: 200, nonceStr: randomNonce() },
        'createOrderReply',
      );
      assert.equal(created.retCode, 'SUCCESS');
      const delivered = await post(
        `${base}/dingdang/deliver`,
        { skillId: 'mySkill', userToken: '用户A', transactionId: 'DD1', tradeNo: created.tradeNo, totalAmt: 200, nonceStr: randomNonce() },
        'deliverNotifyReply',
      );
      assert.equal(delivered.retCode, 'SUCCESS');
      const tampered = await post(
        `${base}/dingdang/create-order`,
        { skillId: 'mySkill', userToken: '用户B', details: [{ itemId: 'ep35', quantity: 1, amount: 1 }], totalAmt: 1, nonceStr: randomNonce() },
        'createOrderReply',
      );
      assert.deepEqual([tampered.retCode, tampered.retMsg], ['FAIL', 'price mismatch']);
    });
  });
}
