/**
 * The per-peer budget of failed signature checks (src/partner/peer-budget.ts,
 * our own extension) and the refusals that need no body: a peer past its
 * budget is refused before any signature is checked (even a valid one), a
 * request whose headers alone refuse it is answered before its body is
 * read (through node-http, Express and Fastify), and loopback peers are
 * exempt by default. By structure, with an injected clock: no timings.
 */
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { formatTskDatetime, verifyRsa2 } from '../../src/protocol/index.js';
import {
  catalogFrom,
  createPartnerHandlers,
  isLocalPeer,
  MemoryPartnerStore,
  partnerRequestListener,
  type PartnerHandlers,
  type PartnerOptions,
} from '../../src/partner/index.js';
import { expressPartnerRouter } from '../../src/partner/adapters/express.js';
import { fastifyPartnerPlugin } from '../../src/partner/adapters/fastify.js';
import { PeerBudget, peerKey } from '../../src/partner/peer-budget.js';
import { CATALOG, createOrderBody, platform, signedRequest, skill, SKILL_ID } from '../support/partner-fixtures.js';

const T0 = Date.parse('2026-12-02T05:00:00.000Z');
const PUBLIC_PEER = '203.0.113.7';

function handlersWith(over: Partial<PartnerOptions> = {}): PartnerHandlers {
  return createPartnerHandlers({
    skillId: SKILL_ID,
    tskPublicKey: platform.publicKeyBase64,
    skillPrivateKey: skill.privateKeyPem,
    store: new MemoryPartnerStore(),
    catalog: catalogFrom(CATALOG),
    deliver: () => undefined,
    ...over,
  });
}

const retMsgOf = (res: { body: Uint8Array }) => (JSON.parse(Buffer.from(res.body).toString('utf8')) as { retCode: string; retMsg?: string }).retMsg;
const retCodeOf = (res: { body: Uint8Array }) => (JSON.parse(Buffer.from(res.body).toString('utf8')) as { retCode: string }).retCode;

/** A createOrder body signed with the wrong key: well-formed, fails only the RSA check. */
const forged = (i: number, at: number) => signedRequest(JSON.stringify(createOrderBody({ nonceStr: `forged${i}` })), { key: skill.privateKey, at });

