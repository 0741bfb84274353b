/**
 * The partner kit's events (observer.ts) as prom-client metrics in a
 * Registry the caller passes in — our own extension (DingDang defines no
 * metrics). prom-client is an optional peer dependency: it is imported only
 * when `createPromObserver` runs without `client` (a dynamic import), never
 * by the kit's entry.
 *
 * ```ts
 * import { Registry } from 'prom-client';
 * const registry = new Registry();
 * const observer = await createPromObserver({ registry });
 * createPartnerHandlers({ …, observer });
 * createReconciler({ …, observer });
 * // GET /metrics → res.end(await registry.metrics()) with registry.contentType
 * ```
 *
 * Metrics (prefix `dingdang_partner_` by default):
 *
 * | name | type | labels | what |
 * |---|---|---|---|
 * | `requests_total` | counter | `interface`, `outcome` | platform requests answered (createOrder / deliver / refundNotify; success / refused / error) |
 * | `refusals_total` | counter | `interface`, `reason` | FAIL answers by reason (`signature:stale`, `replay`, `validation`, or the retMsg) |
 * | `duplicates_total` | counter | `kind`, `source` | exactly-once hits: a delivery of an order already delivered, a refund result for a refund already final |
 * | `deliveries_total` | counter | `source` | orders delivered (hook run and recorded) by notification / orderQuery / reconciler |
 * | `delivery_duration_seconds` | histogram | `source` | from the delivery claim to its durable record (hook + record) |
 * | `reconcile_backlog` | gauge | `kind` | orders / refunds the reconciler found open and has not yet seen settled (this instance) |
 * | `reconcile_recoveries_total` | counter | | orders delivered by the reconciler: a notification that was lost and then recovered |
 * | `reconcile_checks_total` | counter | `kind`, `outcome` | items checked by reconcile passes |
 * | `reconcile_passes_total` | counter | `result` | passes (`ok` / `failed`) |
 * | `refunds_total` | counter | `status`, `source` | refunds that reached a final state (SUCCESS / FAIL) |
 */
import { InvalidArgumentError } from '../../protocol/index.js';
import type { PartnerEvent, PartnerObserver } from '../observer.js';

type Labels = Record<string, string>;

/** What is needed of a prom-client `Registry` (structural: no prom-client types in the kit's declarations). */
export interface PromRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
  getSingleMetric(name: string): unknown;
}

interface MetricConfig {
  name: string;
  help: string;
  labelNames?: string[];
  registers: PromRegistry[];
}
interface CounterLike {
  inc(labels: Labels, value?: number): void;
}
interface GaugeLike {
  set(labels: Labels, value: number): void;
}
interface HistogramLike {
  observe(labels: Labels, value: number): void;
}

/**
 * The prom-client module (`import * as client from 'prom-client'`): its
 * `Counter`, `Gauge` and `Histogram` classes (called with prom-client's
 * configuration objects; typed loosely so that no prom-client type is named).
 */
export interface PromClientLike {
  Counter: new (config: never) => unknown;
  Gauge: new (config: never) => unknown;
  Histogram: new (config: never) => unknown;
}

export interface PromObserverOptions {
  /** The prom-client Registry the metrics are registered in (metrics of the same name already there are reused). */
  registry: PromRegistry;
  /** The prom-client module; default `await import('prom-client')`. */
  client?: PromClientLike;
  /** Metric name prefix; default `dingdang_partner_`. */
  prefix?: string;
  /** Buckets of `delivery_duration_seconds` (seconds). */
  buckets?: number[];
}

export const DEFAULT_DELIVERY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20];

/** Most ids the backlog remembers per kind (beyond it, new open items are not counted). */
const BACKLOG_MAX = 100_000;

async function loadClient(): Promise<PromClientLike> {
  const mod = (await import('prom-client')) as unknown as PromClientLike & { default?: PromClientLike };
  return typeof mod.Counter === 'function' ? mod : mod.default!;
}

/**
 * An observer counting the kit's events in `registry`. Rejects with
 * `InvalidArgumentError` for a missing registry or a bad prefix, and with the
 * import's error when prom-client is not installed and no `client` is given.
 */
