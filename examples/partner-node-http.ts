/**
 * A skill backend on Node's own `http` module: the three platform interfaces
 * on /dingdang/*, orders in SQLite.
 *
 *   TSK_PUBLIC_KEY=tsk.txt SKILL_PRIVATE_KEY=keys/private_key.pem SKILL_ID=mySkill \
 *     node --import tsx examples/partner-node-http.ts
 *
 * Keys are PEM or bare Base64, inline or as a file path. Register
 * http://HOST:PORT/dingdang/create-order, …/deliver and …/refund-notify.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { catalogFrom, createPartnerHandlers, partnerRequestListener, SqlitePartnerStore } from '../src/partner/index.js';

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
  catalog: catalogFrom([{ itemId: 'ep35', price: 200, name: '万古神帝 第35集' }]),
  // At-least-once with a stable key: make it idempotent on `idempotencyKey`.
  deliver: async ({ order, idempotencyKey }) => {
    console.log(`deliver ${idempotencyKey}: ${order.details.map((d) => d.itemId).join(', ')} to ${order.userToken}`);
  },
});

// Timeouts for a server facing the internet: a client that sends its head or body slowly is cut
// off (408), an idle keep-alive connection closed, an oversized head refused (431).
const server = createServer(
  { headersTimeout: 10_000, requestTimeout: 15_000, keepAliveTimeout: 10_000, maxHeaderSize: 16 * 1024 },
  partnerRequestListener(handlers),
);
server.listen(Number(process.env.PORT ?? 8080), () => {
  const { port } = server.address() as import('node:net').AddressInfo;
  console.log(`partner backend listening on http://127.0.0.1:${port}`);
});
