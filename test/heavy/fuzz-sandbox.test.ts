/**
 * Fuzzing the sandbox platform's /paycgi/orderquery, /paycgi/refund and
 * /paycgi/refundquery over loopback: field mutations and byte edits of valid
 * requests, random bytes and JSON, every way of breaking the signature.
 *
 * For every request: no crash, no 5xx, the reply is signed with the platform
 * key over its exact bytes and is a valid reply, `retMsg` ≤ 32 characters, a
 * FAIL leaves the order book (orders and refunds) exactly as it was, a badly
 * signed request always FAILs.
 * DINGDANG_FUZZ_RUNS=5000 for a longer run (DINGDANG_FUZZ_SEED to replay).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { generateTskKeyPair, randomNonce, validateJson, verifyRsa2, type MessageKind } from '../../src/protocol/index.js';
import { control, platformKeys, SKILL_ID, SKILL_PRIVATE, startPair } from '../support/sandbox.js';
import {
  applyEdits,
  byteEdits,
  charLength,
  check,
  fuzzParams,
  fuzzTimeout,
  garbageHeader,
  mutate,
  mutation,
  post,
  signAs,
  signMode,
  type Json,
} from '../support/fuzz-common.js';

type Cgi = 'orderquery' | 'refund' | 'refundquery';
const REPLY_KIND: Record<Cgi, MessageKind> = { orderquery: 'orderQueryReply', refund: 'refundReply', refundquery: 'refundQueryReply' };
const REQUEST_KIND: Record<Cgi, MessageKind> = { orderquery: 'orderQueryRequest', refund: 'refundRequest', refundquery: 'refundQueryRequest' };

let pair: Awaited<ReturnType<typeof startPair>>;
const other = generateTskKeyPair();
interface Paid {
  transactionId: string;
  tradeNo: string;
  totalAmt: number;
}
const paid: Paid[] = [];
let unpaid: Paid;
let knownRefund: { refundTradeNo: string; tradeNo: string };
const tally = { SUCCESS: 0, FAIL: 0 };
let episode = 1;

async function order(pay: boolean): Promise<Paid> {
  const base = pair.sandbox.url;
  const said = await control(base, 'POST', '/say', { text: `我要听万古神帝第${episode++}集`, userId: `fz${episode}` });
  assert.ok(said.json.purchaseId, JSON.stringify(said.json));
  const placed = await control(base, 'POST', `/purchases/${said.json.purchaseId}/order`);
  const o = placed.json.order as Paid;
  if (pay) assert.equal((await control(base, 'POST', `/orders/${o.transactionId}/pay`, { outcome: 'success' })).json.tradeStatus, 'SUCCESS');
  return o;
}

const snapshot = () => JSON.stringify([pair.sandbox.platform.book.list(), pair.sandbox.platform.book.listRefunds()]);

function template(cgi: Cgi, pick: number): Record<string, Json> {
  const o = pick % 4 === 3 ? unpaid : paid[pick % paid.length]!;
  const nonceStr = randomNonce();
  if (cgi === 'orderquery')
    return pick % 2 ? { skillId: SKILL_ID, transactionId: o.transactionId, nonceStr } : { skillId: SKILL_ID, tradeNo: o.tradeNo, nonceStr };
  if (cgi === 'refundquery') return { skillId: SKILL_ID, refundTradeNo: knownRefund.refundTradeNo, nonceStr };
  return {
    skillId: SKILL_ID,
    transactionId: o.transactionId,
    refundTradeNo: 'RF' + randomNonce(20),
    totalAmt: o.totalAmt,
    refundAmt: 1,
    refundDetails: [{ itemId: 'ep1', quantity: 1, amount: 1 }],
    nonceStr,
  };
}

type BodyPlan =
  | { kind: 'template'; pick: number; mutations: Array<ReturnType<typeof mutation.generate>['value']> }
  | { kind: 'edited'; pick: number; edits: Array<[number, number, string]> }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'json'; value: unknown };

const bodyPlan: fc.Arbitrary<BodyPlan> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('template' as const), pick: fc.nat(), mutations: fc.array(mutation, { maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('edited' as const), pick: fc.nat(), edits: byteEdits }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('json' as const), value: fc.jsonValue({ maxDepth: 3 }) }) },
);

async function fuzzCgi(cgi: Cgi, runs: number) {
  await check(
    fc.asyncProperty(bodyPlan, signMode, garbageHeader, async (plan, mode, garbage) => {
      let text: Buffer;
      if (plan.kind === 'template') text = Buffer.from(JSON.stringify(mutate(template(cgi, plan.pick), plan.mutations)));
      else if (plan.kind === 'edited') text = Buffer.from(applyEdits(JSON.stringify(template(cgi, plan.pick)), plan.edits));
      else if (plan.kind === 'bytes') text = Buffer.from(plan.bytes);
      else text = Buffer.from(JSON.stringify(plan.value) ?? '');
      const req = signAs(mode, text, SKILL_PRIVATE, other.privateKey, garbage);

      const beforeState = snapshot();
      const res = await post(`${pair.sandbox.url}/paycgi/${cgi}`, req.body, req.headers);
      assert.ok(res.status < 500, `no 5xx (got ${res.status}: ${res.body.toString().slice(0, 80)})`);
      assert.equal(res.status, 200);
      const auth = res.headers.authorization;
      assert.equal(typeof auth, 'string', 'reply is signed');
      const v = verifyRsa2(res.body, auth, platformKeys().publicKey);
      assert.ok(v.ok, `reply verifies with the platform public key: ${v.ok ? '' : v.message}`);
      const parsed = validateJson(REPLY_KIND[cgi], res.body);
      assert.ok(parsed.ok, `reply is a valid ${REPLY_KIND[cgi]}: ${res.body.toString()}`);
      const reply = parsed.value as { retCode: 'SUCCESS' | 'FAIL'; retMsg?: string };
      if (reply.retMsg !== undefined) assert.ok(charLength(reply.retMsg) <= 32, `retMsg ≤ 32: ${reply.retMsg}`);
      tally[reply.retCode]++;

      if (mode !== 'good') assert.equal(reply.retCode, 'FAIL', `a request signed "${mode}" is refused`);
      const intact = plan.kind === 'template' && plan.mutations.every((m) => m.op === 'none' || m.op === 'add');
      const exhausted = cgi === 'refund' && reply.retMsg === 'refundAmt exceeds paid amount'; // long runs refund 1 fen at a time
      if (mode === 'good' && intact && !(cgi === 'refund' && plan.pick % 4 === 3) && !exhausted)
        assert.equal(reply.retCode, 'SUCCESS', `an intact, well-signed ${cgi} is accepted: ${JSON.stringify(reply)}`);
      if (reply.retCode === 'FAIL') {
        assert.equal(snapshot(), beforeState, `FAIL "${reply.retMsg}" left the order book unchanged`);
        return;
      }
      assert.ok(validateJson(REQUEST_KIND[cgi], req.body).ok, 'only a valid request is accepted');
      if (cgi !== 'refund') assert.equal(snapshot(), beforeState, 'a query changes nothing');
    }),
    fuzzParams(runs),
  );
}

describe('fuzz: sandbox /paycgi endpoints', () => {
  before(async () => {
    pair = await startPair({ timeScale: 1, refundDelayMs: 3_600_000 });
    for (let i = 0; i < 3; i++) paid.push(await order(true));
    unpaid = await order(false);
    // Wait for the deliveries of the paid orders to settle before taking snapshots.
    const end = Date.now() + 10_000;
    while (pair.backend.of('/deliver').length < paid.length && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const p = paid[0]!;
    const refundTradeNo = 'RFSEED' + randomNonce(10);
    const body = Buffer.from(
      JSON.stringify({
        skillId: SKILL_ID,
        transactionId: p.transactionId,
        refundTradeNo,
        totalAmt: p.totalAmt,
        refundAmt: 1,
        refundDetails: [{ itemId: 'ep1', quantity: 1, amount: 1 }],
        nonceStr: randomNonce(),
      }),
    );
    const seeded = await post(`${pair.sandbox.url}/paycgi/refund`, body, signAs('good', body, SKILL_PRIVATE, other.privateKey, '').headers);
    assert.equal(JSON.parse(seeded.body.toString()).retCode, 'SUCCESS', seeded.body.toString());
    knownRefund = { refundTradeNo, tradeNo: p.tradeNo };
  });
  after(async () => {
    await pair?.close();
  });

  it('/paycgi/orderquery', { timeout: fuzzTimeout(120) }, () => fuzzCgi('orderquery', 100));
  it('/paycgi/refund', { timeout: fuzzTimeout(120) }, () => fuzzCgi('refund', 100));
  it('/paycgi/refundquery', { timeout: fuzzTimeout(120) }, () => fuzzCgi('refundquery', 100));
  it('the fuzzer reached both outcomes', () => {
    assert.ok(tally.SUCCESS > 0 && tally.FAIL > 0, JSON.stringify(tally));
  });
});
