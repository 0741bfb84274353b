/**
 * `dingdang-pay reconcile`: settle what the notifications did not, over the
 * backend's own store (`--db FILE.sqlite` or `--pg URL`), through the pay
 * interfaces (the pay flags of pay-setup.ts): one pass, or a pass every
 * `--interval` ms with `--watch` until SIGINT / SIGTERM. Each report is one
 * JSON line on stdout. Paid orders are delivered by recording the delivery
 * in the store (the store's entitlements are the goods); a backend whose
 * deliver hook does more runs `createReconciler` in its own process instead.
 * Exit 0 when the pass had no errors, 1 otherwise, 2 for a usage error.
 */
import { catalogFrom, createPartnerHandlers, createReconciler, PostgresPartnerStore, SqlitePartnerStore, type PartnerStore } from '../../partner/index.js';
import { parseOptions, str, UsageError, write, type Command } from '../io.js';
import { PAY_CLIENT_HELP, PAY_CLIENT_OPTIONS, payClientFrom, type Values } from './pay-setup.js';

function msFlag(v: Values, flag: string): number | undefined {
  const text = str(v[flag]);
  if (text === undefined) return undefined;
  if (!/^\d{1,12}$/.test(text)) throw new UsageError(`--${flag} must be a whole number of ms`);
  return Number(text);
}

function storeFrom(v: Values): PartnerStore {
  const db = str(v.db);
  const pg = str(v.pg);
  if ((db === undefined) === (pg === undefined)) throw new UsageError('--db FILE.sqlite or --pg URL (one of them) is required');
  return db !== undefined ? new SqlitePartnerStore({ filename: db }) : new PostgresPartnerStore({ connectionString: pg!, poolSize: 2 });
}

export const reconcile: Command = {
  summary: 'settle undelivered orders and open refunds through orderquery / refundquery, print the report',
  usage: `Usage: dingdang-pay reconcile (--db FILE.sqlite | --pg URL) (--sandbox URL | --base-url URL --tsk-public-key FILE) --skill-id ID --key FILE [--watch] [--interval MS]

Orders still undelivered after --min-age are asked about (orderquery): paid ones
are delivered (recorded in the store, once), failed ones and ones unpaid past
--close-after are closed locally; refunds still PROCESSING are asked about
(refundquery). Prints one JSON report per pass.

Options:
  --db FILE             the backend's SQLite store
  --pg URL              or its PostgreSQL store (postgresql://…)
  --watch               keep going: a pass every --interval ms until interrupted
  --interval MS         between passes with --watch (default 30000)
  --batch N             items per pass, orders and refunds each (default 50)
  --min-age MS          only orders older than this (default 60000)
  --close-after MS      the payment window (default 1800000)
${PAY_CLIENT_HELP}`,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      ...PAY_CLIENT_OPTIONS,
      db: { type: 'string' },
      pg: { type: 'string' },
      watch: { type: 'boolean' },
      interval: { type: 'string' },
      batch: { type: 'string' },
      'min-age': { type: 'string' },
      'close-after': { type: 'string' },
    });
    if (values.help) return (write(io.stdout, this.usage), 0);
    const batchText = str(values.batch);
    if (batchText !== undefined && !/^[1-9]\d{0,3}$/.test(batchText)) throw new UsageError('--batch must be a whole number 1–9999');
    const interval = msFlag(values, 'interval');
    const minAgeMs = msFlag(values, 'min-age');
    const closeAfterMs = msFlag(values, 'close-after');
    const setup = await payClientFrom(values);
    const store = storeFrom(values);
    try {
      await store.init();
      const handlers = createPartnerHandlers({
        skillId: setup.skillId,
        tskPublicKey: setup.tskPublicKey,
        skillPrivateKey: setup.skillPrivateKey,
        store,
        catalog: catalogFrom([]),
        deliver: () => undefined, // the record (and its entitlements) is the delivery
      });
      const onError = (e: unknown, info: { kind: string; id?: string }) =>
        write(io.stderr, `${info.kind}${info.id ? ` ${info.id}` : ''}: ${(e as Error)?.message ?? String(e)}`);
      const reconciler = createReconciler({
        store,
        pay: setup.pay,
        handlers,
        onError,
        ...(batchText !== undefined ? { batchSize: Number(batchText) } : {}),
        ...(interval !== undefined ? { intervalMs: interval } : {}),
        ...(minAgeMs !== undefined ? { minAgeMs } : {}),
        ...(closeAfterMs !== undefined ? { closeAfterMs } : {}),
      });
      if (!values.watch) {
        const report = await reconciler.runOnce();
        write(io.stdout, JSON.stringify(report));
        return report.errors === 0 ? 0 : 1;
      }
      let last: unknown;
      const printer = setInterval(() => {
        const r = reconciler.lastReport;
        if (r && r !== last) write(io.stdout, JSON.stringify((last = r)));
      }, 200);
      reconciler.start();
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await reconciler.stop();
      clearInterval(printer);
      if (reconciler.lastReport && reconciler.lastReport !== last) write(io.stdout, JSON.stringify(reconciler.lastReport));
      return 0;
    } finally {
      await store.close();
    }
  },
};
