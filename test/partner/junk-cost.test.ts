/**
 * Junk is cheap: refusing an unauthenticated or malformed request to a
 * partner endpoint or to the sandbox's pay CGI signs at most one FAIL per
 * second per distinct refusal (the rest are the same bytes from the cache),
 * and a legitimate request still gets its own fresh signature. Counted by
 * structure (signatures computed), with a fixed clock inside one second.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { formatTskDatetime, randomNonce, signRsa2, verifyRsa2 } from '../../src/protocol/index.js';
import { catalogFrom, createPartnerHandlers, MemoryPartnerStore, type PartnerRequest } from '../../src/partner/index.js';
import { failReplyStats } from '../../src/partner/make-handler.js';
import { CATALOG, createOrderBody, platform, readReply, signedRequest, skill, SKILL_ID } from '../support/partner-fixtures.js';
import { nonce, SKILL_ID as SANDBOX_SKILL, SKILL_PRIVATE, startPair } from '../support/sandbox.js';

const T0 = Date.parse('2026-12-02T04:00:00.000Z');

/** Kinds of junk, each a distinct refusal. */
function junk(i: number): PartnerRequest[] {
  const body = Buffer.from(JSON.stringify(createOrderBody({ nonceStr: `n${i}` })));
  return [
    { headers: {}, rawBody: body }, // no Authorization
    { headers: { authorization: 'garbage' }, rawBody: body }, // malformed header
    { headers: { authorization: `TSK-HMAC-SHA256-BASIC Datetime=${formatTskDatetime(T0)}, Signature=${'0'.repeat(64)}` }, rawBody: body },
    { headers: { authorization: signRsa2(body, skill.privateKey, { datetime: formatTskDatetime(T0) }) }, rawBody: body }, // wrong key
    { headers: { authorization: signRsa2(body, platform.privateKey, { datetime: formatTskDatetime(T0 - 3_600_000) }) }, rawBody: body }, // stale
    { headers: { authorization: `TSK-RSA2 Datetime=${formatTskDatetime(T0)}, Signature=${'A'.repeat(i % 50)}` }, rawBody: Buffer.from([0xff, 0xfe, i & 0xff]) },
  ];
}

describe('partner endpoints: refusals reuse their signature within the second', () => {
  let now = T0 + 100;
  const h = createPartnerHandlers({
    skillId: SKILL_ID,
    tskPublicKey: platform.publicKeyBase64,
    skillPrivateKey: skill.privateKeyPem,
    store: new MemoryPartnerStore(),
    catalog: catalogFrom(CATALOG),
    deliver: () => undefined,
    now: () => now,
  });

  it('N junk requests in one second → at most one signature per distinct refusal, every reply verifies', async () => {
    const before = failReplyStats(h.createOrder);
    const retMsgs = new Set<string>();
    let n = 0;
    for (let i = 0; i < 200; i++) {
      now = T0 + 100 + i; // all inside second T0
      for (const request of junk(i)) {
        for (const handler of [h.createOrder, h.deliver, h.refundNotify]) {
          const res = await handler(request);
          const reply = JSON.parse(res.body.toString('utf8')) as { retCode: string; retMsg: string };
          assert.equal(reply.retCode, 'FAIL');
          retMsgs.add(reply.retMsg);
          n++;
          if (i % 50 === 0) assert.ok(verifyRsa2(res.body, res.headers.authorization, skill.publicKey, { now }).ok, 'a reused reply verifies like a fresh one');
        }
      }
    }
    const after = failReplyStats(h.createOrder);
    const signed = after.signed - before.signed;
    assert.ok(retMsgs.size >= 4, `several distinct refusals (${[...retMsgs].join(' | ')})`);
    assert.ok(signed <= retMsgs.size, `${signed} signatures for ${retMsgs.size} distinct refusals over ${n} requests`);
    assert.equal(after.reused - before.reused, n - signed);
    // The adapters' own refusals share the cache.
    const a = h.deliver.reject('body too large');
    const b = h.createOrder.reject('body too large');
    assert.deepEqual(a, b);
  });

  it('the next second signs again (a reply is never older than its second)', async () => {
    now = T0 + 100;
    const first = await h.createOrder(junk(0)[0]!);
    now = T0 + 1_100;
    const before = failReplyStats(h.createOrder).signed;
    const second = await h.createOrder(junk(0)[0]!);
    assert.equal(failReplyStats(h.createOrder).signed, before + 1);
    assert.notEqual(second.headers.authorization, first.headers.authorization);
    assert.match(second.headers.authorization!, new RegExp(`Datetime=${formatTskDatetime(now)},`));
  });

  it('a legitimate request gets a fresh signature (not counted as a refusal, not cached)', async () => {
    now = Date.now();
    const before = failReplyStats(h.createOrder);
    const r1 = readReply(await h.createOrder(signedRequest(JSON.stringify(createOrderBody({ nonceStr: randomNonce() })), { at: now })), 'createOrderReply');
    const r2 = readReply(await h.createOrder(signedRequest(JSON.stringify(createOrderBody({ nonceStr: randomNonce() })), { at: now })), 'createOrderReply');
    assert.equal(r1.retCode, 'SUCCESS');
    assert.equal(r2.retCode, 'SUCCESS');
    assert.notEqual(r1.tradeNo, r2.tradeNo);
    assert.deepEqual(failReplyStats(h.createOrder), before);
  });
});

