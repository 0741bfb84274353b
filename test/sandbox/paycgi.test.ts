/**
 * The sandbox's /paycgi/* through real HTTP, every rule of the seed: required
 * fields, either-or, lengths, charset, refund bounds, repeated refundTradeNo,
 * unpaid orders, forged / stale / replayed requests → signed FAIL and no
 * state change; replies always signed with the platform key.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTskDatetime } from '../../src/protocol/tsk.js';
import { generateTskKeyPair, signHmac } from '../../src/protocol/tsk-node.js';
import { validate } from '../../src/protocol/validate.js';
import { api, controlHeaders, nonce, orderOf, postSigned, SKILL_ID, startPair, tradeStatusOf, until, within } from '../support/sandbox.js';

let pair: Awaited<ReturnType<typeof startPair>>;
let base: string;
const other = generateTskKeyPair();

before(async () => {
  pair = await startPair({ refundDelayMs: 3_000_000 }); // 300 ms at scale 0.0001
  base = pair.sandbox.url;
});
after(async () => {
  await pair?.close();
});

let episode = 1;
/** An order through the platform: utterance → Charge → create order → DingDang order (→ paid). */
async function order(pay: boolean): Promise<{ transactionId: string; tradeNo: string; totalAmt: number }> {
  const said = await api(base).say({ text: `我要听万古神帝第${episode++}集`, userId: `u${episode}` });
  assert.ok(said.purchaseId, 'the skill answered with a Charge');
  const o = orderOf(await api(base).placeOrder(said.purchaseId));
  if (pay) {
    assert.equal(tradeStatusOf(await api(base).payOrder(o.transactionId, 'success')), 'SUCCESS');
  }
  return o;
}

const cgi = (name: string) => `${base}/paycgi/${name}`;

function assertFail(r: Awaited<ReturnType<typeof postSigned>>, retMsg: string | RegExp) {
  assert.equal(r.status, 200);
  assert.equal(r.verified, true, 'FAIL replies are signed with the platform key');
  assert.equal(r.json.retCode, 'FAIL', r.raw);
  if (typeof retMsg === 'string') assert.equal(r.json.retMsg, retMsg);
  else assert.match(r.json.retMsg, retMsg);
  assert.ok(Array.from(r.json.retMsg as string).length <= 32, 'retMsg ≤ 32');
  assert.equal(validate('orderQueryReply', r.json).ok, true);
}

