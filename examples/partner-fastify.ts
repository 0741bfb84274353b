/**
 * A skill backend in a Fastify app. The plugin keeps raw bytes
 * (`parseAs: 'buffer'`) inside its own context; your other routes keep JSON.
 *
 *   TSK_PUBLIC_KEY=tsk.txt SKILL_PRIVATE_KEY=keys/private_key.pem SKILL_ID=mySkill \
 *     node --import tsx examples/partner-fastify.ts
 */
import { existsSync, readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { catalogFrom, createPartnerHandlers, SqlitePartnerStore } from '../src/partner/index.js';
import { fastifyPartnerPlugin } from '../src/partner/adapters/fastify.js'; // dingdang-pay/partner/fastify

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

// Timeouts for a server facing the internet: slow heads or bodies are cut off, idle keep-alive closed.
const app = Fastify({ logger: process.env.LOG === '1', connectionTimeout: 15_000, requestTimeout: 15_000, keepAliveTimeout: 10_000 });
await app.register(fastifyPartnerPlugin, { handlers }); // add { prefix: '/pay' } to move the routes
app.addHook('onClose', () => store.close());
const address = await app.listen({ port: Number(process.env.PORT ?? 8080), host: '127.0.0.1' });
console.log(`partner backend listening on ${address}`);
