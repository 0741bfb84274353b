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
 */
import pg from 'pg';
import type { OrderDetail, RefundStatus } from '../../protocol/index.js';
import { InvalidArgumentError } from '../../protocol/index.js';
import type { CheckedDeliveryClaim, DeliveryClaim, DeliveryExpectation, NewOrder, PartnerOrder, PartnerOrderStatus, PartnerStore, Refund } from '../store.js';
import {
  COUNTED_REFUND_STATUSES,
  checkAttempt,
  checkClaim,
  checkExpectation,
  checkNewOrder,
  checkRefund,
  checkRefundPatch,
  checkText,
  checkTime,
  checkTradeNo,
  itemIdsOf,
  orderMatches,
  USER_TOKEN_MAX,
} from './common.js';
import { StoreError } from '../errors.js';

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
}

export const POSTGRES_SCHEMA_VERSION = 1;

export const POSTGRES_SCHEMA = `
CREATE TABLE IF NOT EXISTS partner_store_meta (
  name    text    PRIMARY KEY,
  version integer NOT NULL
);
CREATE TABLE IF NOT EXISTS partner_orders (
  trade_no       text    PRIMARY KEY,
  skill_id       text    NOT NULL,
  user_token     text    NOT NULL,
  details        json    NOT NULL,  -- json, not jsonb: kept exactly as given (key order, NUL escapes in extra fields)
  total_amt      bigint  NOT NULL CHECK (total_amt >= 0),
  status         text    NOT NULL DEFAULT 'CREATED' CHECK (status IN ('CREATED', 'DELIVERED')),
  transaction_id text,
  created_at     bigint  NOT NULL,
  delivered_at   bigint,
  claim_until    bigint,
  attempts       integer NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS partner_entitlements (
  skill_id   text   NOT NULL,
  user_token text   NOT NULL,
  item_id    text   NOT NULL,
  trade_no   text   NOT NULL REFERENCES partner_orders (trade_no),
  granted_at bigint NOT NULL,
  PRIMARY KEY (skill_id, user_token, item_id, trade_no)
);
CREATE TABLE IF NOT EXISTS partner_refunds (
  refund_trade_no       text   PRIMARY KEY,
  trade_no              text   NOT NULL REFERENCES partner_orders (trade_no),
  refund_amt            bigint NOT NULL CHECK (refund_amt > 0),
  status                text   NOT NULL CHECK (status IN ('PROCESSING', 'SUCCESS', 'FAIL')),
  refund_transaction_id text,
  created_at            bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS partner_refunds_trade_no ON partner_refunds (trade_no);
`;

/** Key of the advisory lock taken while creating the schema ("ddpay-st"). */
const INIT_LOCK_KEY = 0x6464706179;

interface OrderRow {
  trade_no: string;
  skill_id: string;
  user_token: string;
  details: OrderDetail[];
  total_amt: string;
  status: PartnerOrderStatus;
  transaction_id: string | null;
  created_at: string;
  delivered_at: string | null;
  claim_until: string | null;
  attempts: number;
}

interface RefundRow {
  refund_trade_no: string;
  trade_no: string;
  refund_amt: string;
  status: RefundStatus;
  refund_transaction_id: string | null;
  created_at: string;
}

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

const toOrder = (r: OrderRow): PartnerOrder => ({
  tradeNo: r.trade_no,
  skillId: r.skill_id,
  userToken: r.user_token,
  details: r.details,
  totalAmt: Number(r.total_amt),
  status: r.status,
  transactionId: r.transaction_id,
  createdAt: Number(r.created_at),
  deliveredAt: num(r.delivered_at),
});

const toRefund = (r: RefundRow): Refund => ({
  refundTradeNo: r.refund_trade_no,
  tradeNo: r.trade_no,
  refundAmt: Number(r.refund_amt),
  status: r.status,
  refundTransactionId: r.refund_transaction_id,
  createdAt: Number(r.created_at),
});

const COUNTED = COUNTED_REFUND_STATUSES.map((s) => `'${s}'`).join(', ');
const RETRYABLE_SQLSTATE = new Set(['40001', '40P01', '55P03', '57014', '57P01', '57P02', '57P03', '53300', '08000', '08003', '08006']);

