/**
 * The example skill's JSON line fed to the sandbox as its config, both
 * started through the real bin: a whole purchase with duplicated and late
 * delivery notifications (one delivery), the resume, then the partner's pay
 * client and requestRefund against the sandbox's /paycgi (signed both ways),
 * and the refund result notification landing in the skill's SQLite store.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { PayClient, PayRemoteError, requestRefund, SqlitePartnerStore } from '../../src/partner/index.js';
import { fixture, fixturePath } from '../support/helpers.js';

const root = new URL('../..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'ddp-skill-sbx-'));
const children = new Set<ChildProcess>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

after(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      let t: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (t = setTimeout(r, 5000)))]);
      clearTimeout(t);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

async function start(args: string[]) {
  const child = spawn(process.execPath, [join(root, 'bin/dingdang-pay.js'), ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  children.add(child);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const line = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${args[0]}: no JSON line in 20 s: ${err}`)), 20_000);
    createInterface({ input: child.stdout }).once('line', (l) => {
      clearTimeout(t);
      resolve(l);
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${args[0]} exited ${code}: ${err}`));
    });
  });
  return { child, info: JSON.parse(line) as Record<string, any>, stderr: () => err };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('example skill + sandbox, through the real CLI', () => {
  it('buys, delivers once, resumes, queries and refunds', async () => {
    const db = join(tmp, 'skill.db');
    const skill = await start([
      'example-skill',
      '--port',
      '0',
      '--db',
      db,
      '--skill-private-key',
      fixturePath('tsk-test-private.pem'),
      '--skill-id',
      'audiobookT',
    ]);
    const config = join(tmp, 'sandbox.json');
    writeFileSync(config, JSON.stringify({ skills: [skill.info] }));
    const sbx = await start(['sandbox', '--config', config, '--port', '0', '--time-scale', '0.0001']);
    skill.child.stdin.write(JSON.stringify({ tskPublicKey: sbx.info.tskPublicKey, payBaseUrl: sbx.info.url }) + '\n');
    await until('platform configured', async () => (/platform configured: true/.test(skill.stderr()) ? true : undefined));

    const api = sbx.info.controlUrl as string;
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(api + path, {
        method,
        // The ready line carries the run's control token.
        headers: { 'content-type': 'application/json', authorization: `Bearer ${sbx.info.controlToken as string}` },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(15_000),
      });
      const json = await r.json();
      assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
      return json;
    };

    await call('POST', '/faults', { duplicateDelivery: 4, lateDeliveryMs: 150 });
    const said = await call('POST', '/say', { text: '我要听万古神帝第35集', mode: 'screen' });
    assert.deepEqual(said.answer.outputSpeech, { type: 'PlainText', text: '这是付费内容，需要购买才能播放哦' });
    assert.equal(said.speech, '这是付费内容，需要购买才能播放哦');
    const charge = (said.answer.directives as any[]).find((d) => d.type === 'Connections.SendRequest' && d.name === 'Charge');
    assert.equal(charge.payload.chargeInfo.items[0].itemId, 'wgsd035');
    const pid = said.purchaseId as string;
    const placed = await call('POST', `/purchases/${pid}/order`);
    assert.equal(placed.kind, 'order');
    const { tradeNo, transactionId } = placed.order;
    await call('POST', `/purchases/${pid}/pay`, { outcome: 'success' });
    await until('delivery recorded', async () => {
      const n = await call('GET', '/notifications');
      const list = (n.notifications ?? n) as any[];
      return list.some((x) => x.kind === 'deliver' && x.transactionId === transactionId && x.state === 'delivered') ? true : undefined;
    });
    await sleep(400); // the late duplicate
    const resumed = await call('POST', `/purchases/${pid}/resume`);
    assert.equal(resumed.directives[0].type, 'AudioPlayer.Play');
    const calls = ((await call('GET', '/calls')).calls as any[]).filter((c) => c.kind === 'deliver' && String(c.body).includes(tradeNo));
    assert.ok(calls.length >= 5, `the platform sent duplicates (${calls.length})`);
    const hookRuns = skill
      .stderr()
      .split('\n')
      .filter((l) => l.includes(`deliver ${tradeNo}`));
    assert.equal(hookRuns.length, 1, `one delivery despite duplicates: ${hookRuns.join(' | ')}`);

    // The partner's side of /paycgi, against the sandbox.
    const pay = new PayClient({
      skillId: 'audiobookT',
      skillPrivateKey: fixture('tsk-test-private.pem'),
      tskPublicKey: sbx.info.tskPublicKey,
      baseUrl: sbx.info.url,
      timeoutMs: 5000,
    });
    const q = await pay.orderQuery({ tradeNo });
    assert.deepEqual([q.tradeStatus, q.transactionId, q.totalAmt], ['SUCCESS', transactionId, 200]);

    const store = new SqlitePartnerStore({ filename: db });
    await store.init();
    try {
      const r1 = await requestRefund({ store, pay }, { tradeNo, refundAmt: 50, refundTradeNo: 'RF1', refundDesc: '测试退款' });
      assert.match(r1.refundTransactionId ?? '', /^DR/);
      const again = await requestRefund({ store, pay }, { tradeNo, refundAmt: 50, refundTradeNo: 'RF1' });
      assert.equal(again.refundTransactionId, r1.refundTransactionId);
      const tooMuch = await requestRefund({ store, pay }, { tradeNo, refundAmt: 151, refundTradeNo: 'RF2' }).catch((e) => e);
      assert.equal(tooMuch.code, 'ERR_REFUND_EXCEEDS');
      // The platform enforces the bound too.
      const remote = await pay.refund({ tradeNo, refundTradeNo: 'RF3', totalAmt: 200, refundAmt: 151, refundDetails: [] }).catch((e) => e);
      assert.ok(remote instanceof PayRemoteError, String(remote));
      // The refund result notification reaches the skill and updates its store.
      const done = await until('refund SUCCESS in the skill store', async () => {
        const r = await store.getRefund('RF1');
        return r?.status === 'SUCCESS' ? r : undefined;
      });
      assert.equal(done.refundTransactionId, r1.refundTransactionId);
      const rq = await pay.refundQuery({ refundTradeNo: 'RF1' });
      assert.equal(rq.refundStatus, 'SUCCESS');
    } finally {
      await store.close();
    }
  });
});
