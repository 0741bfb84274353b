import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import {
  assertVerified,
  constructMessage,
  formatAuthorization,
  formatTskDatetime,
  hmacSignature,
  importTskPublicKey,
  KeyError,
  loadPrivateKey,
  loadPublicKey,
  NonceGuard,
  parseAuthorization,
  parseTskDatetime,
  publicKeyToBase64,
  randomNonce,
  rsa2Signature,
  SignatureError,
  signHmac,
  signingContent,
  signRsa2,
  signRsa2Async,
  ValidationError,
  verifyHmac,
  verifyHmacWebCrypto,
  verifyRsa2,
  verifyRsa2WebCrypto,
  DingDangPayError,
} from '../../src/protocol/index.js';
import { fixture } from '../support/helpers.js';

const PRIV = fixture('tsk-test-private.pem');
const PRIV_PKCS1 = fixture('tsk-test-private-pkcs1.pem');
const PUB_PEM = fixture('tsk-test-public.pem');
const PUB_B64 = PUB_PEM.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');

// Known answers computed independently with `openssl dgst -sha256 -sign` / `-hmac`.
const V1 = {
  body: '{"skillId":"s1","transactionId":"T123","nonceStr":"abc"}',
  datetime: '20170720T193559Z',
  rsa: 'ObXRP9ibw17hTC5Rd9okNWRizhA6vyru6aKBE5T+9vA7JDngijgO/CDppLGKnxO+LWzFw1SDZfSgWg71W8Rtcy1qo4l8aA22i3oaMM9QL4C2h9+5tfolEEV2D2t5Zz4v3q5u9rsiArYJOfqZi8XJ9UgHxno2mvxcbLyacZrk55VMzVTB+3p+XnPvkfVVcUEqEYGXa6So5HflBcwWLWclQYZXxOA2O+LBC2oVK3VQ1xhVMtHXR+L5ewIcl5ims9t4w8AXJApDKA4OTPiOH38IIM8CsDMLRh0a/ig27J4mUYdh0POKw7WzzK57zHszeAxqvBJJKrZqpUGk8E5z9hSuwg==',
  hmac: '85b9fc4472698bdecbbae285a7275553beb63ed96dea24431ab4a9ccf0fa1593',
};
const V2 = {
  body: '{"refundDesc":"用户不想要了","refundAmt":100}',
  datetime: '20261126T120000Z',
  rsa: 'RJwgMOgKGrLytC7D70dqApO1VS/UtblXdTj1AEW6tA6aYViMDtkUh998Tt0QJBJ9gOvVW3kf7lpOWc1911NGEs723rb6SasFkbKOtZh5I+A7a8rSVddck7nm6Sy4sJ2/+lXTv0E9X3Mca06hlCVCrTNPiiBuxaPuvnSNIVOgDcj5BHkppGnjgaQV1LM1JTZi2D0rETsDjFSsVby/8Z7459up9bNAecXqVtmuBK/CIPDaAXW6xp7nu8MXrFEMYpQYiKA2AXj2lXVsP4sT19tqshLiiZXp7/yrtqt6949JxID69PSwSw1y4Hu1pE4Kd265p2h2052x2DPEpjxCU7Iolw==',
  hmac: '754c52e9c7e648aadae043d5a767328f67d6ef4a6011dbe9ac99d23361b6a854',
};
const SECRET = 'skill-secret-123';
const at = (dt: string) => parseTskDatetime(dt)!;

