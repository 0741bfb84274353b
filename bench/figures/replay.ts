/**
 * replay-guard-ratio: what the store-backed replay guard costs a request.
 * The same signed delivery notifications through the same handlers on one
 * SQLite file, once with the per-process `NonceGuard` and once with
 * `storeReplayGuard` (one nonce write per request, what several instances on
 * one database need): per-op time with the memory guard ÷ per-op time with
 * the store guard, rounds interleaved, median. 1.0 = free.
 */
import { NonceGuard } from '../../src/protocol/index.js';
import { createPartnerHandlers, catalogFrom, storeReplayGuard, type PartnerHandlers } from '../../src/partner/index.js';
import { median, nowMs, round, scaled, type Figure } from '../lib.js';
import { rig, type Rig } from './notify.js';

const SKILL_ID = 'benchSkill01';

function handlers(r: Rig, store: boolean): PartnerHandlers {
  return createPartnerHandlers({
    skillId: SKILL_ID,
    tskPublicKey: r.platform.publicKey,
    skillPrivateKey: r.skill.privateKey,
    store: r.store,
    catalog: catalogFrom([{ itemId: 'ep35', price: 200 }]),
    deliver: () => undefined,
    nonceGuard: store ? storeReplayGuard(r.store) : new NonceGuard(),
  });
}

async function perOp(h: PartnerHandlers, r: Rig, n: number): Promise<number> {
  const reqs = await r.requests(n);
  const t0 = nowMs();
  for (const q of reqs) {
    const res = JSON.parse(Buffer.from((await h.deliver(q)).body).toString('utf8')) as { retCode: string };
    if (res.retCode !== 'SUCCESS') throw new Error(`delivery answered ${JSON.stringify(res)}`);
  }
  return (nowMs() - t0) / n;
}

export const replayGuardRatio: Figure = {
  name: 'replay-guard-ratio',
  unit: 'x',
  op: '>=',
  target: 0.8,
  what: 'delivery handler ms/op with the in-memory replay guard ÷ with the SQLite store-backed guard (one nonce write per request)',
  async run() {
    const r = await rig();
    try {
      const mem = handlers(r, false);
      const sto = handlers(r, true);
      await perOp(mem, r, 30);
      await perOp(sto, r, 30);
      const ratios: number[] = [];
      const a: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < scaled(10, 3); i++) {
        const m = await perOp(mem, r, scaled(80, 10));
        const s = await perOp(sto, r, scaled(80, 10));
        ratios.push(m / s);
        a.push(m);
        b.push(s);
      }
      return {
        value: round(median(ratios)),
        notes: { 'memory guard ms/op': round(median(a)), 'store guard ms/op': round(median(b)), rounds: ratios.length },
      };
    } finally {
      await r.close();
    }
  },
};