describe('/paycgi/orderquery', () => {
  test('either transactionId or tradeNo or both; signed, valid SUCCESS reply', async () => {
    const o = await order(false);
    for (const ids of [{ transactionId: o.transactionId }, { tradeNo: o.tradeNo }, { transactionId: o.transactionId, tradeNo: o.tradeNo }]) {
      const r = await postSigned(cgi('orderquery'), { skillId: SKILL_ID, ...ids, nonceStr: nonce(), futureField: { x: 1 } });
      assert.equal(r.verified, true);
      assert.equal(r.json.retCode, 'SUCCESS', r.raw);
      assert.equal(r.json.transactionId, o.transactionId);
      assert.equal(r.json.tradeNo, o.tradeNo);
      assert.equal(r.json.totalAmt, 200);
      assert.equal(r.json.tradeStatus, 'NOTPAY');
      assert.equal(r.json.tradeStatusDesc, '未支付');
      assert.equal(validate('orderQueryReply', r.json).ok, true);
    }
    await api(base).payOrder(o.transactionId, 'success');
    const paid = await postSigned(cgi('orderquery'), { skillId: SKILL_ID, tradeNo: o.tradeNo, version: '1.0', nonceStr: nonce() });
    assert.equal(paid.json.tradeStatus, 'SUCCESS');
  });

  test('rules: either-or, required, lengths, charset, mismatched ids, unknown order / skill', async () => {
    const o = await order(false);
    const a = await order(false);
    const q = (body: Record<string, unknown>) => postSigned(cgi('orderquery'), { skillId: SKILL_ID, nonceStr: nonce(), ...body });
    assertFail(await q({}), 'id missing');
    assertFail(await q({ transactionId: 'x'.repeat(33) }), 'transactionId too long');
    assertFail(await q({ tradeNo: 'T-1' }), 'tradeNo bad characters');
    assertFail(await q({ tradeNo: 'x'.repeat(33) }), 'tradeNo too long');
    assertFail(await q({ tradeNo: o.tradeNo, version: '1.0.0.0' }), 'version too long');
    assertFail(await q({ tradeNo: o.tradeNo, nonceStr: 'n'.repeat(33) }), 'nonceStr too long');
    assertFail(await q({ tradeNo: o.tradeNo, nonceStr: undefined }), 'nonceStr missing');
    assertFail(await q({ transactionId: 12345 }), 'transactionId wrong type');
    assertFail(await q({ transactionId: o.transactionId, tradeNo: a.tradeNo }), 'ids name different orders');
    assertFail(await q({ transactionId: 'DD0000' }), 'order not found');
    assertFail(await q({ tradeNo: 'nosuchtrade' }), 'order not found');
    assertFail(await postSigned(cgi('orderquery'), { transactionId: o.transactionId, nonceStr: nonce() }), 'skillId missing');
    assertFail(await postSigned(cgi('orderquery'), { skillId: 'x'.repeat(33), transactionId: o.transactionId, nonceStr: nonce() }), 'unknown skillId');
    assertFail(await postSigned(cgi('orderquery'), { skillId: 'nosuchskill', transactionId: o.transactionId, nonceStr: nonce() }), 'unknown skillId');
    assertFail(await postSigned(cgi('orderquery'), '{"skillId": '), 'body is not JSON');
    assertFail(await postSigned(cgi('orderquery'), '[1,2]'), 'skillId missing');
  });

  test('forged, tampered, stale, future, unsigned, wrong algorithm and replayed requests are refused', async () => {
    const o = await order(false);
    const body = { skillId: SKILL_ID, transactionId: o.transactionId, nonceStr: nonce() };
    assertFail(await postSigned(cgi('orderquery'), body, { key: other.privateKeyPem }), 'signature: bad-signature');
    const raw = JSON.stringify(body);
    const good = (await import('../../src/protocol/tsk-node.js')).signRsa2(raw, (await import('../support/sandbox.js')).SKILL_PRIVATE);
    assertFail(await postSigned(cgi('orderquery'), raw.replace(o.transactionId, o.transactionId + ' '), { authorization: good }), 'signature: bad-signature');
    assertFail(
      await postSigned(cgi('orderquery'), { ...body, nonceStr: nonce() }, { datetime: formatTskDatetime(Date.now() - 4 * 60_000) }),
      'signature: stale',
    );
    assertFail(
      await postSigned(cgi('orderquery'), { ...body, nonceStr: nonce() }, { datetime: formatTskDatetime(Date.now() + 4 * 60_000) }),
      'signature: future',
    );
    assertFail(await postSigned(cgi('orderquery'), { ...body, nonceStr: nonce() }, { authorization: null }), 'signature: malformed-header');
    assertFail(await postSigned(cgi('orderquery'), { ...body, nonceStr: nonce() }, { authorization: 'TSK-RSA2 garbage' }), 'signature: malformed-header');
    const b2 = JSON.stringify({ ...body, nonceStr: nonce() });
    assertFail(await postSigned(cgi('orderquery'), b2, { authorization: signHmac(b2, 'secret') }), 'signature: algorithm-mismatch');
    // inside the ±3 minute window is fine
    const ok = await postSigned(cgi('orderquery'), { ...body, nonceStr: nonce() }, { datetime: formatTskDatetime(Date.now() - 2 * 60_000) });
    assert.equal(ok.json.retCode, 'SUCCESS');
    // replay: same nonce again, freshly signed
    const once = { ...body, nonceStr: nonce() };
    assert.equal((await postSigned(cgi('orderquery'), once)).json.retCode, 'SUCCESS');
    assertFail(await postSigned(cgi('orderquery'), once), 'signature: replay');
  });
});

