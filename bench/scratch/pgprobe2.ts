import { randomNonce, signRsa2 } from '../../src/protocol/index.js';
import { PostgresPartnerStore, createPartnerHandlers, catalogFrom } from '../../src/partner/index.js';
import { CATALOG, deliverBody, platform, skill, SKILL_ID } from '../../test/partner-fixtures.js';
import { startPostgres } from '../../test/support/postgres.js';
const pg = await startPostgres();
const url = await pg.createDatabase();
const store = new PostgresPartnerStore({ connectionString: url, poolSize: 4 });
await store.init();
const tradeNos = Array.from({ length: 100 }, () => 'C' + randomNonce(20));
for (const tradeNo of tradeNos) await store.createOrder({ tradeNo, skillId: SKILL_ID, userToken: 'user-1', details: [{ itemId: 'ep35', quantity: 1, amount: 200 }], totalAmt: 200, createdAt: Date.now() });
const h = createPartnerHandlers({ skillId: SKILL_ID, tskPublicKey: platform.publicKey, skillPrivateKey: skill.privateKey, store, catalog: catalogFrom(CATALOG), deliver: () => {} });
const T: Record<string, number> = {};
for (const m of ['getOrder', 'claimDelivery', 'completeDelivery'] as const) {
  const orig = (store as any)[m].bind(store);
  (store as any)[m] = async (...a: unknown[]) => { const t = performance.now(); try { return await orig(...a); } finally { T[m] = (T[m] ?? 0) + performance.now() - t; } };
}
const t = performance.now();
for (const tradeNo of tradeNos) {
  const body = JSON.stringify(deliverBody(tradeNo));
  const r = await h.deliver({ headers: { authorization: signRsa2(body, platform.privateKey) }, rawBody: Buffer.from(body) });
  if (!r.body.toString().includes('SUCCESS')) throw new Error(r.body.toString());
}
console.log('in-process ms/op', (performance.now() - t) / 100, Object.fromEntries(Object.entries(T).map(([k, v]) => [k, v / 100])));
await store.close(); await pg.stop();
