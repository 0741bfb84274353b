/**
 * The PostgreSQL store's schema: tables, the version row in
 * `partner_store_meta` and its migration (under an advisory lock, so several
 * instances may start at once), and how rows read as orders and refunds.
 */
import type pg from 'pg';
import type { OrderDetail, RefundStatus } from '../../protocol/index.js';
import { StoreError } from '../errors.js';
import type { CreditGrant, OrderCloseReason, OrderReconcileState, PartnerOrder, PartnerOrderStatus, Refund } from '../store.js';

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
-- The replay guard shared by every instance on the database (storeReplayGuard).
CREATE TABLE IF NOT EXISTS partner_nonces (
  nonce      text   PRIMARY KEY,
  expires_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS partner_nonces_expires_at ON partner_nonces (expires_at);
`;

/**
 * Reconciliation (reconciler.ts), added to existing databases in place
 * (`ADD COLUMN IF NOT EXISTS`, run only when a column is missing, so a
 * routine start takes no table lock). Additive only, so the schema version
 * stays: an older store keeps working on the same database.
 */
export const POSTGRES_RECONCILE_SCHEMA = `
ALTER TABLE partner_orders
  ADD COLUMN IF NOT EXISTS reconcile_checks integer NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS reconcile_until  bigint,
  ADD COLUMN IF NOT EXISTS next_check_at    bigint,
  ADD COLUMN IF NOT EXISTS closed_at        bigint,
  ADD COLUMN IF NOT EXISTS close_reason     text CHECK (close_reason IN ('NOTPAY', 'FAIL', 'UNKNOWN'));
ALTER TABLE partner_refunds
  ADD COLUMN IF NOT EXISTS reconcile_checks integer NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS reconcile_until  bigint,
  ADD COLUMN IF NOT EXISTS next_check_at    bigint;
CREATE INDEX IF NOT EXISTS partner_orders_open ON partner_orders (created_at) WHERE status = 'CREATED' AND closed_at IS NULL;
CREATE INDEX IF NOT EXISTS partner_refunds_processing ON partner_refunds (created_at) WHERE status = 'PROCESSING';
`;

/**
 * The entitlement lifecycle (postgres-lifecycle.ts: purchase history, credits
 * — our own extension), added in place like the reconcile columns (run only
 * when a part is missing): an order's credit grants and whether what it
 * granted was revoked, the balances, the index the history reads.
 */
export const POSTGRES_LIFECYCLE_SCHEMA = `
ALTER TABLE partner_orders
  ADD COLUMN IF NOT EXISTS credits json,
  ADD COLUMN IF NOT EXISTS revoked boolean NOT NULL DEFAULT false;
CREATE TABLE IF NOT EXISTS partner_credits (
  skill_id   text   NOT NULL,
  user_token text   NOT NULL,
  balance    text   NOT NULL,
  credits    bigint NOT NULL CHECK (credits >= 0),
  PRIMARY KEY (skill_id, user_token, balance)
);
CREATE INDEX IF NOT EXISTS partner_orders_history ON partner_orders (skill_id, user_token, created_at DESC, trade_no COLLATE "C" DESC) WHERE status = 'DELIVERED';
`;

/** The two columns POSTGRES_LIFECYCLE_SCHEMA adds, and its table: all present means nothing to do. */
export const LIFECYCLE_PRESENT = `
SELECT (SELECT count(*)::int FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = 'partner_orders' AND column_name IN ('credits', 'revoked'))
     + (SELECT count(*)::int FROM information_schema.tables
          WHERE table_schema = current_schema() AND table_name = 'partner_credits') AS n`;
export const LIFECYCLE_PARTS = 3;

/** The columns POSTGRES_RECONCILE_SCHEMA adds (8): all present means nothing to do. */
const RECONCILE_COLUMNS_PRESENT = `
SELECT count(*)::int AS n FROM information_schema.columns
 WHERE table_schema = current_schema()
   AND ((table_name = 'partner_orders' AND column_name IN ('reconcile_checks', 'reconcile_until', 'next_check_at', 'closed_at', 'close_reason'))
     OR (table_name = 'partner_refunds' AND column_name IN ('reconcile_checks', 'reconcile_until', 'next_check_at')))`;

/** Key of the advisory lock taken while creating the schema ("ddpay-st"). */
const INIT_LOCK_KEY = 0x6464706179;

export interface OrderRow {
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
  reconcile_checks: number;
  reconcile_until: string | null;
  next_check_at: string | null;
  closed_at: string | null;
  close_reason: OrderCloseReason | null;
  credits: CreditGrant[] | null;
  revoked: boolean;
}

export interface RefundRow {
  refund_trade_no: string;
  trade_no: string;
  refund_amt: string;
  status: RefundStatus;
  refund_transaction_id: string | null;
  created_at: string;
  reconcile_checks: number;
  reconcile_until: string | null;
  next_check_at: string | null;
}

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

export const toOrder = (r: OrderRow): PartnerOrder => ({
  tradeNo: r.trade_no,
  skillId: r.skill_id,
  userToken: r.user_token,
  details: r.details,
  totalAmt: Number(r.total_amt),
  status: r.status,
  transactionId: r.transaction_id,
  createdAt: Number(r.created_at),
  deliveredAt: num(r.delivered_at),
  ...(r.credits ? { credits: r.credits } : {}),
});

export const toRefund = (r: RefundRow): Refund => ({
  refundTradeNo: r.refund_trade_no,
  tradeNo: r.trade_no,
  refundAmt: Number(r.refund_amt),
  status: r.status,
  refundTransactionId: r.refund_transaction_id,
  createdAt: Number(r.created_at),
});

export const toReconcileState = (r: OrderRow): OrderReconcileState => ({
  checks: r.reconcile_checks,
  nextCheckAt: num(r.next_check_at),
  reconcileUntil: num(r.reconcile_until),
  closedAt: num(r.closed_at),
  closeReason: r.close_reason,
});

/** Create the schema if missing, inside the caller's transaction; refuse a database from a newer store. */
export async function migratePostgres(c: pg.ClientBase): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock($1)', [INIT_LOCK_KEY]);
  await c.query(POSTGRES_SCHEMA);
  const present = await c.query<{ n: number }>(RECONCILE_COLUMNS_PRESENT);
  if ((present.rows[0]?.n ?? 0) < 8) await c.query(POSTGRES_RECONCILE_SCHEMA);
  const lifecycle = await c.query<{ n: number }>(LIFECYCLE_PRESENT);
  if ((lifecycle.rows[0]?.n ?? 0) < LIFECYCLE_PARTS) await c.query(POSTGRES_LIFECYCLE_SCHEMA);
  await c.query(`INSERT INTO partner_store_meta (name, version) VALUES ('schema', $1) ON CONFLICT (name) DO NOTHING`, [POSTGRES_SCHEMA_VERSION]);
  const { rows } = await c.query<{ version: number }>(`SELECT version FROM partner_store_meta WHERE name = 'schema'`);
  const version = rows[0]?.version ?? 0;
  if (version > POSTGRES_SCHEMA_VERSION) {
    throw new StoreError('ERR_STORE', `database schema version ${version} is newer than this store (${POSTGRES_SCHEMA_VERSION})`);
  }
}