describe('TSK datetime and header', () => {
  it('formats and parses the UTC datetime stamp', () => {
    assert.equal(formatTskDatetime(Date.UTC(2017, 6, 20, 19, 35, 59, 999)), '20170720T193559Z');
    assert.equal(parseTskDatetime('20170720T193559Z'), Date.UTC(2017, 6, 20, 19, 35, 59));
    for (const bad of ['20171320T193559Z', '20170720T253559Z', '20170720T193559', '2017-07-20T19:35:59Z', '20170231T000000Z', ''])
      assert.equal(parseTskDatetime(bad), undefined, bad);
  });

  it('formats and parses the Authorization header, tolerating spacing and order', () => {
    const h = formatAuthorization({ algorithm: 'TSK-RSA2', datetime: V1.datetime, signature: 'abc=' });
    assert.equal(h, 'TSK-RSA2 Datetime=20170720T193559Z, Signature=abc=');
    assert.deepEqual(parseAuthorization(h), { algorithm: 'TSK-RSA2', datetime: V1.datetime, signature: 'abc=' });
    assert.deepEqual(parseAuthorization('  TSK-RSA2   Signature = abc= ,Datetime=20170720T193559Z '), {
      algorithm: 'TSK-RSA2',
      datetime: V1.datetime,
      signature: 'abc=',
    });
  });

  it('rejects malformed headers with reason malformed-header', () => {
    for (const bad of [
      undefined,
      '',
      'TSK-RSA2',
      'TSK-RSA2 Datetime=20170720T193559Z',
      'TSK-RSA2 Signature=abc',
      'TSK-RSA2 Datetime=2017, Signature=abc',
      'TSK-RSA2 Datetime=20170720T193559Z Signature=abc',
      'TSK-RSA2 Datetime=20170720T193559Z, Datetime=20170720T193559Z, Signature=a',
      'TSK-RSA2 Datetime=20170720T193559Z, Signature=',
    ]) {
      assert.throws(
        () => parseAuthorization(bad),
        (e: unknown) => e instanceof SignatureError && e.reason === 'malformed-header' && e.code === 'ERR_SIGNATURE',
        String(bad),
      );
    }
  });

  it('SigningContent is the raw body bytes followed by the datetime', () => {
    const bytes = signingContent(Buffer.from('{"a":"叮当"}'), '20170720T193559Z');
    assert.equal(Buffer.from(bytes).toString('utf8'), '{"a":"叮当"}20170720T193559Z');
  });
});

describe('TSK signatures: known answers (openssl-computed)', () => {
  for (const v of [V1, V2]) {
    it(`RSA2 and HMAC of ${v.body.slice(0, 24)}…`, async () => {
      assert.equal(rsa2Signature(v.body, v.datetime, PRIV), v.rsa);
      assert.equal(rsa2Signature(Buffer.from(v.body), v.datetime, PRIV_PKCS1), v.rsa, 'PKCS#1 private key gives the same');
      assert.equal(signRsa2(v.body, PRIV, { datetime: v.datetime }), `TSK-RSA2 Datetime=${v.datetime}, Signature=${v.rsa}`);
      assert.equal(hmacSignature(v.body, v.datetime, SECRET), v.hmac);
      assert.equal(signHmac(v.body, SECRET, { datetime: v.datetime }), `TSK-HMAC-SHA256-BASIC Datetime=${v.datetime}, Signature=${v.hmac}`);
      const header = `TSK-RSA2 Datetime=${v.datetime}, Signature=${v.rsa}`;
      for (const key of [PUB_PEM, PUB_B64, PRIV]) assert.equal(verifyRsa2(v.body, header, key, { now: at(v.datetime) }).ok, true);
      assert.equal((await verifyRsa2WebCrypto(v.body, header, PUB_B64, { now: at(v.datetime) })).ok, true);
      assert.equal((await verifyRsa2WebCrypto(v.body, header, PUB_PEM, { now: at(v.datetime) })).ok, true);
      const hh = `TSK-HMAC-SHA256-BASIC Datetime=${v.datetime}, Signature=${v.hmac}`;
      assert.equal(verifyHmac(v.body, hh, SECRET, { now: at(v.datetime) }).ok, true);
      assert.equal((await verifyHmacWebCrypto(v.body, hh, SECRET, { now: at(v.datetime) })).ok, true);
      const upper = `TSK-HMAC-SHA256-BASIC Datetime=${v.datetime}, Signature=${v.hmac.toUpperCase()}`;
      assert.equal(verifyHmac(v.body, upper, SECRET, { now: at(v.datetime) }).ok, true, 'uppercase hex accepted');
    });
  }

  it('signRsa2Async gives the same header as signRsa2 (thread pool), and rejects a bad key', async () => {
    for (const v of [V1, V2]) {
      assert.equal(await signRsa2Async(v.body, PRIV, { datetime: v.datetime }), `TSK-RSA2 Datetime=${v.datetime}, Signature=${v.rsa}`);
      assert.equal(
        await signRsa2Async(Buffer.from(v.body), loadPrivateKey(PRIV_PKCS1), { datetime: v.datetime }),
        signRsa2(v.body, PRIV, { datetime: v.datetime }),
      );
    }
    const many = await Promise.all(Array.from({ length: 8 }, (_, i) => signRsa2Async(`{"i":${i}}`, PRIV, { datetime: V2.datetime })));
    many.forEach((h, i) => assert.equal(h, signRsa2(`{"i":${i}}`, PRIV, { datetime: V2.datetime })));
    const now = at(V2.datetime) + 500;
    const h = await signRsa2Async(V2.body, PRIV, { now: () => now });
    assert.equal(h, `TSK-RSA2 Datetime=${V2.datetime}, Signature=${V2.rsa}`, 'datetime from the signing clock');
    assert.throws(() => signRsa2Async(V2.body, PUB_PEM), KeyError);
  });

  it('signs the raw bytes, not a re-serialised object', () => {
    const spaced = '{ "skillId" : "s1", "transactionId":"T123","nonceStr":"abc" }';
    const header = signRsa2(spaced, PRIV, { datetime: V1.datetime });
    assert.equal(verifyRsa2(spaced, header, PUB_PEM, { now: at(V1.datetime) }).ok, true);
    const reserialised = JSON.stringify(JSON.parse(spaced));
    const r = verifyRsa2(reserialised, header, PUB_PEM, { now: at(V1.datetime) });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'bad-signature');
  });
});

