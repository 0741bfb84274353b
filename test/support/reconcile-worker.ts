/**
 * One reconciler process for test/heavy/partner-reconcile-processes.test.ts:
 * the real handlers, pay client and reconciler over a shared SQLite file or
 * PostgreSQL database. At `startAt` (epoch ms) it runs passes until one finds
 * nothing, then prints the summed report as one JSON line and exits.
 *
 *   node --import tsx test/support/reconcile-worker.ts '<json ReconcileWorkerArgs>'
 *
 * The deliver hook logs every run (tradeNo, attempt, pid) to `hookLog`;
 * with `revokeLog`, every revocation that took something back (tradeNo, pid)
 * is logged there.
 */
import { appendFileSync } from 'node:fs';
import {
  catalogFrom,
  createPartnerHandlers,
  createPayClient,
  createReconciler,
  PostgresPartnerStore,
  SqlitePartnerStore,
  type PartnerStore,
} from '../../src/partner/index.js';

export interface ReconcileWorkerArgs {
  kind: 'sqlite' | 'postgres';
  target: string;
  skillId: string;
  tskPublicKey: string;
  skillPrivateKey: string;
  payBaseUrl: string;
  hookLog: string;
  batchSize: number;
  startAt: number;
  /** Log every revocation that took something back here (JSON lines `{ tradeNo, pid }`). */
  revokeLog?: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as ReconcileWorkerArgs;
const backing: PartnerStore =
  args.kind === 'sqlite'
    ? new SqlitePartnerStore({ filename: args.target, busyTimeoutMs: 15_000, shared: true })
    : new PostgresPartnerStore({ connectionString: args.target, poolSize: 4 });
await backing.init();
const revokeLog = args.revokeLog;
const store: PartnerStore = revokeLog
  ? new Proxy(backing, {
      get(t, prop) {
        if (prop === 'revokeEntitlements')
          return async (tradeNo: string) => {
            const n = await t.revokeEntitlements(tradeNo);
            if (n > 0) appendFileSync(revokeLog, JSON.stringify({ tradeNo, pid: process.pid }) + '\n');
            return n;
          };
        const v = Reflect.get(t, prop, t) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    })
  : backing;
const handlers = createPartnerHandlers({
  skillId: args.skillId,
  tskPublicKey: args.tskPublicKey,
  skillPrivateKey: args.skillPrivateKey,
  store,
  catalog: catalogFrom([]),
  deliver: ({ idempotencyKey, attempt }) => {
    appendFileSync(args.hookLog, JSON.stringify({ tradeNo: idempotencyKey, attempt, pid: process.pid }) + '\n');
  },
});
const pay = createPayClient({ skillId: args.skillId, skillPrivateKey: args.skillPrivateKey, tskPublicKey: args.tskPublicKey, baseUrl: args.payBaseUrl });
const reconciler = createReconciler({ store, pay, handlers, batchSize: args.batchSize, minAgeMs: 0 });
await new Promise((r) => setTimeout(r, Math.max(0, args.startAt - Date.now())));
const sum = { passes: 0, found: 0, delivered: 0, refundsSettled: 0, errors: 0 };
for (;;) {
  const r = await reconciler.runOnce();
  sum.passes++;
  sum.found += r.found;
  sum.delivered += r.delivered;
  sum.refundsSettled += r.refundsSettled;
  sum.errors += r.errors;
  if (r.found === 0) break;
}
await store.close();
process.stdout.write(JSON.stringify(sum) + '\n');
