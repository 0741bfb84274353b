/**
 * PostgreSQL PartnerStore (`pg` Pool): for several backend instances
 * (processes, machines) sharing one database.
 *
 * * Exactly-once claims: one conditional `UPDATE … WHERE status = 'CREATED'
 *   AND (claim_until IS NULL OR claim_until <= now) RETURNING *`. Under READ
 *   COMMITTED a concurrent UPDATE of the same row waits for the row lock and
 *   then re-checks the WHERE clause on the new row version, so exactly one
 *   caller gets the row back, whichever process it runs in.
 * * `completeDelivery` marks the order delivered and grants its
 *   entitlements in one statement (`WITH done AS (UPDATE …) INSERT …`;
 *   the item ids come from the order's details, read first: they never change).
 * * Refunds lock their order row (`SELECT … FOR UPDATE`) in a transaction,
 *   so the sum of refunds never passes `totalAmt` under concurrency.
 * * `init()` creates the schema under a transaction-level advisory lock, so
 *   several instances may start at once.
 * * Timeouts: connect (default 5 s), statement (default 10 s).
 * * Leases (delivery claims, reconcile passes) and nonce expiries are dated
 *   and compared by the database's clock (`clock_timestamp()`), not each
 *   instance's `now`: two instances with skewed clocks never both hold a
 *   claim, and a nonce one of them remembered is live for all. The `now`
 *   arguments still date the records (`createdAt`, `deliveredAt`, …) and say
 *   when an item is due. `leaseClock: 'caller'` uses the `now` arguments
 *   instead (tests that simulate time; a single instance).
 *
 * This file: the pool, transactions, error mapping and the methods. The
 * schema is postgres-schema.ts, claims postgres-claims.ts, refunds
 * postgres-refunds.ts, reconciliation postgres-reconcile.ts; argument checks check-args.ts.
 */
import pg from 'pg';
import { InvalidArgumentError } from '../../protocol/index.js';
import { StoreError } from '../errors.js';
import type {
  CheckedDeliveryClaim,
  CreditConsumption,
  PurchasePage,
  PurchasePageOptions,
  DeliveryClaim,
  DeliveryExpectation,
  NewOrder,
  OrderReconcileState,
  PartnerOrder,
  PartnerStore,
  ReconcileClaimOptions,
  ReconcileOrderClaim,
  ReconcileRefundClaim,
  ReconcileSettle,
  Refund,
} from '../store.js';
import { checkArgs } from './check-args.js';
import { claimOrder, completeOrder, DB_NOW_MS, type LeaseClock } from './postgres-claims.js';
import * as lifecycle from './postgres-lifecycle.js';
import * as reconcile from './postgres-reconcile.js';
import { GET_REFUND, saveRefundTx, updateRefundTx } from './postgres-refunds.js';
import { migratePostgres, toOrder, toRefund, type OrderRow, type RefundRow } from './postgres-schema.js';

export { POSTGRES_SCHEMA, POSTGRES_SCHEMA_VERSION } from './postgres-schema.js';
export type { LeaseClock } from './postgres-claims.js';

export interface PostgresStoreOptions {
  /** e.g. postgresql://user:pass@host:5432/db */
  connectionString?: string;
  /** Use this pool instead (the store will not end it). */
  pool?: pg.Pool;
  /** Pool size when the store makes its own pool. Default 10. */
  poolSize?: number;
  /** Default 5000. */
  connectionTimeoutMs?: number;
  /** Server-side statement timeout. Default 10000. */
  statementTimeoutMs?: number;
  /**
   * The clock leases and nonce expiries are compared against. `'database'`
   * (default): PostgreSQL's `clock_timestamp()`, the same for every instance.
   * `'caller'`: the `now` each call passes (each instance's own clock; for
   * tests that simulate time, or a single instance).
   */
  leaseClock?: LeaseClock;
}

const RETRYABLE_SQLSTATE = new Set(['40001', '40P01', '55P03', '57014', '57P01', '57P02', '57P03', '53300', '08000', '08003', '08006']);