describe('TSK verification reports why it failed', () => {
  const now = at(V1.datetime);
  const rsaHeader = `TSK-RSA2 Datetime=${V1.datetime}, Signature=${V1.rsa}`;
  const reasonOf = (r: { ok: boolean; reason?: string }) => (r.ok ? 'ok' : r.reason);

  it('malformed header', async () => {
    assert.equal(reasonOf(verifyRsa2(V1.body, 'garbage', PUB_PEM, { now })), 'malformed-header');
    assert.equal(reasonOf(verifyRsa2(V1.body, undefined, PUB_PEM, { now })), 'malformed-header');
    assert.equal(reasonOf(await verifyRsa2WebCrypto(V1.body, 'x y', PUB_B64, { now })), 'malformed-header');
    assert.equal(reasonOf(verifyHmac(V1.body, 'TSK-HMAC-SHA256-BASIC Datetime=x', SECRET, { now })), 'malformed-header');
  });

  it('other algorithm', async () => {
    const hh = `TSK-HMAC-SHA256-BASIC Datetime=${V1.datetime}, Signature=${V1.hmac}`;
    assert.equal(reasonOf(verifyRsa2(V1.body, hh, PUB_PEM, { now })), 'algorithm-mismatch');
    assert.equal(reasonOf(verifyHmac(V1.body, rsaHeader, SECRET, { now })), 'algorithm-mismatch');
    assert.equal(reasonOf(await verifyRsa2WebCrypto(V1.body, hh, PUB_B64, { now })), 'algorithm-mismatch');
    assert.equal(reasonOf(verifyRsa2(V1.body, rsaHeader.replace('TSK-RSA2', 'TSK-RSA'), PUB_PEM, { now })), 'algorithm-mismatch');
  });

  it('stale and future, at the 3-minute edges, with an injectable clock', async () => {
    const edge = 3 * 60 * 1000;
    assert.equal(reasonOf(verifyRsa2(V1.body, rsaHeader, PUB_PEM, { now: now + edge })), 'ok');
    assert.equal(reasonOf(verifyRsa2(V1.body, rsaHeader, PUB_PEM, { now: now + edge + 1 })), 'stale');
    assert.equal(reasonOf(verifyRsa2(V1.body, rsaHeader, PUB_PEM, { now: () => now - edge })), 'ok');
    assert.equal(reasonOf(verifyRsa2(V1.body, rsaHeader, PUB_PEM, { now: () => now - edge - 1 })), 'future');
    assert.equal(reasonOf(verifyRsa2(V1.body, rsaHeader, PUB_PEM, { now: now + 10_000, toleranceMs: 5_000 })), 'stale');
    assert.equal(reasonOf(await verifyRsa2WebCrypto(V1.body, rsaHeader, PUB_B64, { now: now + edge + 1000 })), 'stale');
    const hh = `TSK-HMAC-SHA256-BASIC Datetime=${V1.datetime}, Signature=${V1.hmac}`;
    assert.equal(reasonOf(verifyHmac(V1.body, hh, SECRET, { now: now - edge - 1000 })), 'future');
    // the default clock is the real one: a 2017 signature is stale today
    assert.equal(reasonOf(verifyRsa2(V1.body, rsaHeader, PUB_PEM)), 'stale');
  });

  it('bad signature: tampered body, wrong key, wrong secret, garbage signature, different datetime', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    assert.equal(reasonOf(verifyRsa2(V1.body.replace('T123', 'T124'), rsaHeader, PUB_PEM, { now })), 'bad-signature');
    assert.equal(reasonOf(verifyRsa2(V1.body, rsaHeader, other.publicKey, { now })), 'bad-signature');
    assert.equal(reasonOf(verifyRsa2(V1.body, rsaHeader.replace(V1.rsa, '!!!'), PUB_PEM, { now })), 'bad-signature');
    assert.equal(reasonOf(verifyRsa2(V1.body, rsaHeader.replace(V1.datetime, '20170720T193600Z'), PUB_PEM, { now })), 'bad-signature');
    assert.equal(reasonOf(await verifyRsa2WebCrypto(V1.body + ' ', rsaHeader, PUB_B64, { now })), 'bad-signature');
    const hh = `TSK-HMAC-SHA256-BASIC Datetime=${V1.datetime}, Signature=${V1.hmac}`;
    assert.equal(reasonOf(verifyHmac(V1.body, hh, 'other-secret', { now })), 'bad-signature');
    assert.equal(reasonOf(verifyHmac(V1.body, hh.replace(V1.hmac, 'abc'), SECRET, { now })), 'bad-signature');
    assert.equal(reasonOf(await verifyHmacWebCrypto(V1.body, hh, 'other-secret', { now })), 'bad-signature');
    assert.throws(() => assertVerified(verifyHmac(V1.body, hh, 'x', { now })), SignatureError);
  });

  it('replay: constructMessage rejects a nonceStr seen inside the window', () => {
    const body = JSON.stringify({ retCode: 'SUCCESS', nonceStr: 'n1' });
    const guard = new NonceGuard();
    const header = signRsa2(body, PRIV);
    const msg = constructMessage('deliverNotifyReply', body, header, PUB_B64, { nonceGuard: guard });
    assert.equal(msg.retCode, 'SUCCESS');
    assert.throws(
      () => constructMessage('deliverNotifyReply', body, header, PUB_B64, { nonceGuard: guard }),
      (e: unknown) => e instanceof SignatureError && e.reason === 'replay',
    );
  });

  it('constructMessage verifies before it decodes, then validates', () => {
    const body = JSON.stringify({ skillId: 's', nonceStr: 'n' });
    assert.throws(
      () => constructMessage('orderQueryRequest', body, signRsa2(body + 'x', PRIV), PUB_PEM),
      (e: unknown) => e instanceof SignatureError && e.reason === 'bad-signature',
    );
    assert.throws(
      () => constructMessage('orderQueryRequest', body, signRsa2(body, PRIV), PUB_PEM),
      (e: unknown) => e instanceof ValidationError && e.issues[0]!.code === 'EITHER_OR' && e instanceof DingDangPayError,
    );
    const good = JSON.stringify({ skillId: 's', tradeNo: 'A1', nonceStr: 'n' });
    assert.equal(constructMessage('orderQueryRequest', good, signRsa2(good, PRIV), PUB_PEM).version, '1.0');
  });
});