function wrap(e: unknown, what: string): unknown {
  if (e instanceof StoreError || e instanceof InvalidArgumentError) return e;
  const code = (e as { code?: unknown })?.code;
  const message = (e as Error)?.message ?? String(e);
  const retryable =
    (typeof code === 'string' && (RETRYABLE_SQLSTATE.has(code) || /^E[A-Z]+$/.test(code))) ||
    /timeout|Connection terminated/i.test(message);
  return new StoreError('ERR_STORE', `postgres store: ${what} failed: ${message}`, { cause: e, retryable });
}

export class PostgresPartnerStore implements PartnerStore {
  readonly kind = 'postgres';
  readonly pool: pg.Pool;
  readonly #owned: boolean;
  #init: Promise<void> | undefined;
  #closed = false;

  constructor(options: PostgresStoreOptions | string) {
    const o: PostgresStoreOptions = typeof options === 'string' ? { connectionString: options } : (options ?? {});
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
    this.#init ??= this.#tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [INIT_LOCK_KEY]);
      await c.query(POSTGRES_SCHEMA);
      await c.query(`INSERT INTO partner_store_meta (name, version) VALUES ('schema', $1) ON CONFLICT (name) DO NOTHING`, [
        POSTGRES_SCHEMA_VERSION,
      ]);
      const { rows } = await c.query<{ version: number }>(`SELECT version FROM partner_store_meta WHERE name = 'schema'`);
      const version = rows[0]?.version ?? 0;
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw new StoreError('ERR_STORE', `database schema version ${version} is newer than this store (${POSTGRES_SCHEMA_VERSION})`);
      }
    }, 'init').catch((e: unknown) => {
      this.#init = undefined; // let a later call try again
      throw e;
    });
    return this.#init;
  }

  async createOrder(order: NewOrder): Promise<PartnerOrder> {
    checkNewOrder(order);
    await this.#ready();
    try {
      const { rows } = await this.pool.query<OrderRow>(
        `INSERT INTO partner_orders (trade_no, skill_id, user_token, details, total_amt, created_at)
         VALUES ($1, $2, $3, $4::json, $5, $6) RETURNING *`,
        [order.tradeNo, order.skillId, order.userToken, JSON.stringify(order.details), order.totalAmt, order.createdAt],
      );
      return toOrder(rows[0]!);
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw new StoreError('ERR_DUPLICATE', `order ${order.tradeNo} already exists`, { cause: e });
      throw wrap(e, 'createOrder');
    }
  }

  async getOrder(tradeNo: string): Promise<PartnerOrder | undefined> {
    checkTradeNo(tradeNo);
    await this.#ready();
    const row = await this.#q<OrderRow>('getOrder', 'SELECT * FROM partner_orders WHERE trade_no = $1', [tradeNo]);
    return row[0] && toOrder(row[0]);
  }

  async claimDelivery(tradeNo: string, transactionId: string, leaseMs: number, now: number): Promise<DeliveryClaim> {
    checkClaim(tradeNo, transactionId, leaseMs, now);
    await this.#ready();
    return (await this.#claim(tradeNo, transactionId, leaseMs, now, undefined)) as DeliveryClaim;
  }

  async claimDeliveryChecked(
    tradeNo: string,
    transactionId: string,
    expect: DeliveryExpectation,
    leaseMs: number,
    now: number,
  ): Promise<CheckedDeliveryClaim> {
    checkClaim(tradeNo, transactionId, leaseMs, now);
    checkExpectation(expect);
    await this.#ready();
    return this.#claim(tradeNo, transactionId, leaseMs, now, expect);
  }

  async #claim(
    tradeNo: string,
    transactionId: string,
    leaseMs: number,
    now: number,
    expect: DeliveryExpectation | undefined,
  ): Promise<CheckedDeliveryClaim> {
    // Each round is one atomic statement; the loop only re-runs it when the
    // row became claimable (a release) between the UPDATE and the SELECT.
    // With `expect`, the UPDATE also requires the order to match, so a
    // mismatching notification writes nothing.
    const sql = expect
      ? `UPDATE partner_orders
            SET claim_until = $3, attempts = attempts + 1, transaction_id = COALESCE(transaction_id, $2)
          WHERE trade_no = $1 AND status = 'CREATED' AND (claim_until IS NULL OR claim_until <= $4)
            AND skill_id = $5 AND user_token = $6 AND total_amt = $7 AND (transaction_id IS NULL OR transaction_id = $2)
          RETURNING *`
      : `UPDATE partner_orders
            SET claim_until = $3, attempts = attempts + 1, transaction_id = COALESCE(transaction_id, $2)
          WHERE trade_no = $1 AND status = 'CREATED' AND (claim_until IS NULL OR claim_until <= $4)
          RETURNING *`;
    const params: unknown[] = [tradeNo, transactionId, now + leaseMs, now];
    if (expect) params.push(expect.skillId, expect.userToken, expect.totalAmt);
    for (let round = 0; round < 3; round++) {
      const claimed = await this.#q<OrderRow>('claimDelivery', sql, params);
      if (claimed[0]) return { kind: 'claimed', order: toOrder(claimed[0]), attempt: claimed[0].attempts };
      const rows = await this.#q<OrderRow>('claimDelivery', 'SELECT * FROM partner_orders WHERE trade_no = $1', [tradeNo]);
      const row = rows[0];
      if (!row) return { kind: 'unknown-order' };
      const order = toOrder(row);
      if (expect && !orderMatches(order, transactionId, expect)) return { kind: 'mismatch', order };
      if (row.status === 'DELIVERED') return { kind: 'already-delivered', order };
      if (row.claim_until !== null && Number(row.claim_until) > now) return { kind: 'in-progress', order };
    }
    const rows = await this.#q<OrderRow>('claimDelivery', 'SELECT * FROM partner_orders WHERE trade_no = $1', [tradeNo]);
    return rows[0] ? { kind: 'in-progress', order: toOrder(rows[0]) } : { kind: 'unknown-order' };
  }

  async completeDelivery(tradeNo: string, now: number): Promise<PartnerOrder> {
    checkTradeNo(tradeNo);
    checkTime(now, 'now');
    await this.#ready();
    // details never change after createOrder, so the item ids can be read first
    const current = await this.#q<OrderRow>('completeDelivery', 'SELECT * FROM partner_orders WHERE trade_no = $1', [tradeNo]);
    if (!current[0]) throw new StoreError('ERR_NOT_FOUND', `no order ${tradeNo}`);
    if (current[0].status === 'DELIVERED') return toOrder(current[0]);
    const done = await this.#q<OrderRow>(
      'completeDelivery',
      `WITH done AS (
         UPDATE partner_orders SET status = 'DELIVERED', delivered_at = $2, claim_until = NULL
          WHERE trade_no = $1 AND status = 'CREATED'
          RETURNING *
       ), granted AS (
         INSERT INTO partner_entitlements (skill_id, user_token, item_id, trade_no, granted_at)
         SELECT d.skill_id, d.user_token, i.item_id, d.trade_no, $2
           FROM done d CROSS JOIN unnest($3::text[]) AS i(item_id)
         ON CONFLICT DO NOTHING
       )
       SELECT * FROM done`,
      [tradeNo, now, itemIdsOf(current[0].details)],
    );
    if (done[0]) return toOrder(done[0]);
    // someone else recorded it in between
    const rows = await this.#q<OrderRow>('completeDelivery', 'SELECT * FROM partner_orders WHERE trade_no = $1', [tradeNo]);
    return toOrder(rows[0]!);
  }

  async releaseDelivery(tradeNo: string, attempt?: number): Promise<void> {
    checkTradeNo(tradeNo);
    checkAttempt(attempt);
    await this.#ready();
    await this.#q(
      'releaseDelivery',
      `UPDATE partner_orders SET claim_until = NULL
        WHERE trade_no = $1 AND status = 'CREATED' AND ($2::integer IS NULL OR attempts = $2::integer)`,
      [tradeNo, attempt ?? null],
    );
  }

  async ownsItem(skillId: string, userToken: string, itemId: string): Promise<boolean> {
    checkText(skillId, 'skillId');
    checkText(userToken, 'userToken', USER_TOKEN_MAX);
    checkText(itemId, 'itemId');
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
    checkRefund(refund);
    await this.#ready();
    const getRefund = 'SELECT * FROM partner_refunds WHERE refund_trade_no = $1';
    const first = await this.#q<RefundRow>('saveRefund', getRefund, [refund.refundTradeNo]);
    if (first[0]) return toRefund(first[0]);
    return this.#tx(async (c) => {
      // the order row lock serialises every refund of this order
      const order = await c.query<{ total_amt: string }>('SELECT total_amt FROM partner_orders WHERE trade_no = $1 FOR UPDATE', [refund.tradeNo]);
      if (!order.rows[0]) throw new StoreError('ERR_NOT_FOUND', `no order ${refund.tradeNo} to refund`);
      const again = await c.query<RefundRow>(getRefund, [refund.refundTradeNo]);
      if (again.rows[0]) return toRefund(again.rows[0]);
      if (COUNTED_REFUND_STATUSES.includes(refund.status)) {
        const total = Number(order.rows[0].total_amt);
        const sum = await c.query<{ sum: string }>(
          `SELECT COALESCE(SUM(refund_amt), 0) AS sum FROM partner_refunds WHERE trade_no = $1 AND status IN (${COUNTED})`,
          [refund.tradeNo],
        );
        const already = Number(sum.rows[0]?.sum ?? 0);
        if (already + refund.refundAmt > total) {
          throw new StoreError(
            'ERR_REFUND_EXCEEDS',
            `refund of ${refund.refundAmt} fen would exceed order ${refund.tradeNo}: ${already} of ${total} fen already refunded`,
          );
        }
      }
      const ins = await c.query<RefundRow>(
        `INSERT INTO partner_refunds (refund_trade_no, trade_no, refund_amt, status, refund_transaction_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (refund_trade_no) DO NOTHING RETURNING *`,
        [refund.refundTradeNo, refund.tradeNo, refund.refundAmt, refund.status, refund.refundTransactionId, refund.createdAt],
      );
      if (ins.rows[0]) return toRefund(ins.rows[0]);
      // the same refundTradeNo was saved meanwhile for another order: return that one
      const other = await c.query<RefundRow>(getRefund, [refund.refundTradeNo]);
      return toRefund(other.rows[0]!);
    }, 'saveRefund');
  }

  async getRefund(refundTradeNo: string): Promise<Refund | undefined> {
    checkTradeNo(refundTradeNo, 'refundTradeNo');
    await this.#ready();
    const rows = await this.#q<RefundRow>('getRefund', 'SELECT * FROM partner_refunds WHERE refund_trade_no = $1', [refundTradeNo]);
    return rows[0] && toRefund(rows[0]);
  }

  async updateRefund(
    refundTradeNo: string,
    patch: Partial<Pick<Refund, 'status' | 'refundTransactionId'>>,
  ): Promise<Refund | undefined> {
    checkTradeNo(refundTradeNo, 'refundTradeNo');
    checkRefundPatch(patch);
    await this.#ready();
    const found = await this.#q<RefundRow>('updateRefund', 'SELECT trade_no FROM partner_refunds WHERE refund_trade_no = $1', [refundTradeNo]);
    if (!found[0]) return undefined;
    const tradeNo = found[0].trade_no;
    return this.#tx(async (c) => {
      // lock order first, then the refund: the same order as saveRefund
      const order = await c.query<{ total_amt: string }>('SELECT total_amt FROM partner_orders WHERE trade_no = $1 FOR UPDATE', [tradeNo]);
      const cur = await c.query<RefundRow>('SELECT * FROM partner_refunds WHERE refund_trade_no = $1 FOR UPDATE', [refundTradeNo]);
      const r = cur.rows[0];
      if (!r) return undefined;
      if (patch.status !== undefined && !COUNTED_REFUND_STATUSES.includes(r.status) && COUNTED_REFUND_STATUSES.includes(patch.status)) {
        const sum = await c.query<{ sum: string }>(
          `SELECT COALESCE(SUM(refund_amt), 0) AS sum FROM partner_refunds WHERE trade_no = $1 AND status IN (${COUNTED})`,
          [tradeNo],
        );
        if (Number(sum.rows[0]?.sum ?? 0) + Number(r.refund_amt) > Number(order.rows[0]?.total_amt ?? 0)) {
          throw new StoreError('ERR_REFUND_EXCEEDS', `refund ${refundTradeNo} would exceed order ${tradeNo}`);
        }
      }
      const upd = await c.query<RefundRow>(
        `UPDATE partner_refunds
            SET status = COALESCE($2, status),
                refund_transaction_id = CASE WHEN $3 THEN $4 ELSE refund_transaction_id END
          WHERE refund_trade_no = $1 RETURNING *`,
        [refundTradeNo, patch.status ?? null, patch.refundTransactionId !== undefined, patch.refundTransactionId ?? null],
      );
      return upd.rows[0] && toRefund(upd.rows[0]);
    }, 'updateRefund');
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