describe('/paycgi/refund and /paycgi/refundquery', () => {
  const refund = (o: { transactionId: string; totalAmt: number }, extra: Record<string, unknown> = {}) =>
    postSigned(cgi('refund'), {
      skillId: SKILL_ID,
      transactionId: o.transactionId,
      refundTradeNo: `R${nonce().slice(0, 20)}`,
      totalAmt: o.totalAmt,
      refundAmt: 100,
      refundDetails: [{ itemId: 'ep1', quantity: 1, amount: 100 }],
      nonceStr: nonce(),
      ...extra,
    });
  const refundCount = async () => (await api(base).refunds()).length;

  test('partial refunds bounded by what was paid; repeated refundTradeNo returns the existing refund', async () => {
    const o = await order(true);
    const first = await refund(o, { refundTradeNo: 'RA1', refundAmt: 120, refundDesc: '用户申请退款' });
    assert.equal(first.verified, true);
    assert.equal(first.json.retCode, 'SUCCESS', first.raw);
    assert.equal(validate('refundReply', first.json).ok, true);
    assert.equal(first.json.refundAmt, 120);
    assert.equal(first.json.totalAmt, 200);
    assert.equal(first.json.tradeNo, o.tradeNo);
    assert.match(first.json.refundTransactionId, /^DR/);
    const again = await refund(o, { refundTradeNo: 'RA1', refundAmt: 120 });
    assert.equal(again.json.retCode, 'SUCCESS');
    assert.equal(again.json.refundTransactionId, first.json.refundTransactionId);
    assertFail(await refund(o, { refundTradeNo: 'RA1', refundAmt: 10 }), 'refundTradeNo already used');
    assertFail(await refund(o, { refundTradeNo: 'RA2', refundAmt: 81 }), 'refundAmt exceeds paid amount');
    const second = await refund(o, { refundTradeNo: 'RA2', refundAmt: 80, transactionId: undefined, tradeNo: o.tradeNo });
    assert.equal(second.json.retCode, 'SUCCESS', second.raw);
    assertFail(await refund(o, { refundTradeNo: 'RA3', refundAmt: 1 }), 'refundAmt exceeds paid amount');
    const refunds = (await api(base).refunds()).filter((r) => r.transactionId === o.transactionId);
    assert.equal(refunds.length, 2);
  });

  test('only a paid order is refundable; field rules; no state change on refusal', async () => {
    const unpaid = await order(false);
    const paid = await order(true);
    const before = await refundCount();
    assertFail(await refund(unpaid), 'order not paid');
    assertFail(await refund(paid, { totalAmt: 300 }), 'totalAmt mismatch');
    assertFail(await refund(paid, { refundAmt: 201 }), 'refundAmt exceeds total');
    assertFail(await refund(paid, { refundAmt: 0 }), 'refundAmt too small');
    assertFail(await refund(paid, { refundAmt: 1.5 }), 'refundAmt not integer fen');
    assertFail(await refund(paid, { refundAmt: -1 }), /refundAmt (negative|too small)/);
    assertFail(await refund(paid, { refundAmt: '100' }), 'refundAmt wrong type');
    assertFail(await refund(paid, { refundDesc: '因'.repeat(65) }), 'refundDesc too long');
    assertFail(await refund(paid, { refundTradeNo: 'R_1' }), 'refundTradeNo bad characters');
    assertFail(await refund(paid, { refundTradeNo: 'R'.repeat(33) }), 'refundTradeNo too long');
    assertFail(await refund(paid, { refundTradeNo: undefined }), 'refundTradeNo missing');
    assertFail(await refund(paid, { refundDetails: undefined }), 'refundDetails missing');
    assertFail(await refund(paid, { refundDetails: [{ itemId: 'ep1', quantity: 0, amount: 100 }] }), 'refundDetails.quantity too small');
    assertFail(await refund(paid, { transactionId: undefined }), 'id missing');
    assertFail(await refund(paid, { totalAmt: undefined }), 'totalAmt missing');
    assertFail(await refund(paid, { version: '123456' }), 'version too long');
    // forged / stale / replayed refunds change nothing
    assertFail(
      await postSigned(
        cgi('refund'),
        { skillId: SKILL_ID, transactionId: paid.transactionId, refundTradeNo: 'RF1', totalAmt: 200, refundAmt: 50, refundDetails: [], nonceStr: nonce() },
        { key: other.privateKeyPem },
      ),
      'signature: bad-signature',
    );
    assertFail(
      await postSigned(
        cgi('refund'),
        { skillId: SKILL_ID, transactionId: paid.transactionId, refundTradeNo: 'RF2', totalAmt: 200, refundAmt: 50, refundDetails: [], nonceStr: nonce() },
        { datetime: formatTskDatetime(Date.now() - 10 * 60_000) },
      ),
      'signature: stale',
    );
    assert.equal(await refundCount(), before, 'no refund was recorded');
    const n = nonce();
    const ok = await refund(paid, { refundTradeNo: 'RB1', refundAmt: 50, nonceStr: n });
    assert.equal(ok.json.retCode, 'SUCCESS');
    assertFail(await refund(paid, { refundTradeNo: 'RB2', refundAmt: 50, nonceStr: n }), 'signature: replay');
    assert.equal(await refundCount(), before + 1, 'the replay recorded nothing');
    const q = await postSigned(cgi('orderquery'), { skillId: SKILL_ID, transactionId: paid.transactionId, nonceStr: nonce() });
    assert.equal(q.json.tradeStatus, 'SUCCESS', 'a refund leaves the trade status as paid');
  });

  test('refundquery: either id, PROCESSING then SUCCESS; rules', async () => {
    const o = await order(true);
    const r = await refund(o, { refundTradeNo: 'RQ1', refundAmt: 200 });
    assert.equal(r.json.retCode, 'SUCCESS');
    const rq = (body: Record<string, unknown>) => postSigned(cgi('refundquery'), { skillId: SKILL_ID, nonceStr: nonce(), ...body });
    const q1 = await rq({ refundTradeNo: 'RQ1' });
    assert.equal(q1.verified, true);
    assert.equal(q1.json.retCode, 'SUCCESS', q1.raw);
    assert.equal(q1.json.refundStatus, 'PROCESSING');
    assert.equal(q1.json.refundStatusDesc, '退款中');
    assert.equal(validate('refundQueryReply', q1.json).ok, true);
    const done = await until(
      async () => {
        const q = await rq({ refundTransactionId: r.json.refundTransactionId });
        return q.json.refundStatus === 'SUCCESS' ? q : undefined;
      },
      5000,
      'refund SUCCESS',
    );
    assert.equal(done.json.refundTradeNo, 'RQ1');
    assert.equal(done.json.refundAmt, 200);
    assert.equal(done.json.refundStatusDesc, '退款成功');
    const both = await rq({ refundTradeNo: 'RQ1', refundTransactionId: r.json.refundTransactionId });
    assert.equal(both.json.retCode, 'SUCCESS');
    assertFail(await rq({}), 'id missing');
    assertFail(await rq({ refundTradeNo: 'nosuch' }), 'refund not found');
    assertFail(await rq({ refundTradeNo: 'R-1' }), 'refundTradeNo bad characters');
    assertFail(await rq({ refundTransactionId: 'x'.repeat(33) }), 'refundTransactionId too long');
    assertFail(await postSigned(cgi('refundquery'), { skillId: 'other', refundTradeNo: 'RQ1', nonceStr: nonce() }), 'unknown skillId');
  });
});