describe('NonceGuard', () => {
  it('forgets nonces after the window and keeps memory bounded', () => {
    let t = 1_000_000;
    const g = new NonceGuard({ windowMs: 1000, maxEntries: 3, now: () => t });
    assert.equal(g.check('a'), true);
    assert.equal(g.check('a'), false);
    t += 1001;
    assert.equal(g.check('a'), true, 'expired nonce is accepted again');
    for (const n of ['b', 'c']) assert.equal(g.check(n), true);
    assert.equal(g.size, 3);
    // Full of live nonces: a new one is refused (fail closed), no live nonce is forgotten.
    assert.equal(g.check('d'), false);
    assert.equal(g.size, 3);
    assert.equal(g.check('b'), false, 'b is still remembered: its replay is refused');
    t += 5000;
    assert.equal(g.check('z'), true, 'room again once the window passed');
    assert.equal(g.size, 1, 'expired entries are swept');
  });

  it('remembers a nonce for twice the signature tolerance it protects', () => {
    let t = 0;
    const g = new NonceGuard({ toleranceMs: 10 * 60_000, now: () => t });
    assert.equal(g.windowMs, 20 * 60_000);
    assert.equal(g.check('n'), true);
    t = 7 * 60_000;
    assert.equal(g.check('n'), false, 'a replay at minute 7 of a 10-minute tolerance is refused');
    t = 20 * 60_000 + 1;
    assert.equal(g.check('n'), true);
  });

  it('rejects a bad configuration with a typed error', () => {
    assert.throws(
      () => new NonceGuard({ maxEntries: 0 }),
      (e: unknown) => (e as DingDangPayError).code === 'ERR_INVALID_ARGUMENT',
    );
  });

  it('randomNonce gives distinct 32-char [0-9A-Za-z] strings', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const n = randomNonce();
      assert.match(n, /^[0-9A-Za-z]{32}$/);
      seen.add(n);
    }
    assert.equal(seen.size, 200);
  });
});