function wrap(e: unknown, what: string): unknown {
  if (e instanceof StoreError || e instanceof InvalidArgumentError) return e;
  const code = (e as { code?: unknown })?.code;
  const message = (e as Error)?.message ?? String(e);
  const retryable = (typeof code === 'string' && (RETRYABLE_SQLSTATE.has(code) || /^E[A-Z]+$/.test(code))) || /timeout|Connection terminated/i.test(message);
  return new StoreError('ERR_STORE', `postgres store: ${what} failed: ${message}`, { cause: e, retryable });
}

export class PostgresPartnerStore implements PartnerStore {
  readonly kind = 'postgres';
  /** Several instances share a PostgreSQL database: the handlers keep their replay guard in it by default. */
  readonly shared = true;
  #nonceChecks = 0;
  readonly pool: pg.Pool;
  /** See `PostgresStoreOptions.leaseClock`. */
  readonly leaseClock: LeaseClock;
  readonly #owned: boolean;
  #init: Promise<void> | undefined;
  #closed = false;

  constructor(options: PostgresStoreOptions | string) {
    const o: PostgresStoreOptions = typeof options === 'string' ? { connectionString: options } : (options ?? {});
    if (o.leaseClock !== undefined && o.leaseClock !== 'database' && o.leaseClock !== 'caller')
      throw new InvalidArgumentError("leaseClock must be 'database' or 'caller'");
    this.leaseClock = o.leaseClock ?? 'database';
    if (o.pool) {
      this.pool = o.pool;
      this.#owned = false;
    } else {
      if (typeof o.connectionString !== 'string' || o.connectionString === '') {
        throw new InvalidArgumentError('PostgresPartnerStore needs a connectionString or a pool');
      }
      const statementTimeout = o.statementTimeoutMs ?? 10_000;
      this.pool = new pg.Pool({
        connectionString: o.connectionString,
        max: o.poolSize ?? 10,
        connectionTimeoutMillis: o.connectionTimeoutMs ?? 5000,
        statement_timeout: statementTimeout,
        // client-side bound as well, in case the server stops answering
        query_timeout: statementTimeout + 5000,
        idleTimeoutMillis: 10_000,
      });
      this.#owned = true;
    }
    // an idle client losing its connection must not crash the process; the next query reports it
    this.pool.on('error', () => {});
  }