test('clock skew fault: replies are signed with the skewed platform clock', async () => {
  const o = await order(false);
  await api(base).setFaults({ clockSkewMs: 10 * 60_000 });
  try {
    const r = await postSigned(cgi('orderquery'), { skillId: SKILL_ID, transactionId: o.transactionId, nonceStr: nonce() });
    assert.equal(r.json.retCode, 'SUCCESS');
    assert.equal(r.verified, false, 'a partner sees a reply from the future');
    const { verifyRsa2 } = await import('../../src/protocol/tsk-node.js');
    assert.equal(verifyRsa2(r.raw, r.authorization, pair.keys.publicKeyBase64, { now: Date.now() + 10 * 60_000 }).ok, true);
  } finally {
    await api(base).clearFaults();
  }
  const r2 = await postSigned(cgi('orderquery'), { skillId: SKILL_ID, transactionId: o.transactionId, nonceStr: nonce() });
  assert.equal(r2.verified, true);
});

test('every pay-CGI request is logged with its answer (GET /sandbox/v1/inbound) and streamed (/sandbox/v1/events)', async () => {
  const ac = new AbortController();
  const events = await fetch(`${base}/sandbox/v1/events`, { signal: ac.signal, headers: controlHeaders(base) });
  assert.equal(events.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = events.body!.getReader();
  let text = '';
  const o = await order(false);
  const r = await postSigned(cgi('orderquery'), { skillId: SKILL_ID, tradeNo: o.tradeNo, nonceStr: nonce() });
  assert.equal(r.json.retCode, 'SUCCESS');
  await postSigned(cgi('refund'), { skillId: SKILL_ID, tradeNo: o.tradeNo, nonceStr: nonce() });
  const log = (await api(base).inbound()).slice(-2);
  assert.deepEqual(
    log.map((x) => [x.kind, x.skillId, x.retCode, x.retMsg]),
    [
      ['orderquery', SKILL_ID, 'SUCCESS', undefined],
      ['refund', SKILL_ID, 'FAIL', 'refundTradeNo missing'],
    ],
  );
  try {
    await until(
      async () => {
        const { value } = await within(reader.read(), 3000, 'an event');
        text += new TextDecoder().decode(value);
        return /event: inbound\ndata: .*"retCode":"FAIL"/.test(text);
      },
      5000,
      'inbound events',
    );
    assert.match(text, /event: purchase\n/);
    assert.match(text, /event: call\ndata: .*"kind":"createOrder"/);
    assert.match(text, /event: status\ndata: .*"tradeStatus":"NOTPAY"/);
  } finally {
    ac.abort();
  }
});
