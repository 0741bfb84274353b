/**
 * The SQLite store's schema: tables, the trigger that grants a delivered
 * order's items, the version in `PRAGMA user_version` and its migration, and
 * how rows read as orders and refunds.
 */
import type Database from 'better-sqlite3';
import type { OrderDetail, RefundStatus } from '../../protocol/index.js';
import { StoreError } from '../errors.js';
import type { CreditGrant, OrderCloseReason, OrderReconcileState, PartnerOrder, PartnerOrderStatus, Refund } from '../store.js';

/** Schema version stored in `PRAGMA user_version`. */
export const SQLITE_SCHEMA_VERSION = 1;

export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS partner_orders (
  trade_no       TEXT    PRIMARY KEY,
  skill_id       TEXT    NOT NULL,
  user_token     TEXT    NOT NULL,
  details        TEXT    NOT NULL,            -- JSON array of OrderDetail
  total_amt      INTEGER NOT NULL CHECK (total_amt >= 0),
  status         TEXT    NOT NULL DEFAULT 'CREATED' CHECK (status IN ('CREATED', 'DELIVERED')),
  transaction_id TEXT,
  created_at     INTEGER NOT NULL,
  delivered_at   INTEGER,
  claim_until    INTEGER,                     -- lease end (ms) of the current delivery claim
  attempts       INTEGER NOT NULL DEFAULT 0   -- delivery claims granted so far
) STRICT;
CREATE TABLE IF NOT EXISTS partner_entitlements (
  skill_id   TEXT    NOT NULL,
  user_token TEXT    NOT NULL,
  item_id    TEXT    NOT NULL,
  trade_no   TEXT    NOT NULL REFERENCES partner_orders (trade_no),
  granted_at INTEGER NOT NULL,
  PRIMARY KEY (skill_id, user_token, item_id, trade_no)
) STRICT;
CREATE TABLE IF NOT EXISTS partner_refunds (
  refund_trade_no       TEXT    PRIMARY KEY,
  trade_no              TEXT    NOT NULL REFERENCES partner_orders (trade_no),
  refund_amt            INTEGER NOT NULL CHECK (refund_amt > 0),
  status                TEXT    NOT NULL CHECK (status IN ('PROCESSING', 'SUCCESS', 'FAIL')),
  refund_transaction_id TEXT,
  created_at            INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS partner_refunds_trade_no ON partner_refunds (trade_no);
-- The replay guard shared by every process on the file (storeReplayGuard).
CREATE TABLE IF NOT EXISTS partner_nonces (
  nonce      TEXT    PRIMARY KEY,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS partner_nonces_expires_at ON partner_nonces (expires_at);
-- Recording a delivery grants the order's items in the same statement (so
-- completeDelivery is one UPDATE, atomic with its entitlements).
CREATE TRIGGER IF NOT EXISTS partner_orders_grant AFTER UPDATE OF status ON partner_orders
  WHEN OLD.status = 'CREATED' AND NEW.status = 'DELIVERED'
BEGIN
  INSERT OR IGNORE INTO partner_entitlements (skill_id, user_token, item_id, trade_no, granted_at)
  SELECT NEW.skill_id, NEW.user_token, json_extract(d.value, '$.itemId'), NEW.trade_no, NEW.delivered_at
    FROM json_each(NEW.details) AS d;
END;
`;

/**
 * Reconciliation (reconciler.ts), added to existing databases in place: the
 * columns are added when missing (`PRAGMA table_info` first), then the
 * indexes. Additive only, so the schema version stays: an older store keeps
 * working on the same file.
 */
export const SQLITE_RECONCILE_COLUMNS: ReadonlyArray<readonly [table: string, column: string, definition: string]> = [
  ['partner_orders', 'reconcile_checks', 'INTEGER NOT NULL DEFAULT 0'], // reconcile passes that claimed the order
  ['partner_orders', 'reconcile_until', 'INTEGER'], // lease end (ms) of the pass that holds it
  ['partner_orders', 'next_check_at', 'INTEGER'], // back-off: not checked before this (ms)
  ['partner_orders', 'closed_at', 'INTEGER'], // closed locally (still deliverable by a notification)
  ['partner_orders', 'close_reason', "TEXT CHECK (close_reason IN ('NOTPAY', 'FAIL', 'UNKNOWN'))"],
  ['partner_refunds', 'reconcile_checks', 'INTEGER NOT NULL DEFAULT 0'],
  ['partner_refunds', 'reconcile_until', 'INTEGER'],
  ['partner_refunds', 'next_check_at', 'INTEGER'],
];

export const SQLITE_RECONCILE_INDEXES = `
CREATE INDEX IF NOT EXISTS partner_orders_open ON partner_orders (created_at) WHERE status = 'CREATED' AND closed_at IS NULL;
CREATE INDEX IF NOT EXISTS partner_refunds_processing ON partner_refunds (created_at) WHERE status = 'PROCESSING';
`;

/**
 * The entitlement lifecycle (purchase history, credits: our own extension),
 * added in place like the reconcile columns: an order's credit grants (JSON,
 * NULL when none) and whether what it granted was revoked; the balances; the
 * trigger that adds a delivered order's credits in the delivery's statement;
 * the index the history reads.
 */
export const SQLITE_LIFECYCLE_COLUMNS: ReadonlyArray<readonly [table: string, column: string, definition: string]> = [
  ['partner_orders', 'credits', 'TEXT'], // JSON array of CreditGrant, NULL when none
  ['partner_orders', 'revoked', 'INTEGER NOT NULL DEFAULT 0'], // 1: what it granted was taken back (a refund)
];

export const SQLITE_LIFECYCLE_SCHEMA = `
CREATE TABLE IF NOT EXISTS partner_credits (
  skill_id   TEXT    NOT NULL,
  user_token TEXT    NOT NULL,
  balance    TEXT    NOT NULL,
  credits    INTEGER NOT NULL CHECK (credits >= 0),
  PRIMARY KEY (skill_id, user_token, balance)
) STRICT;
CREATE TRIGGER IF NOT EXISTS partner_orders_credit AFTER UPDATE OF status ON partner_orders
  WHEN OLD.status = 'CREATED' AND NEW.status = 'DELIVERED' AND NEW.credits IS NOT NULL
BEGIN
  INSERT OR IGNORE INTO partner_credits (skill_id, user_token, balance, credits)
  SELECT DISTINCT NEW.skill_id, NEW.user_token, json_extract(g.value, '$.balance'), 0 FROM json_each(NEW.credits) AS g;
  UPDATE partner_credits
     SET credits = credits + (SELECT SUM(json_extract(g.value, '$.count')) FROM json_each(NEW.credits) AS g
                               WHERE json_extract(g.value, '$.balance') = partner_credits.balance)
   WHERE skill_id = NEW.skill_id AND user_token = NEW.user_token
     AND balance IN (SELECT json_extract(g.value, '$.balance') FROM json_each(NEW.credits) AS g);
END;
CREATE INDEX IF NOT EXISTS partner_orders_history ON partner_orders (skill_id, user_token, created_at, trade_no) WHERE status = 'DELIVERED';
`;

function addReconcileColumns(db: Database.Database): void {
  const have = new Map<string, Set<string>>();
  for (const [table, column, definition] of [...SQLITE_RECONCILE_COLUMNS, ...SQLITE_LIFECYCLE_COLUMNS]) {
    let cols = have.get(table);
    if (!cols) have.set(table, (cols = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name))));
    if (!cols.has(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
  }
  db.exec(SQLITE_RECONCILE_INDEXES);
  db.exec(SQLITE_LIFECYCLE_SCHEMA);
}

export interface OrderRow {
  trade_no: string;
  skill_id: string;
  user_token: string;
  details: string;
  total_amt: number;
  status: PartnerOrderStatus;
  transaction_id: string | null;
  created_at: number;
  delivered_at: number | null;
  claim_until: number | null;
  attempts: number;
  reconcile_checks: number;
  reconcile_until: number | null;
  next_check_at: number | null;
  closed_at: number | null;
  close_reason: OrderCloseReason | null;
  credits: string | null;
  revoked: number;
}

export interface RefundRow {
  refund_trade_no: string;
  trade_no: string;
  refund_amt: number;
  status: RefundStatus;
  refund_transaction_id: string | null;
  created_at: number;
  reconcile_checks: number;
  reconcile_until: number | null;
  next_check_at: number | null;
}

export const toOrder = (r: OrderRow): PartnerOrder => ({
  tradeNo: r.trade_no,
  skillId: r.skill_id,
  userToken: r.user_token,
  details: JSON.parse(r.details) as OrderDetail[],
  totalAmt: r.total_amt,
  status: r.status,
  transactionId: r.transaction_id,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
  ...(r.credits !== null ? { credits: JSON.parse(r.credits) as CreditGrant[] } : {}),
});

export const toRefund = (r: RefundRow): Refund => ({
  refundTradeNo: r.refund_trade_no,
  tradeNo: r.trade_no,
  refundAmt: r.refund_amt,
  status: r.status,
  refundTransactionId: r.refund_transaction_id,
  createdAt: r.created_at,
});

export const toReconcileState = (r: OrderRow): OrderReconcileState => ({
  checks: r.reconcile_checks,
  nextCheckAt: r.next_check_at,
  reconcileUntil: r.reconcile_until,
  closedAt: r.closed_at,
  closeReason: r.close_reason,
});

/**
 * Create the schema if missing, in one `BEGIN IMMEDIATE` transaction (so
 * several processes may start at once); refuse a database from a newer store.
 */
export function migrateSqlite(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new StoreError('ERR_STORE', `database schema version ${version} is newer than this store (${SQLITE_SCHEMA_VERSION})`);
    }
    db.exec(SQLITE_SCHEMA);
    addReconcileColumns(db);
    if (version < SQLITE_SCHEMA_VERSION) db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  }).immediate();
}
