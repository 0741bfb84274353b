/**
 * HTTP-layer fuzz of the partner adapters (node-http, Express, Fastify), each
 * on a real server on 127.0.0.1 with short timeouts (FUZZ_LIMITS): raw
 * request lines, targets, versions, header mutations, bodies, slow clients.
 * Every case: no 5xx, the server closes the connection, no uncaught
 * exception or unhandled rejection; afterwards a signed create order still
 * succeeds. test/heavy/fuzz-partner.test.ts fuzzes the signed interfaces.
 */
import { strict as assert } from 'node:assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { httpServerOptions } from '../../src/protocol/http-limits.js';
import { randomNonce } from '../../src/protocol/index.js';
import { catalogFrom, createPartnerHandlers, MemoryPartnerStore, partnerRequestListener, type PartnerHandlers } from '../../src/partner/index.js';
import { expressPartnerRouter } from '../../src/partner/adapters/express.js';
import { fastifyPartnerPlugin } from '../../src/partner/adapters/fastify.js';
import { CATALOG, createOrderBody, platform, readReply, signedRequest, skill, SKILL_ID } from '../support/partner-fixtures.js';
import { fuzzTimeout } from '../support/fuzz-common.js';
import { FUZZ_LIMITS, fuzzFixed, fuzzRandom, fuzzSlow, processGuard, type FuzzTarget } from '../support/fuzz-http.js';

const PATHS = ['/dingdang/create-order', '/dingdang/deliver', '/dingdang/refund-notify'];
const RUNS = 40;

function handlers(): PartnerHandlers {
  return createPartnerHandlers({
    skillId: SKILL_ID,
    tskPublicKey: platform.publicKeyBase64,
    skillPrivateKey: skill.privateKeyPem,
    store: new MemoryPartnerStore(),
    catalog: catalogFrom(CATALOG),
    deliver: () => undefined,
  });
}

/** A signed create order over HTTP: SUCCESS with a skill-signed reply. */
async function createOrderSucceeds(name: string, url: string): Promise<void> {
  const req = signedRequest(JSON.stringify(createOrderBody({ nonceStr: randomNonce() })));
  const res = await fetch(`${url}/dingdang/create-order`, {
    method: 'POST',
    headers: req.headers as Record<string, string>,
    body: new Uint8Array(req.rawBody),
    signal: AbortSignal.timeout(15_000),
  });
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200, `${name}: plain create order answered ${res.status}`);
  const reply = readReply({ headers: { authorization: res.headers.get('authorization') }, body }, 'createOrderReply');
  assert.equal(reply.retCode, 'SUCCESS', `${name}: ${body.toString('utf8')}`);
}

const urlOf = (server: http.Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const listen = (server: http.Server) => new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));

const guard = processGuard();
const servers: http.Server[] = [];
let fastify: FastifyInstance | undefined;
const targets: FuzzTarget[] = [];

before(async () => {
  const nodeServer = http.createServer(httpServerOptions(FUZZ_LIMITS), partnerRequestListener(handlers()));
  const app = express();
  app.use(expressPartnerRouter(handlers()));
  const expressServer = http.createServer(httpServerOptions(FUZZ_LIMITS), app);
  for (const s of [nodeServer, expressServer]) {
    await listen(s);
    servers.push(s);
  }
  fastify = Fastify({
    serverFactory: (handler) => http.createServer(httpServerOptions(FUZZ_LIMITS), handler),
    keepAliveTimeout: FUZZ_LIMITS.keepAliveTimeoutMs,
    requestTimeout: FUZZ_LIMITS.requestTimeoutMs,
  });
  await fastify.register(fastifyPartnerPlugin, { handlers: handlers() });
  const fastifyUrl = (await fastify.listen({ port: 0, host: '127.0.0.1' })).replace(/\/$/, '');
  for (const [name, url] of [
    ['node-http', urlOf(nodeServer)],
    ['express', urlOf(expressServer)],
    ['fastify', fastifyUrl],
  ] as const)
    targets.push({ name, url, paths: PATHS, alive: () => createOrderSucceeds(name, url) });
});

after(async () => {
  for (const s of servers) {
    const closed = new Promise<void>((r) => s.close(() => r()));
    s.closeAllConnections();
    await closed;
  }
  await fastify?.close();
  guard.dispose();
});

describe('partner adapters: HTTP-layer fuzz', () => {
  for (const name of ['node-http', 'express', 'fastify']) {
    const target = () => targets.find((t) => t.name === name)!;
    it(`${name}: hand-picked raw requests (lines, versions, headers, bodies) — no 5xx, still answering`, { timeout: 180_000 }, async () => {
      await fuzzFixed(target());
      guard.assertClean();
    });
    it(`${name}: random raw requests (seeded, ${RUNS} runs × 4)`, { timeout: fuzzTimeout(RUNS * 4) }, async () => {
      await fuzzRandom(target(), RUNS);
      guard.assertClean();
    });
    it(`${name}: slow head, slow body, idle connections are cut off by the server`, { timeout: 120_000 }, async () => {
      await fuzzSlow(target(), '/dingdang/deliver');
      guard.assertClean();
    });
  }
});
