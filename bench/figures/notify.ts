/**
 * notify-ratio / notify-http-ratio: what the partner kit adds on top of the
 * unavoidable crypto of one delivery notification.
 *
 * Baseline (measured in the same run, interleaved round by round): one
 * RSA-2048 verify of a request-sized SigningContent with the platform public
 * key plus one RSA-2048 sign of a reply-sized SigningContent with the skill
 * private key, straight on node:crypto.
 *
 * Measured: the real delivery handler (`createPartnerHandlers().deliver`):
 * TSK-RSA2 verify over the raw bytes, JSON + wire validation, nonce guard,
 * order checks, claim + complete in a real SQLite file (WAL,
 * synchronous=FULL) in os.tmpdir(), the deliver hook (a no-op), a signed
 * reply. The same is measured again with the file on /dev/shm (tmpfs, no
 * fsync) and reported in the notes, to separate the disk from the code. Each call
 * delivers a fresh order (created beforehand, outside the timing); the
 * platform's request signing is done beforehand too.
 *
 * Ratio = baseline time per op ÷ handler time per op (1.0 = the handler costs
 * nothing beyond the crypto). Median of the per-round ratios.
 */
import { sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTskDatetime, generateTskKeyPair, randomNonce, signingContent, signRsa2, type TskKeyPair } from '../../src/protocol/index.js';
import {
  catalogFrom,
  createPartnerHandlers,
  partnerRequestListener,
  SqlitePartnerStore,
  type PartnerHandlers,
  type PartnerRequest,
} from '../../src/partner/index.js';
import { median, nowMs, round, scaled, type Figure, type FigureResult } from '../lib.js';

const SKILL_ID = 'benchSkill01';

export interface Rig {
  platform: TskKeyPair;
  skill: TskKeyPair;
  store: SqlitePartnerStore;
  handlers: PartnerHandlers;
  dir: string;
  delivered: number;
  /** Fresh signed delivery requests, one per not-yet-delivered order. */
  requests(n: number): Promise<PartnerRequest[]>;
  close(): Promise<void>;
}