describe('sandbox /paycgi: refusals reuse their signature within the second', () => {
  let now = T0 + 10;
  let pair: Awaited<ReturnType<typeof startPair>>;
  before(async () => {
    pair = await startPair({ now: () => now });
  });
  after(async () => {
    await pair?.close();
  });

  const post = async (path: string, body: Uint8Array | string, authorization?: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization) headers.authorization = authorization;
    const res = await fetch(`${pair.sandbox.url}${path}`, { method: 'POST', headers, body });
    const raw = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      raw,
      authorization: res.headers.get('authorization') ?? '',
      json: JSON.parse(raw.toString('utf8')) as { retCode: string; retMsg: string },
    };
  };

  it('N junk requests over HTTP in one second → at most one signature per distinct refusal', async () => {
    const cache = pair.sandbox.paycgi.failCache;
    const before = cache.signed;
    const retMsgs = new Set<string>();
    let n = 0;
    for (let i = 0; i < 20; i++) {
      now = T0 + 10 + i;
      const valid = JSON.stringify({ skillId: SANDBOX_SKILL, tradeNo: 'T1', nonceStr: nonce() });
      const cases: Array<[Uint8Array | string, string | undefined]> = [
        [Buffer.from([0xc3, 0x28, i]), undefined], // not UTF-8
        ['{"tradeNo":"x"}', undefined], // no skillId
        [JSON.stringify({ skillId: `nope${i}`, nonceStr: 'x' }), undefined], // unknown skill
        [valid, undefined], // unsigned
        [valid, `TSK-RSA2 Datetime=${formatTskDatetime(now)}, Signature=AAAA`], // forged
        [valid, signRsa2(valid, SKILL_PRIVATE, { datetime: formatTskDatetime(now - 3_600_000) })], // stale
      ];
      for (const [body, auth] of cases) {
        for (const path of ['/paycgi/orderquery', '/paycgi/refund', '/paycgi/refundquery']) {
          const r = await post(path, body, auth);
          assert.equal(r.status, 200);
          assert.equal(r.json.retCode, 'FAIL');
          retMsgs.add(r.json.retMsg);
          n++;
          if (i % 10 === 0) assert.ok(verifyRsa2(r.raw, r.authorization, pair.keys.publicKey, { now }).ok, 'the reply verifies with the platform key');
        }
      }
    }
    const signed = cache.signed - before;
    assert.ok(retMsgs.size >= 5, [...retMsgs].join(' | '));
    assert.ok(signed <= retMsgs.size, `${signed} signatures for ${retMsgs.size} distinct refusals over ${n} requests`);
  });

  it('a signed query refused by the book: a verifying FAIL, one signature for its second', async () => {
    now = T0 + 500;
    const before = pair.sandbox.paycgi.failCache.signed;
    const body = JSON.stringify({ skillId: SANDBOX_SKILL, tradeNo: 'nosuchorder1', nonceStr: nonce() });
    const r = await post('/paycgi/orderquery', body, signRsa2(body, SKILL_PRIVATE, { datetime: formatTskDatetime(now) }));
    assert.equal(r.json.retCode, 'FAIL');
    assert.equal(r.json.retMsg, 'order not found');
    assert.ok(verifyRsa2(r.raw, r.authorization, pair.keys.publicKey, { now }).ok);
    // A business refusal to a signed request is a FAIL too: signed (cached for its second), same bytes as fresh.
    assert.equal(pair.sandbox.paycgi.failCache.signed, before + 1);
  });
});
