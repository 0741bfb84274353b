/**
 * junk-ratio: what refusing junk costs a partner endpoint, against the
 * cheapest thing the same server does.
 *
 * node-http partner servers (the real handlers, memory store) on loopback;
 * a keep-alive client in the same process with 8 requests in flight. Junk:
 * `POST /dingdang/deliver` with a delivery-shaped body and a forged
 * TSK-RSA2 Authorization (the answer is a signed FAIL). Baseline: `POST
 * /nope` with the same body on the same server (a plain 404). Rounds
 * alternate; ratio = junk requests/s ÷ 404s/s, median of the per-round
 * ratios. 1.0 = a refusal costs what a 404 costs.
 *
 * The figure is a flood of forged requests from one peer, as an endpoint on
 * the internet sees it: the per-peer budget of failed checks is on (the
 * bench's loopback peer is not exempted, as it is by default) and, once it
 * is spent, the refusal is a reused signed FAIL answered before the body is
 * read. The notes give the other cases: forged requests each checked (no
 * budget: one RSA verify each, the cost a flood spread over many peers
 * has), requests without an Authorization (refused unread), and the
 * sandbox's pay CGI (a forged `/paycgi/orderquery` ÷ a 404 of the sandbox).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatTskDatetime, generateTskKeyPair, randomNonce } from '../../src/protocol/index.js';
import { catalogFrom, createPartnerHandlers, MemoryPartnerStore, partnerRequestListener, type PartnerOptions } from '../../src/partner/index.js';
import { parseSandboxConfig, Sandbox } from '../../src/sandbox/index.js';
import { median, nowMs, round, scaled, type Figure } from '../lib.js';

interface Shot {
  method: string;
  path: string;
  body?: Buffer;
  headers?: Record<string, string>;
  expect: number;
}

/** `n` requests, `inFlight` at a time, over one keep-alive agent; requests per second. */
async function rate(base: URL, agent: http.Agent, shot: Shot, n: number, inFlight = 8): Promise<number> {
  let left = n;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const headers: Record<string, string> = { ...shot.headers };
      if (shot.body) headers['content-length'] = String(shot.body.length);
      const req = http.request({ host: base.hostname, port: base.port, method: shot.method, path: shot.path, agent, headers }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === shot.expect ? resolve() : reject(new Error(`${shot.path}: HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(shot.body);
    });
  const worker = async () => {
    while (left-- > 0) await one();
  };
  const t0 = nowMs();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return n / ((nowMs() - t0) / 1000);
}

async function ratio(base: URL, junk: Shot, plain: Shot): Promise<{ ratio: number; junk: number; plain: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  try {
    const n = scaled(400, 50);
    await rate(base, agent, junk, 100);
    await rate(base, agent, plain, 100);
    const ratios: number[] = [];
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < scaled(8, 3); i++) {
      const j = await rate(base, agent, junk, n);
      const p = await rate(base, agent, plain, n);
      ratios.push(j / p);
      a.push(j);
      b.push(p);
    }
    return { ratio: median(ratios), junk: median(a), plain: median(b) };
  } finally {
    agent.destroy();
  }
}

const forged = () => `TSK-RSA2 Datetime=${formatTskDatetime(Date.now())}, Signature=${Buffer.alloc(256, 7).toString('base64')}`;

export const junkRatio: Figure = {
  name: 'junk-ratio',
  unit: 'x',
  op: '>=',
  target: 0.8,
  what: 'forged requests from one peer refused (signed FAIL, per-peer budget on) per second ÷ plain 404s per second, same partner server, same run',
  async run() {
    const platform = generateTskKeyPair();
    const skill = generateTskKeyPair();
    const serve = async (peerLimit: PartnerOptions['peerLimit']) => {
      const handlers = createPartnerHandlers({
        skillId: 'benchSkill01',
        tskPublicKey: platform.publicKey,
        skillPrivateKey: skill.privateKey,
        store: new MemoryPartnerStore(),
        catalog: catalogFrom([{ itemId: 'ep35', price: 200 }]),
        deliver: () => undefined,
        peerLimit,
      });
      const server = http.createServer(partnerRequestListener(handlers));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return server;
    };
    const server = await serve({ exempt: () => false });
    const unlimited = await serve(false);
    const sandbox = await Sandbox.start({
      config: parseSandboxConfig({
        skills: [
          {
            skillId: 'benchSkill01',
            skillEndpoint: 'http://127.0.0.1:9/skill',
            skillSecret: 'bench-secret',
            createOrderUrl: 'http://127.0.0.1:9/create',
            deliverUrl: 'http://127.0.0.1:9/deliver',
            refundNotifyUrl: 'http://127.0.0.1:9/refund',
            skillPublicKey: skill.publicKeyBase64,
          },
        ],
      }),
    });
    try {
      const body = Buffer.from(
        JSON.stringify({ skillId: 'benchSkill01', userToken: 'u1', transactionId: 'DD1', tradeNo: 'T1', totalAmt: 200, nonceStr: randomNonce() }),
      );
      const partnerBase = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const unlimitedBase = new URL(`http://127.0.0.1:${(unlimited.address() as AddressInfo).port}`);
      const json = { 'content-type': 'application/json' };
      const partner = await ratio(
        partnerBase,
        { method: 'POST', path: '/dingdang/deliver', body, headers: { ...json, authorization: forged() }, expect: 200 },
        { method: 'POST', path: '/nope', body, headers: { ...json, authorization: forged() }, expect: 404 },
      );
      const checked = await ratio(
        unlimitedBase,
        { method: 'POST', path: '/dingdang/deliver', body, headers: { ...json, authorization: forged() }, expect: 200 },
        { method: 'POST', path: '/nope', body, headers: { ...json, authorization: forged() }, expect: 404 },
      );
      const unsigned = await ratio(
        unlimitedBase,
        { method: 'POST', path: '/dingdang/deliver', body, headers: json, expect: 200 },
        { method: 'POST', path: '/nope', body, headers: json, expect: 404 },
      );
      const cgiBody = Buffer.from(JSON.stringify({ skillId: 'benchSkill01', tradeNo: 'T1', nonceStr: randomNonce() }));
      const cgi = await ratio(
        new URL(sandbox.url),
        { method: 'POST', path: '/paycgi/orderquery', body: cgiBody, headers: { 'content-type': 'application/json', authorization: forged() }, expect: 200 },
        { method: 'POST', path: '/nope', body: cgiBody, headers: { 'content-type': 'application/json', authorization: forged() }, expect: 404 },
      );
      return {
        value: round(partner.ratio),
        notes: {
          'partner junk/s': Math.round(partner.junk),
          'partner 404/s': Math.round(partner.plain),
          'forged, each checked (no budget) ratio': round(checked.ratio),
          'partner unsigned ratio': round(unsigned.ratio),
          'sandbox paycgi ratio': round(cgi.ratio),
          'sandbox junk/s': Math.round(cgi.junk),
          'sandbox 404/s': Math.round(cgi.plain),
        },
      };
    } finally {
      await sandbox.close();
      for (const s of [server, unlimited]) {
        await new Promise<void>((r) => s.close(() => r()));
        s.closeAllConnections();
      }
    }
  },
};