export async function rig(base = tmpdir()): Promise<Rig> {
  const platform = generateTskKeyPair();
  const skill = generateTskKeyPair();
  const dir = mkdtempSync(join(base, 'ddp-bench-notify-'));
  const store = new SqlitePartnerStore(join(dir, 'partner.db'));
  await store.init();
  const r: Rig = {
    platform,
    skill,
    store,
    dir,
    delivered: 0,
    handlers: undefined as unknown as PartnerHandlers,
    async requests(n) {
      const out: PartnerRequest[] = [];
      for (let i = 0; i < n; i++) {
        const tradeNo = randomNonce(24);
        await store.createOrder({
          tradeNo,
          skillId: SKILL_ID,
          userToken: 'user-1',
          details: [{ itemId: 'ep35', quantity: 1, amount: 200 }],
          totalAmt: 200,
          createdAt: Date.now(),
        });
        const body = Buffer.from(
          JSON.stringify({ skillId: SKILL_ID, userToken: 'user-1', transactionId: 'DD' + tradeNo, tradeNo, totalAmt: 200, nonceStr: randomNonce() }),
        );
        const authorization = signRsa2(body, platform.privateKey, { datetime: formatTskDatetime(Date.now()) });
        out.push({ headers: { authorization, 'content-type': 'application/json' }, rawBody: body });
      }
      return out;
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  r.handlers = createPartnerHandlers({
    skillId: SKILL_ID,
    tskPublicKey: platform.publicKey,
    skillPrivateKey: skill.privateKey,
    store,
    catalog: catalogFrom([{ itemId: 'ep35', price: 200 }]),
    deliver: () => {
      r.delivered++;
    },
  });
  return r;
}

/** The bare crypto of one notification: verify the request, sign a reply. */
function baselineOp(r: Rig, sample: PartnerRequest, sig: Buffer, reply: Uint8Array): void {
  const stamp = formatTskDatetime(Date.now());
  const ok = cryptoVerify('sha256', signingContent(sample.rawBody, stamp), r.platform.publicKey, sig);
  // The signature was made over another stamp, so `ok` is false; the work is identical.
  void ok;
  cryptoSign('sha256', signingContent(reply, stamp), r.skill.privateKey);
}

function timeBaseline(r: Rig, n: number, sample: PartnerRequest): number {
  const sig = Buffer.from(String(sample.headers.authorization).split('Signature=')[1] ?? '', 'base64');
  const reply = Buffer.from('{"retCode":"SUCCESS"}');
  const t0 = nowMs();
  for (let i = 0; i < n; i++) baselineOp(r, sample, sig, reply);
  return (nowMs() - t0) / n;
}

type Send = (req: PartnerRequest) => Promise<{ retCode: string }>;

async function ratioRun(send: Send, r: Rig, opts: { rounds: number; perRound: number; warmup: number }): Promise<FigureResult> {
  // Warm up both paths (JIT, SQLite page cache, sockets).
  const warm = await r.requests(opts.warmup);
  for (const q of warm) {
    const res = await send(q);
    if (res.retCode !== 'SUCCESS') throw new Error(`warm-up delivery answered ${JSON.stringify(res)}`);
  }
  timeBaseline(r, opts.warmup, warm[0]!);

  const ratios: number[] = [];
  const base: number[] = [];
  const hand: number[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    const reqs = await r.requests(opts.perRound);
    const b = timeBaseline(r, opts.perRound, reqs[0]!);
    const t0 = nowMs();
    for (const q of reqs) {
      const res = await send(q);
      if (res.retCode !== 'SUCCESS') throw new Error(`delivery answered ${JSON.stringify(res)}`);
    }
    const h = (nowMs() - t0) / opts.perRound;
    ratios.push(b / h);
    base.push(b);
    hand.push(h);
  }
  return {
    value: round(median(ratios)),
    notes: {
      'baseline ms/op': round(median(base)),
      'handler ms/op': round(median(hand)),
      rounds: opts.rounds,
      'ops/round': opts.perRound,
      'ratio min..max': `${round(Math.min(...ratios))}..${round(Math.max(...ratios))}`,
    },
  };
}

/** /dev/shm when it exists and the default temp dir is elsewhere: the same run without the disk's fsync. */
function tmpfsDir(): string | undefined {
  return existsSync('/dev/shm') && !tmpdir().startsWith('/dev/shm') ? '/dev/shm' : undefined;
}

function decode(body: Uint8Array): { retCode: string } {
  return JSON.parse(Buffer.from(body).toString('utf8')) as { retCode: string };
}

export const notifyRatio: Figure = {
  name: 'notify-ratio',
  unit: 'x',
  op: '>=',
  target: 0.85,
  what: 'bare RSA verify+sign time ÷ in-process delivery handler time (verify, validate, SQLite record, signed reply)',
  async run() {
    const once = async (base?: string) => {
      const r = await rig(base);
      try {
        const res = await ratioRun(async (q) => decode((await r.handlers.deliver(q)).body), r, {
          rounds: scaled(15, 3),
          perRound: scaled(100, 10),
          warmup: 50,
        });
        const count = (r.store.db.prepare(`SELECT count(*) AS n FROM partner_orders WHERE status = 'DELIVERED'`).get() as { n: number }).n;
        if (count !== r.delivered) throw new Error(`store has ${count} deliveries, hook ran ${r.delivered} times`);
        return res;
      } finally {
        await r.close();
      }
    };
    const res = await once();
    const shm = tmpfsDir();
    if (shm) {
      const mem = await once(shm);
      res.notes = { ...res.notes, 'ratio with the SQLite file on tmpfs (no fsync)': mem.value, 'tmpfs handler ms/op': mem.notes?.['handler ms/op'] ?? '?' };
    }
    return res;
  },
};

export const notifyHttpRatio: Figure = {
  name: 'notify-http-ratio',
  unit: 'x',
  op: '>=',
  target: 0.6,
  what: 'bare RSA verify+sign time ÷ delivery over loopback HTTP (node-http adapter, keep-alive client in the same process)',
  async run() {
    const res = await httpOnce();
    const shm = tmpfsDir();
    if (shm) {
      const mem = await httpOnce(shm);
      res.notes = { ...res.notes, 'ratio with the SQLite file on tmpfs (no fsync)': mem.value, 'tmpfs handler ms/op': mem.notes?.['handler ms/op'] ?? '?' };
    }
    return res;
  },
};

async function httpOnce(base?: string): Promise<FigureResult> {
  const r = await rig(base);
  const server = http.createServer(partnerRequestListener(r.handlers));
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const send: Send = (q) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/dingdang/deliver',
          method: 'POST',
          agent,
          headers: { ...q.headers, 'content-length': q.rawBody.length } as http.OutgoingHttpHeaders,
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => (res.statusCode === 200 ? resolve(decode(Buffer.concat(chunks))) : reject(new Error(`HTTP ${res.statusCode}`))));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(q.rawBody);
    });
  try {
    return await ratioRun(send, r, { rounds: scaled(15, 3), perRound: scaled(100, 10), warmup: 50 });
  } finally {
    agent.destroy();
    await new Promise<void>((res) => server.close(() => res()));
    await r.close();
  }
}