describe('PeerBudget', () => {
  it('spends only on failures, refills with time, and forgets the least recently seen peer past maxPeers', () => {
    let now = T0;
    const b = new PeerBudget({ burst: 3, perSecond: 1, maxPeers: 2, exempt: () => false }, () => now);
    assert.equal(b.limited('198.51.100.1'), false, 'an unseen peer has its whole budget');
    for (let i = 0; i < 3; i++) b.spend('198.51.100.1');
    assert.equal(b.limited('198.51.100.1'), true);
    assert.equal(b.limited('198.51.100.2'), false, 'another peer is not limited');
    now += 1_000;
    assert.equal(b.limited('198.51.100.1'), false, 'one token back after a second');
    b.spend('198.51.100.1');
    assert.equal(b.limited('198.51.100.1'), true);
    b.spend('198.51.100.2');
    b.spend('198.51.100.3');
    assert.equal(b.size, 2, 'bounded');
    assert.equal(b.limited('198.51.100.1'), false, 'the peer seen longest ago was forgotten (a fresh budget)');
  });

  it('exempts loopback and private peers by default; keys IPv6 by /64', () => {
    const b = new PeerBudget({ burst: 1 });
    for (const p of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3', '192.168.0.9', '172.20.0.1', 'fd00::1']) {
      b.spend(p);
      b.spend(p);
      assert.equal(b.limited(p), false, p);
      assert.equal(isLocalPeer(p), true, p);
    }
    for (const p of ['203.0.113.7', '172.32.0.1', '2001:db8::1', '8.8.8.8']) assert.equal(isLocalPeer(p), false, p);
    assert.equal(peerKey('2001:db8:0:0:1:2:3:4'), peerKey('2001:db8::ffff'));
    assert.notEqual(peerKey('2001:db8:0:1::1'), peerKey('2001:db8:0:2::1'));
    assert.equal(peerKey('::ffff:203.0.113.7'), '203.0.113.7');
    b.spend('2001:db8::1');
    b.spend('2001:db8::2');
    assert.equal(b.limited('2001:db8::99'), true, 'one budget for the whole /64');
  });

  it('bad options throw ERR_INVALID_ARGUMENT', () => {
    for (const peerLimit of [{ burst: 0 }, { perSecond: -1 }, { maxPeers: Number.NaN }, { exempt: 'no' as unknown as () => boolean }])
      assert.throws(
        () => handlersWith({ peerLimit }),
        (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARGUMENT',
      );
  });
});

describe('partner handlers: a peer past its budget is refused unheard', () => {
  it('after `burst` forged requests a valid request from the same peer is refused without a signature check; other peers pass; time restores it', async () => {
    let now = T0;
    const h = handlersWith({ now: () => now, peerLimit: { burst: 5, perSecond: 1 } });
    for (let i = 0; i < 5; i++) assert.equal(retMsgOf(await h.createOrder({ ...forged(i, now), peer: PUBLIC_PEER })), 'signature: bad-signature');
    const valid = () => signedRequest(JSON.stringify(createOrderBody()), { at: now });
    const refused = await h.createOrder({ ...valid(), peer: PUBLIC_PEER });
    assert.equal(retMsgOf(refused), 'too many bad signatures', 'the budget is checked before the signature');
    assert.ok(verifyRsa2(refused.body, refused.headers.authorization, skill.publicKey, { now }).ok, 'the refusal is signed');
    assert.equal(retCodeOf(await h.createOrder({ ...valid(), peer: '198.51.100.20' })), 'SUCCESS', 'another peer is not limited');
    assert.equal(retCodeOf(await h.createOrder(valid())), 'SUCCESS', 'a request without a peer is not limited');
    now += 1_000;
    assert.equal(retCodeOf(await h.createOrder({ ...valid(), peer: PUBLIC_PEER })), 'SUCCESS', 'a token has refilled');
  });

  it('valid requests never spend the budget; malformed and stale headers do', async () => {
    const now = T0;
    const h = handlersWith({ now: () => now, peerLimit: { burst: 3, perSecond: 0.001 } });
    for (let i = 0; i < 10; i++)
      assert.equal(retCodeOf(await h.createOrder({ ...signedRequest(JSON.stringify(createOrderBody()), { at: now }), peer: PUBLIC_PEER })), 'SUCCESS');
    const body = Buffer.from(JSON.stringify(createOrderBody()));
    assert.equal(retMsgOf(await h.deliver({ headers: {}, rawBody: body, peer: PUBLIC_PEER })), 'signature: malformed-header');
    assert.equal(retMsgOf(await h.deliver({ headers: { authorization: 'junk' }, rawBody: body, peer: PUBLIC_PEER })), 'signature: malformed-header');
    const stale = signedRequest(body, { at: now - 3_600_000 });
    assert.equal(retMsgOf(await h.deliver({ ...stale, peer: PUBLIC_PEER })), 'signature: stale');
    assert.equal(
      retMsgOf(await h.createOrder({ ...signedRequest(body, { at: now }), peer: PUBLIC_PEER })),
      'too many bad signatures',
      'the handlers share one budget',
    );
  });

  it('peerLimit: false turns it off', async () => {
    const h = handlersWith({ now: () => T0, peerLimit: false });
    for (let i = 0; i < 40; i++) assert.equal(retMsgOf(await h.createOrder({ ...forged(i, T0), peer: PUBLIC_PEER })), 'signature: bad-signature');
  });

  it('precheck needs no body: the headers alone decide, and a good header goes on to the body', () => {
    const h = handlersWith({ now: () => T0 });
    assert.equal(retMsgOf(h.createOrder.precheck!({ headers: {} })!), 'signature: malformed-header');
    assert.equal(
      retMsgOf(
        h.createOrder.precheck!({ headers: { authorization: `TSK-HMAC-SHA256-BASIC Datetime=${formatTskDatetime(T0)}, Signature=${'0'.repeat(64)}` } })!,
      ),
      'signature: algorithm-mismatch',
    );
    assert.equal(h.createOrder.precheck!({ headers: forged(0, T0).headers }), undefined, 'a well-formed header in the window needs the body to be judged');
  });
});

/** Send the head of a POST that declares a body and never send the body; resolve with what the server answers. */
function headOnly(base: string, path: string, headers: Record<string, string>): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let got = '';
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no answer without the body: ${JSON.stringify(got)}`))), 5_000);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      got += d;
      const head = got.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(got)?.[1];
      if (head >= 0 && len !== undefined && Buffer.byteLength(got.slice(head + 4)) >= Number(len)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(got);
      }
    });
    socket.on('error', reject);
    const lines = Object.entries({ host: `${hostname}:${port}`, 'content-type': 'application/json', 'content-length': '200', ...headers }).map(
      ([k, v]) => `${k}: ${v}`,
    );
    socket.write(`POST ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n{"skillId":`); // 11 of the 200 declared bytes
  });
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

for (const [name, start] of [
  [
    'node-http',
    async (h: PartnerHandlers) => {
      const server = createServer(partnerRequestListener(h));
      const base = await listen(server);
      return { base, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
    },
  ],
  [
    'express',
    async (h: PartnerHandlers) => {
      const app = express();
      app.use(expressPartnerRouter(h));
      const server = createServer(app);
      const base = await listen(server);
      return { base, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
    },
  ],
  [
    'fastify',
    async (h: PartnerHandlers) => {
      const app = Fastify();
      await app.register(fastifyPartnerPlugin, { handlers: h });
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      return { base, close: () => app.close() };
    },
  ],
] as const) {
  describe(`${name} adapter: refusals that need no body`, () => {
    let server: { base: string; close: () => Promise<void> };
    before(async () => {
      // Loopback is exempt by default; here the test's own address counts as a peer.
      server = await start(handlersWith({ peerLimit: { burst: 2, perSecond: 0.001, exempt: () => false } }));
    });
    after(() => server.close());

    it('a missing Authorization is answered before the body arrives, then the peer runs out of budget', async () => {
      const first = await headOnly(server.base, '/dingdang/deliver', {});
      assert.match(first, /^HTTP\/1\.1 200/);
      assert.match(first, /signature: malformed-header/);
      assert.match(first, /authorization: TSK-RSA2 /i, 'signed');
      await headOnly(server.base, '/dingdang/create-order', { authorization: 'garbage' });
      const third = await headOnly(server.base, '/dingdang/refund-notify', { authorization: forged(0, Date.now()).headers.authorization as string });
      assert.match(third, /too many bad signatures/, 'past the budget even a well-formed header is refused unread');
    });
  });
}

describe('node-http adapter: loopback peers are exempt by default', () => {
  let base = '';
  let server: Server;
  before(async () => {
    server = createServer(partnerRequestListener(handlersWith({ peerLimit: { burst: 2 } })));
    base = await listen(server);
  });
  after(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));

  it('forty forged requests from 127.0.0.1 are each checked (never "too many")', async () => {
    for (let i = 0; i < 40; i++) {
      const r = forged(i, Date.now());
      const res = await fetch(`${base}/dingdang/create-order`, {
        method: 'POST',
        headers: { authorization: r.headers.authorization as string, 'content-type': 'application/json' },
        body: new Uint8Array(r.rawBody),
        signal: AbortSignal.timeout(5_000),
      });
      assert.equal(retMsgOf({ body: new Uint8Array(await res.arrayBuffer()) }), 'signature: bad-signature');
    }
  });
});
