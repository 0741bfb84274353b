import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { randomNonce } from '../../src/protocol/index.js';
import { catalogFrom, createPartnerHandlers, MemoryPartnerStore, partnerRequestListener, type PartnerHandlers } from '../../src/partner/index.js';
import { expressPartnerRouter } from '../../src/partner/adapters/express.js';
import { fastifyPartnerPlugin } from '../../src/partner/adapters/fastify.js';
import { CATALOG, deliverBody, readReply, signedRequest, SKILL_ID, platform, skill } from '../support/partner-fixtures.js';

function makeHandlers() {
  const store = new MemoryPartnerStore();
  const delivered: string[] = [];
  const handlers = createPartnerHandlers({
    skillId: SKILL_ID,
    tskPublicKey: platform.publicKeyPem,
    skillPrivateKey: skill.privateKey,
    store,
    catalog: catalogFrom(CATALOG),
    deliver: (ctx) => void delivered.push(ctx.idempotencyKey),
    maxBodyBytes: 4096,
  });
  return { handlers, store, delivered };
}

/** Odd spacing, key order, escapes and Chinese text: only the raw bytes verify. */
const oddCreateOrder = (user = 1) =>
  `{\n   "totalAmt" :200 ,"skillId":"${SKILL_ID}",\t"userToken" : "听书用户\\u003${user}",\r\n` +
  `"details":[{ "amount": 200, "quantity":1,"itemId":"ep35" , "名称":"万古神帝 第35集"}],  "nonceStr":"${randomNonce()}"   }  `;

async function post(url: string, rawBody: Uint8Array, headers: Record<string, string | string[] | undefined>) {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') h[k] = v;
  const res = await fetch(url, { method: 'POST', headers: h, body: new Uint8Array(rawBody), signal: AbortSignal.timeout(5000) });
  const body = Buffer.from(await res.arrayBuffer());
  const out: Record<string, string> = {};
  res.headers.forEach((v, k) => (out[k] = v));
  return { status: res.status, headers: out, body };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** The same checks through any adapter mounted at `base` with default paths. */
function adapterSuite(name: string, start: (h: PartnerHandlers) => Promise<{ base: string; close: () => Promise<void> }>) {
  describe(name, () => {
    let base = '';
    let close: () => Promise<void> = async () => undefined;
    let t: ReturnType<typeof makeHandlers>;
    before(async () => {
      t = makeHandlers();
      ({ base, close } = await start(t.handlers));
    });
    after(() => close());

    it('preserves the raw bytes: an oddly spaced Chinese body verifies; create order + deliver work', async () => {
      const req = signedRequest(oddCreateOrder());
      const res = await post(`${base}/dingdang/create-order`, req.rawBody, req.headers);
      assert.equal(res.status, 200);
      const reply = readReply(res, 'createOrderReply');
      assert.equal(reply.retCode, 'SUCCESS', JSON.stringify(reply));
      assert.equal((await t.store.getOrder(reply.tradeNo!))?.userToken, '听书用户1');
      const d = signedRequest(JSON.stringify(deliverBody(reply.tradeNo!, { userToken: '听书用户1' }), null, 3));
      const dres = await post(`${base}/dingdang/deliver`, d.rawBody, d.headers);
      assert.equal(readReply(dres, 'deliverNotifyReply').retCode, 'SUCCESS');
      assert.deepEqual(t.delivered, [reply.tradeNo]);
    });

    it('any change to the bytes fails verification with a signed FAIL', async () => {
      const req = signedRequest(oddCreateOrder());
      const changed = Buffer.from(Buffer.from(req.rawBody).toString('utf8').replace('  }  ', '}'));
      const res = await post(`${base}/dingdang/create-order`, changed, req.headers);
      const reply = readReply(res, 'createOrderReply');
      assert.deepEqual([reply.retCode, reply.retMsg], ['FAIL', 'signature: bad-signature']);
    });

    it('works with a text/plain content type too', async () => {
      const req = signedRequest(oddCreateOrder(2));
      const res = await post(`${base}/dingdang/create-order`, req.rawBody, { authorization: req.headers.authorization, 'content-type': 'text/plain' });
      assert.equal(readReply(res, 'createOrderReply').retCode, 'SUCCESS');
    });

    it('an oversized body gets a signed FAIL', async () => {
      const big = JSON.stringify({ skillId: SKILL_ID, pad: '长'.repeat(3000) });
      const req = signedRequest(big);
      const res = await post(`${base}/dingdang/create-order`, req.rawBody, req.headers);
      const reply = readReply(res, 'createOrderReply');
      assert.deepEqual([reply.retCode, reply.retMsg], ['FAIL', 'body too large']);
    });

    it('a signed empty body reaches the handler as zero bytes', async () => {
      const req = signedRequest('');
      const res = await post(`${base}/dingdang/deliver`, req.rawBody, { authorization: req.headers.authorization });
      const reply = readReply(res, 'deliverNotifyReply');
      assert.deepEqual([reply.retCode, reply.retMsg], ['FAIL', 'body is not JSON']);
    });

    it('refund notify route is mounted', async () => {
      const req = signedRequest('{}');
      const res = await post(`${base}/dingdang/refund-notify`, req.rawBody, req.headers);
      const reply = readReply(res, 'refundNotifyReply');
      assert.equal(reply.retCode, 'FAIL');
      assert.equal(reply.retMsg, 'skillId missing');
    });
  });
}

adapterSuite('node http adapter', async (h) => {
  const server = createServer(partnerRequestListener(h));
  const base = await listen(server);
  return {
    base,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
});

adapterSuite('express adapter', async (h) => {
  const app = express();
  app.use(expressPartnerRouter(h));
  app.use(express.json()); // the app's own JSON routes, after the router
  app.post('/echo', (req, res) => void res.json({ got: req.body }));
  const server = createServer(app);
  const base = await listen(server);
  // the app's other routes still parse JSON
  const echo = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
  assert.deepEqual(await echo.json(), { got: { a: 1 } });
  return {
    base,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
});

adapterSuite('fastify adapter', async (h) => {
  const app: FastifyInstance = Fastify();
  await app.register(fastifyPartnerPlugin, { handlers: h });
  app.post('/echo', async (req) => ({ got: req.body }));
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const echo = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
  assert.deepEqual(await echo.json(), { got: { a: 1 } });
  return { base, close: () => app.close() };
});

describe('adapter misuse', () => {
  it('express with a global express.json() before the router answers a signed FAIL, not a re-serialised check', async () => {
    const { handlers } = makeHandlers();
    const app = express();
    app.use(express.json());
    app.use(expressPartnerRouter(handlers));
    const server = createServer(app);
    const base = await listen(server);
    try {
      const req = signedRequest(oddCreateOrder());
      const res = await post(`${base}/dingdang/create-order`, req.rawBody, req.headers);
      const reply = readReply(res, 'createOrderReply');
      assert.deepEqual([reply.retCode, reply.retMsg], ['FAIL', 'raw body unavailable']);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('node http adapter: GET is 405, unknown path 404', async () => {
    const { handlers } = makeHandlers();
    const server = createServer(partnerRequestListener(handlers));
    const base = await listen(server);
    try {
      assert.equal((await fetch(`${base}/dingdang/deliver`)).status, 405);
      assert.equal((await fetch(`${base}/other`, { method: 'POST', body: '{}' })).status, 404);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