  init(): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreError('ERR_CLOSED', 'the store is closed'));
    this.#init ??= this.#tx((c) => migratePostgres(c), 'init').catch((e: unknown) => {
      this.#init = undefined; // let a later call try again
      throw e;
    });
    return this.#init;
  }

  async createOrder(order: NewOrder): Promise<PartnerOrder> {
    checkArgs.createOrder(order);
    await this.#ready();
    try {
      const { rows } = await this.pool.query<OrderRow>(
        `INSERT INTO partner_orders (trade_no, skill_id, user_token, details, total_amt, created_at, credits)
         VALUES ($1, $2, $3, $4::json, $5, $6, $7::json) RETURNING *`,
        [
          order.tradeNo,
          order.skillId,
          order.userToken,
          JSON.stringify(order.details),
          order.totalAmt,
          order.createdAt,
          order.credits && order.credits.length > 0
            ? JSON.stringify(order.credits.map(({ itemId, balance, count, onRefund }) => ({ itemId, balance, count, onRefund })))
            : null,
        ],
      );
      return toOrder(rows[0]!);
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw new StoreError('ERR_DUPLICATE', `order ${order.tradeNo} already exists`, { cause: e });
      throw wrap(e, 'createOrder');
    }
  }

  async getOrder(tradeNo: string): Promise<PartnerOrder | undefined> {
    checkArgs.getOrder(tradeNo);
    await this.#ready();
    const row = await this.#q<OrderRow>('getOrder', 'SELECT * FROM partner_orders WHERE trade_no = $1', [tradeNo]);
    return row[0] && toOrder(row[0]);
  }

  async claimDelivery(tradeNo: string, transactionId: string, leaseMs: number, now: number): Promise<DeliveryClaim> {
    checkArgs.claimDelivery(tradeNo, transactionId, leaseMs, now);
    await this.#ready();
    return (await claimOrder(this.#query, tradeNo, transactionId, leaseMs, now, undefined, this.leaseClock)) as DeliveryClaim;
  }

  async claimDeliveryChecked(tradeNo: string, transactionId: string, expect: DeliveryExpectation, leaseMs: number, now: number): Promise<CheckedDeliveryClaim> {
    checkArgs.claimDeliveryChecked(tradeNo, transactionId, expect, leaseMs, now);
    await this.#ready();
    return claimOrder(this.#query, tradeNo, transactionId, leaseMs, now, expect, this.leaseClock);
  }

  async completeDelivery(tradeNo: string, now: number): Promise<PartnerOrder> {
    checkArgs.completeDelivery(tradeNo, now);
    await this.#ready();
    // An order that grants credits is recorded in one transaction with its balances (postgres-lifecycle.ts).
    const cur = await this.#q<OrderRow>('completeDelivery', 'SELECT status, credits FROM partner_orders WHERE trade_no = $1', [tradeNo]);
    if (cur[0]?.status === 'CREATED' && cur[0].credits) return this.#tx((c) => lifecycle.completeWithCreditsTx(c, tradeNo, now), 'completeDelivery');
    return completeOrder(this.#query, tradeNo, now);
  }

  async releaseDelivery(tradeNo: string, attempt?: number): Promise<void> {
    checkArgs.releaseDelivery(tradeNo, attempt);
    await this.#ready();
    await this.#q(
      'releaseDelivery',
      `UPDATE partner_orders SET claim_until = NULL
        WHERE trade_no = $1 AND status = 'CREATED' AND ($2::integer IS NULL OR attempts = $2::integer)`,
      [tradeNo, attempt ?? null],
    );
  }

  async revokeEntitlements(tradeNo: string): Promise<number> {
    checkArgs.revokeEntitlements(tradeNo);
    await this.#ready();
    return this.#tx((c) => lifecycle.revokeTx(c, tradeNo), 'revokeEntitlements');
  }

  async listPurchases(skillId: string, userToken: string, options: PurchasePageOptions): Promise<PurchasePage> {
    checkArgs.listPurchases(skillId, userToken, options);
    await this.#ready();
    return lifecycle.listPurchases(this.#query, skillId, userToken, options);
  }

  async getCredits(skillId: string, userToken: string, balance: string): Promise<number> {
    checkArgs.getCredits(skillId, userToken, balance);
    await this.#ready();
    return lifecycle.getCredits(this.#query, skillId, userToken, balance);
  }

  async consumeCredits(skillId: string, userToken: string, balance: string, count: number): Promise<CreditConsumption> {
    checkArgs.consumeCredits(skillId, userToken, balance, count);
    await this.#ready();
    return lifecycle.consumeCredits(this.#query, skillId, userToken, balance, count);
  }

  async rememberNonce(nonce: string, expiresAt: number, now: number): Promise<boolean> {
    checkArgs.rememberNonce(nonce, expiresAt, now);
    await this.#ready();
    // Database clock: the nonce lives as long from the database's now as the caller asked from its own.
    const db = this.leaseClock === 'database';
    const at = db ? DB_NOW_MS : '$3::bigint';
    const params = db ? [nonce, expiresAt - now] : [nonce, expiresAt, now];
    if (++this.#nonceChecks % 256 === 0)
      await this.#q(
        'rememberNonce',
        `DELETE FROM partner_nonces WHERE ctid IN (SELECT ctid FROM partner_nonces WHERE expires_at <= ${db ? DB_NOW_MS : '$1::bigint'} ORDER BY expires_at LIMIT 500)`,
        db ? [] : [now],
      );
    const rows = await this.#q<{ nonce: string }>(
      'rememberNonce',
      `INSERT INTO partner_nonces (nonce, expires_at) VALUES ($1, ${db ? `${DB_NOW_MS} + $2::bigint` : '$2::bigint'})
       ON CONFLICT (nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE partner_nonces.expires_at <= ${at}
       RETURNING nonce`,
      params,
    );
    return rows.length === 1;
  }

  async ownsItem(skillId: string, userToken: string, itemId: string): Promise<boolean> {
    checkArgs.ownsItem(skillId, userToken, itemId);
    await this.#ready();
    const rows = await this.#q<{ owns: boolean }>(
      'ownsItem',
      `SELECT EXISTS (
         SELECT 1 FROM partner_entitlements e JOIN partner_orders o ON o.trade_no = e.trade_no
          WHERE e.skill_id = $1 AND e.user_token = $2 AND e.item_id = $3 AND o.status = 'DELIVERED'
       ) AS owns`,
      [skillId, userToken, itemId],
    );
    return rows[0]?.owns === true;
  }

  async saveRefund(refund: Refund): Promise<Refund> {
    checkArgs.saveRefund(refund);
    await this.#ready();
    const first = await this.#q<RefundRow>('saveRefund', GET_REFUND, [refund.refundTradeNo]);
    if (first[0]) return toRefund(first[0]);
    return this.#tx((c) => saveRefundTx(c, refund), 'saveRefund');
  }

  async getRefund(refundTradeNo: string): Promise<Refund | undefined> {
    checkArgs.getRefund(refundTradeNo);
    await this.#ready();
    const rows = await this.#q<RefundRow>('getRefund', GET_REFUND, [refundTradeNo]);
    return rows[0] && toRefund(rows[0]);
  }

  async updateRefund(refundTradeNo: string, patch: Partial<Pick<Refund, 'status' | 'refundTransactionId'>>): Promise<Refund | undefined> {
    checkArgs.updateRefund(refundTradeNo, patch);
    await this.#ready();
    const found = await this.#q<RefundRow>('updateRefund', 'SELECT trade_no FROM partner_refunds WHERE refund_trade_no = $1', [refundTradeNo]);
    if (!found[0]) return undefined;
    const tradeNo = found[0].trade_no;
    return this.#tx((c) => updateRefundTx(c, tradeNo, refundTradeNo, patch), 'updateRefund');
  }

  async claimReconcileOrders(options: ReconcileClaimOptions): Promise<ReconcileOrderClaim[]> {
    checkArgs.claimReconcileOrders(options);
    await this.#ready();
    return reconcile.claimReconcileOrders(this.#query, options, this.leaseClock);
  }

  async settleReconcileOrder(tradeNo: string, checks: number, settle: ReconcileSettle, now: number): Promise<boolean> {
    checkArgs.settleReconcileOrder(tradeNo, checks, settle, now);
    await this.#ready();
    return reconcile.settleReconcileOrder(this.#query, tradeNo, checks, settle, now);
  }

  async claimReconcileRefunds(options: ReconcileClaimOptions): Promise<ReconcileRefundClaim[]> {
    checkArgs.claimReconcileRefunds(options);
    await this.#ready();
    return reconcile.claimReconcileRefunds(this.#query, options, this.leaseClock);
  }

  async settleReconcileRefund(refundTradeNo: string, checks: number, settle: { nextCheckAt: number } | { done: true }, now: number): Promise<boolean> {
    checkArgs.settleReconcileRefund(refundTradeNo, checks, settle, now);
    await this.#ready();
    return reconcile.settleReconcileRefund(this.#query, refundTradeNo, checks, 'nextCheckAt' in settle ? settle.nextCheckAt : null);
  }

  async getReconcileState(tradeNo: string): Promise<OrderReconcileState | undefined> {
    checkArgs.getReconcileState(tradeNo);
    await this.#ready();
    return reconcile.getReconcileState(this.#query, tradeNo);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) await this.pool.end().catch(() => {});
  }

  async #ready(): Promise<void> {
    if (this.#closed) throw new StoreError('ERR_CLOSED', 'the store is closed');
    await this.init();
  }

  /** `#q` as a plain function, for the claim statements (postgres-claims.ts). */
  readonly #query = <R extends pg.QueryResultRow>(what: string, sql: string, params: unknown[]): Promise<R[]> => this.#q<R>(what, sql, params);

  async #q<R extends pg.QueryResultRow>(what: string, sql: string, params: unknown[]): Promise<R[]> {
    if (this.#closed) throw new StoreError('ERR_CLOSED', 'the store is closed');
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (e) {
      throw wrap(e, what);
    }
  }

  async #tx<T>(fn: (c: pg.PoolClient) => Promise<T>, what: string): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw wrap(e, what);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw wrap(e, what);
    } finally {
      client.release(broken);
    }
  }
}