describe('keys', () => {
  it('loads public keys from PEM, bare Base64 and a private key; exports bare Base64', () => {
    assert.equal(publicKeyToBase64(PUB_PEM), PUB_B64);
    assert.equal(publicKeyToBase64(PUB_B64), PUB_B64);
    assert.equal(publicKeyToBase64(PRIV), PUB_B64);
    assert.equal(publicKeyToBase64(PUB_B64.replace(/(.{64})/g, '$1\n')), PUB_B64, 'wrapped Base64');
    const pkcs1Pub = loadPublicKey(PUB_PEM).export({ type: 'pkcs1', format: 'pem' }) as string;
    assert.equal(publicKeyToBase64(pkcs1Pub), PUB_B64);
  });

  it('loads private keys from PKCS#8 and PKCS#1, PEM and bare Base64', () => {
    const k8 = loadPrivateKey(PRIV);
    const der1 = (loadPrivateKey(PRIV_PKCS1).export({ type: 'pkcs1', format: 'der' }) as Buffer).toString('base64');
    const der8 = (k8.export({ type: 'pkcs8', format: 'der' }) as Buffer).toString('base64');
    for (const input of [PRIV, PRIV_PKCS1, der1, der8]) assert.equal(rsa2Signature(V1.body, V1.datetime, input), V1.rsa);
  });

  it('refuses garbage, non-RSA and short keys with KeyError', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const short = generateKeyPairSync('rsa', { modulusLength: 1024 });
    for (const bad of ['not a key', '', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', ec.publicKey, short.publicKey]) {
      assert.throws(
        () => loadPublicKey(bad),
        (e: unknown) => e instanceof KeyError && e.code === 'ERR_KEY',
      );
    }
    assert.throws(() => loadPrivateKey(PUB_PEM), KeyError);
    assert.throws(() => loadPrivateKey(short.privateKey), KeyError);
    await assert.rejects(() => importTskPublicKey('bm90IGEga2V5'), KeyError);
    const shortB64 = (short.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
    await assert.rejects(() => importTskPublicKey(shortB64), KeyError);
  });
});