export async function createPromObserver(options: PromObserverOptions): Promise<PartnerObserver> {
  const registry = options?.registry;
  if (!registry || typeof registry.metrics !== 'function' || typeof registry.getSingleMetric !== 'function')
    throw new InvalidArgumentError('registry must be a prom-client Registry');
  const prefix = options.prefix ?? 'dingdang_partner_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(prefix))
    throw new InvalidArgumentError('prefix must be a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
  const client = options.client ?? (await loadClient());
  const buckets = options.buckets ?? DEFAULT_DELIVERY_BUCKETS;

  const metric = <T>(kind: 'Counter' | 'Gauge' | 'Histogram', name: string, help: string, labelNames: string[], extra: object = {}): T => {
    const full = prefix + name;
    const existing = registry.getSingleMetric(full);
    if (existing) return existing as T;
    const config: MetricConfig = { name: full, help, labelNames, registers: [registry], ...extra };
    return new client[kind](config as never) as T;
  };
  const requests = metric<CounterLike>('Counter', 'requests_total', 'Platform requests answered, by interface and outcome', ['interface', 'outcome']);
  const refusals = metric<CounterLike>('Counter', 'refusals_total', 'Requests answered FAIL, by interface and reason', ['interface', 'reason']);
  const duplicates = metric<CounterLike>('Counter', 'duplicates_total', 'Exactly-once hits: repeats that changed nothing', ['kind', 'source']);
  const deliveries = metric<CounterLike>('Counter', 'deliveries_total', 'Orders delivered (hook run and recorded), by source', ['source']);
  const latency = metric<HistogramLike>(
    'Histogram',
    'delivery_duration_seconds',
    'From the delivery claim to its durable record (deliver hook and record), seconds',
    ['source'],
    { buckets },
  );
  const backlog = metric<GaugeLike>('Gauge', 'reconcile_backlog', 'Orders and refunds the reconciler found open and has not seen settled', ['kind']);
  const recoveries = metric<CounterLike>(
    'Counter',
    'reconcile_recoveries_total',
    'Orders delivered by the reconciler: a delivery notification lost, then recovered',
    [],
  );
  const checks = metric<CounterLike>('Counter', 'reconcile_checks_total', 'Items checked by reconcile passes, by kind and outcome', ['kind', 'outcome']);
  const passes = metric<CounterLike>('Counter', 'reconcile_passes_total', 'Reconcile passes, by result', ['result']);
  const refunds = metric<CounterLike>('Counter', 'refunds_total', 'Refunds that reached a final state, by status and source', ['status', 'source']);

  // Shown from the start: a scrape says 0, not nothing.
  recoveries.inc({}, 0);
  const open = { order: new Set<string>(), refund: new Set<string>() };
  const showBacklog = (kind: 'order' | 'refund') => backlog.set({ kind }, open[kind].size);
  showBacklog('order');
  showBacklog('refund');
  const settled = (kind: 'order' | 'refund', id: string) => {
    if (open[kind].delete(id)) showBacklog(kind);
  };

  return (e: PartnerEvent) => {
    switch (e.type) {
      case 'request':
        requests.inc({ interface: e.interface, outcome: e.outcome });
        if (e.reason !== undefined) refusals.inc({ interface: e.interface, reason: e.reason });
        return;
      case 'delivery':
        if (e.outcome === 'duplicate') duplicates.inc({ kind: 'delivery', source: e.source });
        if (e.outcome === 'delivered') {
          deliveries.inc({ source: e.source });
          if (e.durationMs !== undefined) latency.observe({ source: e.source }, e.durationMs / 1000);
          if (e.source === 'reconciler') recoveries.inc({});
        }
        if (e.outcome !== 'failed') settled('order', e.tradeNo);
        return;
      case 'refund':
        if (e.outcome === 'duplicate') duplicates.inc({ kind: 'refund', source: e.source });
        if (e.outcome === 'final') refunds.inc({ status: e.status, source: e.source });
        if (e.outcome === 'final' || e.outcome === 'duplicate') settled('refund', e.refundTradeNo);
        return;
      case 'reconcile.item':
        checks.inc({ kind: e.kind, outcome: e.outcome });
        if (e.outcome === 'open' || e.outcome === 'error') {
          if (!open[e.kind].has(e.id) && open[e.kind].size < BACKLOG_MAX) {
            open[e.kind].add(e.id);
            showBacklog(e.kind);
          }
        } else settled(e.kind, e.id);
        return;
      case 'reconcile.pass':
        passes.inc({ result: 'ok' });
        return;
      case 'reconcile.failed':
        passes.inc({ result: 'failed' });
        return;
    }
  };
}
