/** The partner's error module: one class per code, every one a DingDangPayError, the code table complete. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { DingDangPayError, RemoteError } from '../../src/protocol/index.js';
import * as partner from '../../src/partner/index.js';
import {
  DeliveryTimeoutError,
  PARTNER_ERROR_CODES,
  PayRedirectError,
  PayRemoteError,
  RefundError,
  RefusedError,
  StoreError,
  type PartnerErrorCode,
} from '../../src/partner/index.js';

/** One instance per code, made the way the kit makes it. */
const SAMPLES: Record<PartnerErrorCode, DingDangPayError> = {
  ERR_REFUSED: new RefusedError('unknown tradeNo'),
  ERR_DELIVERY_TIMEOUT: new DeliveryTimeoutError(20_000),
  ERR_REFUND_UNKNOWN_ORDER: new RefundError('ERR_REFUND_UNKNOWN_ORDER', 'no order'),
  ERR_REFUND_NOT_PAID: new RefundError('ERR_REFUND_NOT_PAID', 'not paid'),
  ERR_REFUND_CONFLICT: new RefundError('ERR_REFUND_CONFLICT', 'other refund'),
  ERR_REFUND_MISMATCH: new RefundError('ERR_REFUND_MISMATCH', 'refund R1: refundAmt mismatch'),
  ERR_REMOTE: new PayRemoteError('orderQuery', 'orderQuery refused: X', 'X', { retCode: 'FAIL' }),
  ERR_PAY_REDIRECT: new PayRedirectError('refund', 307, 'https://elsewhere.example/paycgi/refund'),
  ERR_DUPLICATE: new StoreError('ERR_DUPLICATE', 'exists'),
  ERR_NOT_FOUND: new StoreError('ERR_NOT_FOUND', 'no order'),
  ERR_REFUND_EXCEEDS: new StoreError('ERR_REFUND_EXCEEDS', 'too much'),
  ERR_CLOSED: new StoreError('ERR_CLOSED', 'closed'),
  ERR_STORE: new StoreError('ERR_STORE', 'disk', { retryable: true }),
};

describe('partner errors', () => {
  it('every code in PARTNER_ERROR_CODES is carried by an instance of its class, a DingDangPayError', () => {
    assert.deepEqual(Object.keys(SAMPLES).sort(), Object.keys(PARTNER_ERROR_CODES).sort());
    for (const [code, Class] of Object.entries(PARTNER_ERROR_CODES)) {
      const e = SAMPLES[code as PartnerErrorCode];
      assert.equal(e.code, code);
      assert.ok(e instanceof Class, `${code} is a ${Class.name}`);
      assert.ok(e instanceof DingDangPayError);
      assert.equal(e.name, e.constructor.name);
    }
  });

  it('a delivery timeout is a refusal with its own code; the retMsg is clamped to 32 characters', () => {
    const t = new DeliveryTimeoutError(50);
    assert.ok(t instanceof RefusedError);
    assert.equal(t.retMsg, 'delivery timed out');
    assert.equal(t.timeoutMs, 50);
    assert.notEqual(new RefusedError('delivery timed out').code, t.code, 'the same retMsg is not a timeout');
    assert.equal(Array.from(new RefusedError('x'.repeat(60)).retMsg).length, 32);
  });

  it('PayRemoteError keeps the protocol RemoteError contract; StoreError says whether a retry may help', () => {
    const p = SAMPLES.ERR_REMOTE as PayRemoteError;
    assert.ok(p instanceof RemoteError);
    assert.deepEqual([p.operation, p.retMsg], ['orderQuery', 'X']);
    assert.equal((SAMPLES.ERR_STORE as StoreError).retryable, true);
    assert.equal((SAMPLES.ERR_DUPLICATE as StoreError).retryable, false);
  });

  it('the public entry exports each error class once, under its own name', () => {
    for (const Class of new Set(Object.values(PARTNER_ERROR_CODES))) {
      assert.equal((partner as Record<string, unknown>)[Class.name], Class);
    }
  });
});
