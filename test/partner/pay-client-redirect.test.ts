/**
 * The pay client never follows a redirect: a 3xx from the platform is a
 * `PayRedirectError` (`ERR_PAY_REDIRECT`), never retried, and the signed body
 * reaches no other server. Two real servers on 127.0.0.1: the "platform"
 * answers 301/302/303/307/308 pointing at the second, which counts every
 * request it receives.
 */
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { PayClient, PayRedirectError, PARTNER_ERROR_CODES } from '../../src/partner/index.js';
import { DingDangPayError } from '../../src/protocol/index.js';
import { platform, skill, SKILL_ID } from '../support/partner-fixtures.js';

const elsewhere: { path: string; bytes: number }[] = [];
let platformHits = 0;
let status = 307;
let otherUrl = '';

const other: Server = createServer((req, res) => {
  let bytes = 0;
  req.on('data', (c: Buffer) => (bytes += c.length));
  req.on('end', () => {
    elsewhere.push({ path: req.url ?? '', bytes });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
const redirecting: Server = createServer((req, res) => {
  platformHits++;
  req.resume();
  req.on('end', () => res.writeHead(status, { location: `${otherUrl}${req.url ?? '/'}` }).end());
});

const listen = async (s: Server) => {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
};
const close = async (s: Server) => {
  s.closeAllConnections();
  await new Promise((r) => s.close(r));
};

let baseUrl = '';
before(async () => {
  otherUrl = await listen(other);
  baseUrl = await listen(redirecting);
});
after(async () => {
  await close(redirecting);
  await close(other);
});
beforeEach(() => {
  elsewhere.length = 0;
  platformHits = 0;
});

const client = () =>
  new PayClient({ skillId: SKILL_ID, skillPrivateKey: skill.privateKeyPem, tskPublicKey: platform.publicKeyBase64, baseUrl, timeoutMs: 2000, retryDelayMs: 5 });

describe('pay client and redirects', () => {
  it('a 307 to another server is a PayRedirectError; the other server receives nothing, no retry', async () => {
    status = 307;
    const e = await client()
      .orderQuery({ tradeNo: 'T0001' })
      .catch((x: unknown) => x);
    assert.ok(e instanceof PayRedirectError, String(e));
    assert.ok(e instanceof DingDangPayError);
    assert.equal(e.code, 'ERR_PAY_REDIRECT');
    assert.equal(e.status, 307);
    assert.equal(e.operation, 'orderQuery');
    assert.equal(e.location, `${otherUrl}/paycgi/orderquery`);
    assert.equal(platformHits, 1, 'a redirect is not retried');
    assert.deepEqual(elsewhere, [], 'the signed body went nowhere else');
  });

  it('every redirect status, on every call (a refund too), is refused the same way', async () => {
    for (const s of [301, 302, 303, 308]) {
      status = s;
      const e = await client()
        .refund({ tradeNo: 'T0001', totalAmt: 300, refundAmt: 100, refundDetails: [{ itemId: 'ep35', quantity: 1, amount: 100 }] })
        .catch((x: unknown) => x);
      assert.ok(e instanceof PayRedirectError, `${s}: ${String(e)}`);
      assert.equal(e.status, s);
      assert.equal(e.operation, 'refund');
    }
    status = 307;
    const q = await client()
      .refundQuery({ refundTradeNo: 'R1' })
      .catch((x: unknown) => x);
    assert.ok(q instanceof PayRedirectError);
    assert.equal(platformHits, 5);
    assert.deepEqual(elsewhere, []);
  });

  it('the code is in the partner error table', () => {
    assert.equal(PARTNER_ERROR_CODES.ERR_PAY_REDIRECT, PayRedirectError);
  });
});
