/**
 * One skill-backend process for test/partner-delivery-processes.test.ts: the
 * partner handlers behind the node-http adapter on 127.0.0.1:0, over a shared
 * SQLite file or PostgreSQL database. Prints {"ready": port} on stdout.
 *
 *   node --import tsx test/support/partner-http-worker.ts '<json HttpWorkerArgs>'
 *
 * The deliver hook logs every run (tradeNo, attempt, pid) to `hookLog` and
 * performs an idempotent effect: an exclusive create of effects/<tradeNo>
 * (atomic across processes). With `crashInHook`, the process SIGKILLs itself
 * right after the hook's effect — between the hook and the record.
 */
import { appendFileSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  catalogFrom,
  createPartnerHandlers,
  partnerRequestListener,
  PostgresPartnerStore,
  SqlitePartnerStore,
  type PartnerStore,
} from '../../src/partner/index.js';

export interface HttpWorkerArgs {
  kind: 'sqlite' | 'postgres';
  target: string;
  skillId: string;
  tskPublicKey: string;
  skillPrivateKey: string;
  catalog: { itemId: string; price: number }[];
  hookLog: string;
  effectsDir: string;
  leaseMs: number;
  crashInHook?: boolean;
  hookDelayMs?: number;
  /** SQLite opened with `shared: true` (the replay guard in the file); PostgreSQL is shared anyway. */
  sharedStore?: boolean;
}

const args = JSON.parse(process.argv[2] ?? '{}') as HttpWorkerArgs;
const store: PartnerStore =
  args.kind === 'sqlite'
    ? new SqlitePartnerStore({ filename: args.target, busyTimeoutMs: 15_000, shared: args.sharedStore === true })
    : new PostgresPartnerStore({ connectionString: args.target, poolSize: 4 });
await store.init();
mkdirSync(args.effectsDir, { recursive: true });

const handlers = createPartnerHandlers({
  skillId: args.skillId,
  tskPublicKey: args.tskPublicKey,
  skillPrivateKey: args.skillPrivateKey,
  store,
  catalog: catalogFrom(args.catalog),
  leaseMs: args.leaseMs,
  inProgressWaitMs: 300,
  deliver: async ({ idempotencyKey, attempt }) => {
    appendFileSync(args.hookLog, JSON.stringify({ tradeNo: idempotencyKey, attempt, pid: process.pid }) + '\n');
    if (args.hookDelayMs) await new Promise((r) => setTimeout(r, args.hookDelayMs));
    try {
      closeSync(openSync(join(args.effectsDir, idempotencyKey), 'wx')); // the goods, once per key
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (args.crashInHook) process.kill(process.pid, 'SIGKILL');
  },
});

const server = createServer(partnerRequestListener(handlers));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ ready: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => {
  server.close();
  void store.close().finally(() => process.exit(0));
});
