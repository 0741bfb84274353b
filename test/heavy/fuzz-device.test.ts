/**
 * Fuzzing the device's push path: `parsePush` never throws on arbitrary
 * strings, JSON and non-strings; and parse + signature check (the device's
 * WebCrypto `SignatureChecker` with TSKPublicKey) never accepts a push whose
 * body or header was changed after the platform signed it, so no mutation can
 * make the speaker say "paid".
 * DINGDANG_FUZZ_RUNS=20000 for a longer run.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generateTskKeyPair, randomNonce, signRsa2 } from '../../src/protocol/index.js';
import { parsePush, parseServerFrame, SignatureChecker } from '../../src/device/transport/index.js';
import { applyEdits, byteEdits, check, fuzzParams, mutate, mutation, nastyValue, type Json } from '../support/fuzz-common.js';

const platform = generateTskKeyPair();
const checker = new SignatureChecker(platform.publicKeyBase64);

function status(tradeStatus: string, seq: number): Record<string, Json> {
  return {
    purchaseId: 'p' + seq,
    deviceId: 'spk-1',
    tradeStatus,
    seq,
    order: {
      purchaseId: 'p' + seq,
      transactionId: 'DD' + seq,
      tradeNo: 'T' + seq,
      totalAmt: 200,
      payUrl: 'https://pay.example/qr/' + seq,
      expiresAt: Date.now() + 60_000,
    },
    nonceStr: randomNonce(),
  };
}

function shape(r: ReturnType<typeof parsePush>): void {
  if (r.ok) {
    assert.equal(r.push.type, 'push');
    assert.ok(['NOTPAY', 'PROCESSING', 'SUCCESS', 'FAIL'].includes(r.push.status.tradeStatus));
  } else {
    assert.ok(r.reason === 'malformed' || r.reason === 'unsigned');
    assert.equal(typeof r.detail, 'string');
  }
}

describe('fuzz: device push parser and verification', () => {
  it('parsePush never throws on arbitrary strings, JSON frames or other values', () => {
    const frameish = fc.record(
      {
        type: fc.oneof(fc.constant('push'), nastyValue),
        body: fc.oneof(
          fc.string(),
          fc.jsonValue().map((j) => JSON.stringify(j)),
          nastyValue,
        ),
        authorization: nastyValue,
      },
      { requiredKeys: [] },
    );
    return check(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 500 }),
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.jsonValue().map((j) => JSON.stringify(j)),
          frameish.map((f) => JSON.stringify(f)),
          fc.anything(),
        ),
        (raw) => {
          shape(parsePush(raw));
          const f = parseServerFrame(raw);
          assert.equal(typeof f.ok, 'boolean');
        },
      ),
      fuzzParams(3000),
    );
  });

  it('a signed push survives parse + verify only when untouched; any edit of body or header is refused', async () => {
    let accepted = 0;
    await check(
      fc.asyncProperty(
        fc.constantFrom('NOTPAY', 'PROCESSING', 'SUCCESS', 'FAIL'),
        fc.nat({ max: 1000 }),
        fc.oneof(
          fc.record({ where: fc.constant('none' as const) }),
          fc.record({ where: fc.constant('fields' as const), ms: fc.array(mutation, { minLength: 1, maxLength: 3 }) }),
          fc.record({ where: fc.constant('body' as const), edits: byteEdits }),
          fc.record({ where: fc.constant('auth' as const), edits: byteEdits }),
          fc.record({ where: fc.constant('frame' as const), edits: byteEdits }),
        ),
        async (tradeStatus, seq, change) => {
          const body = JSON.stringify(status(tradeStatus, seq));
          const authorization = signRsa2(body, platform.privateKey);
          let sentBody = body;
          let sentAuth = authorization;
          if (change.where === 'fields') sentBody = JSON.stringify(mutate(JSON.parse(body), change.ms));
          if (change.where === 'body') sentBody = applyEdits(body, change.edits);
          if (change.where === 'auth') sentAuth = applyEdits(authorization, change.edits);
          let frame = JSON.stringify({ type: 'push', body: sentBody, authorization: sentAuth });
          if (change.where === 'frame') frame = applyEdits(frame, change.edits);
          const r = parsePush(frame);
          shape(r);
          if (!r.ok) {
            assert.notEqual(change.where, 'none', 'an untouched push parses');
            return;
          }
          const v = await checker.verify(r.push.body, r.push.authorization);
          if (v.ok) {
            accepted++;
            // Verified ⇒ exactly what the platform signed (edits that cancel out, e.g. none, are fine).
            assert.equal(r.push.body, body, 'only the signed bytes verify');
            assert.equal(r.push.status.tradeStatus, tradeStatus);
          } else {
            assert.notEqual(r.push.body + r.push.authorization, body + authorization, 'the untouched push verifies');
          }
        },
      ),
      fuzzParams(400),
    );
    assert.ok(accepted > 0, 'some untouched pushes were accepted');
  });
});
