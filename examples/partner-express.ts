/**
 * A skill backend in an Express app. The partner router reads raw bytes
 * with `express.raw` on its own routes; mount it BEFORE `express.json()`.
 *
 *   TSK_PUBLIC_KEY=tsk.txt SKILL_PRIVATE_KEY=keys/private_key.pem SKILL_ID=mySkill \
 *     node --import tsx examples/partner-express.ts
 */
import { existsSync, readFileSync } from 'node:fs';
import express from 'express';
import { catalogFrom, createPartnerHandlers, SqlitePartnerStore } from '../src/partner/index.js';
import { expressPartnerRouter } from '../src/partner/adapters/express.js'; // dingdang-pay/partner/express

const key = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`set ${name} (PEM, bare Base64, or a file path)`);
  return existsSync(v) ? readFileSync(v, 'utf8') : v;
};

const store = new SqlitePartnerStore({ filename: process.env.DB ?? 'partner.db' });
await store.init();

const handlers = createPartnerHandlers({
  skillId: process.env.SKILL_ID ?? 'mySkill',
  tskPublicKey: key('TSK_PUBLIC_KEY'),
  skillPrivateKey: key('SKILL_PRIVATE_KEY'),
  store,
  catalog: catalogFrom([{ itemId: 'ep35', price: 200 }]),
  deliver: async ({ order, idempotencyKey }) => console.log('deliver', idempotencyKey, order.userToken),
});

const app = express();
app.use(expressPartnerRouter(handlers)); // POST /dingdang/create-order, /dingdang/deliver, /dingdang/refund-notify
app.use(express.json()); // the rest of your app
app.get('/owns/:user/:item', async (req, res) => {
  res.json({ owns: await store.ownsItem(process.env.SKILL_ID ?? 'mySkill', req.params.user, req.params.item) });
});
const server = app.listen(Number(process.env.PORT ?? 8080), () => {
  const { port } = server.address() as import('node:net').AddressInfo;
  console.log(`partner backend listening on http://127.0.0.1:${port}`);
});
// Timeouts for a server facing the internet: slow heads or bodies are cut off (408), idle keep-alive closed.
server.headersTimeout = 10_000;
server.requestTimeout = 15_000;
server.keepAliveTimeout = 10_000;
