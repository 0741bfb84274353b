/**
 * A separate OS process handling duplicate delivery notifications against a
 * shared store, for test/partner-stores-multiprocess.test.ts. It does what a
 * skill backend's delivery handler does with the store: claim, run the
 * `deliver` hook (here: append a line to a log file; its idempotency key is
 * the tradeNo), record the delivery.
 *
 *   node --import tsx test/support/claim-worker.ts '<json WorkerArgs>'
 *
 * (the test bundles it with esbuild and runs the bundle with plain node, to start faster)
 *
 * Line protocol (JSON per line): the worker prints {"ready":true} once its
 * store is open, waits for "go" on stdin, then prints its result. In the
 * crash modes it prints {"claimed":…} and then hangs until it is killed.
 */
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { DeliveryClaim, PartnerStore } from '../../src/partner/store.js';
import { PostgresPartnerStore, SqlitePartnerStore } from '../../src/partner/stores/index.js';

export interface WorkerArgs {
  kind: 'sqlite' | 'postgres';
  /** SQLite file or PostgreSQL connection string. */
  target: string;
  tradeNos: string[];
  /** How many concurrent duplicate notifications per order this process handles. */
  perOrder: number;
  leaseMs: number;
  /** File the fake deliver hook appends to: one JSON line per hook run. */
  hookLog: string;
  /**
   * normal: claim → hook → complete for every notification;
   * crash-before-hook / crash-after-hook: claim the first order, maybe run the hook, report, then hang (to be SIGKILLed).
   * refund: for every order, perOrder refunds of `refundAmt` fen race against the other process; half
   *   of them use refundTradeNos shared by every process (`S<order>x<k>`), half this process's own.
   */
  mode: 'normal' | 'crash-before-hook' | 'crash-after-hook' | 'refund';
  /** Refund mode: the amount of every refund. */
  refundAmt?: number;
  /** Each notification arrives after a random delay of 0..jitterMs (normal mode). */
  jitterMs: number;
  label: string;
}

export interface WorkerResult {
  done: true;
  label: string;
  pid: number;
  outcomes: Record<DeliveryClaim['kind'], number>;
  /** deliveredAt values returned by completeDelivery, per tradeNo. */
  delivered: Record<string, number[]>;
  errors: string[];
  /** Refund mode: refunds saved (or returned) per refundTradeNo, with their createdAt; refusals by code. */
  refunds?: Record<string, number>;
  refused?: Record<string, number>;
}

const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
const say = (msg: unknown) => process.stdout.write(JSON.stringify(msg) + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// never outlive a test run that lost track of us
setTimeout(() => process.exit(3), 60_000).unref();

function open(): PartnerStore {
  return args.kind === 'sqlite'
    ? new SqlitePartnerStore({ filename: args.target, busyTimeoutMs: 15_000 })
    : new PostgresPartnerStore({ connectionString: args.target, poolSize: 8 });
}

function hook(tradeNo: string, attempt: number) {
  // the partner's deliver hook: at-least-once, idempotency key = tradeNo
  appendFileSync(args.hookLog, JSON.stringify({ tradeNo, attempt, pid: process.pid, label: args.label }) + '\n');
}

async function main() {
  const store = open();
  await store.init();
  say({ ready: true, pid: process.pid });
  const lines = createInterface({ input: process.stdin });
  // "go <epoch ms>": every worker starts at the same wall-clock moment
  const go = await new Promise<string>((resolve) => lines.once('line', resolve));
  const startAt = Number(go.split(' ')[1] ?? 0) || Date.now();
  const untilStart = startAt - Date.now();
  if (untilStart > 0) await sleep(untilStart);

  if (args.mode === 'refund') {
    const refunds: Record<string, number> = {};
    const refused: Record<string, number> = {};
    const errors: string[] = [];
    const jobs: Promise<void>[] = [];
    args.tradeNos.forEach((tradeNo, o) => {
      for (let k = 0; k < args.perOrder; k++) {
        const refundTradeNo = k % 2 === 0 ? `S${o}x${k}` : `${args.label}${o}x${k}`;
        jobs.push(
          (async () => {
            await sleep(Math.floor(Math.random() * args.jitterMs));
            try {
              const r = await store.saveRefund({
                refundTradeNo,
                tradeNo,
                refundAmt: args.refundAmt ?? 30,
                status: 'PROCESSING',
                refundTransactionId: null,
                createdAt: Date.now(),
              });
              refunds[r.refundTradeNo] = r.createdAt;
            } catch (e) {
              const code = (e as { code?: string }).code ?? 'unknown';
              if (code === 'ERR_REFUND_EXCEEDS') refused[refundTradeNo] = 1;
              else errors.push(String(e));
            }
          })(),
        );
      }
    });
    await Promise.all(jobs);
    await store.close();
    const outcomes = { claimed: 0, 'already-delivered': 0, 'in-progress': 0, 'unknown-order': 0 };
    say({ done: true, label: args.label, pid: process.pid, outcomes, delivered: {}, errors, refunds, refused } satisfies WorkerResult);
    process.exit(0);
  }

  if (args.mode !== 'normal') {
    const tradeNo = args.tradeNos[0]!;
    const now = Date.now();
    const c = await store.claimDelivery(tradeNo, `tx-${tradeNo}`, args.leaseMs, now);
    if (c.kind === 'claimed' && args.mode === 'crash-after-hook') hook(tradeNo, c.attempt);
    say({ claimed: c.kind === 'claimed', kind: c.kind, attempt: c.kind === 'claimed' ? c.attempt : 0, now });
    setInterval(() => {}, 1000); // hang between claim and completeDelivery until SIGKILL
    return;
  }

  const outcomes: WorkerResult['outcomes'] = { claimed: 0, 'already-delivered': 0, 'in-progress': 0, 'unknown-order': 0 };
  const delivered: WorkerResult['delivered'] = {};
  const errors: string[] = [];
  const handle = async (tradeNo: string) => {
    try {
      await sleep(Math.floor(Math.random() * args.jitterMs)); // duplicates arrive spread out, interleaving both processes
      const c = await store.claimDelivery(tradeNo, `tx-${tradeNo}`, args.leaseMs, Date.now());
      outcomes[c.kind]++;
      if (c.kind !== 'claimed') return;
      hook(tradeNo, c.attempt);
      await sleep(Math.floor(Math.random() * 4)); // the hook takes a moment: others interleave
      const order = await store.completeDelivery(tradeNo, Date.now());
      (delivered[tradeNo] ??= []).push(order.deliveredAt ?? -1);
    } catch (e) {
      errors.push(String(e));
    }
  };
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < args.perOrder; i++) for (const t of args.tradeNos) jobs.push(handle(t));
  await Promise.all(jobs);
  await store.close();
  const result: WorkerResult = { done: true, label: args.label, pid: process.pid, outcomes, delivered, errors };
  say(result);
  process.exit(0);
}

main().catch((e: unknown) => {
  say({ fatal: String((e as Error)?.stack ?? e) });
  process.exit(2);
});
