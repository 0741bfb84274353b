/**
 * The PostgreSQL store's schema: tables, the version row in
 * `partner_store_meta` and its migration (under an advisory lock, so several
 * instances may start at once), and how rows read as orders and refunds.
 */
import type pg from 'pg';
import type { OrderDetail, RefundStatus } from '../../protocol/index.js';
import { StoreError } from '../errors.js';
import type { PartnerOrder, PartnerOrderStatus, Refund } from '../store.js';

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
}

export interface RefundRow {
  refund_trade_no: string;
  trade_no: string;
  refund_amt: string;
  status: RefundStatus;
  refund_transaction_id: string | null;
  created_at: string;
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
});

export const toRefund = (r: RefundRow): Refund => ({
  refundTradeNo: r.refund_trade_no,
  tradeNo: r.trade_no,
  refundAmt: Number(r.refund_amt),
  status: r.status,
  refundTransactionId: r.refund_transaction_id,
  createdAt: Number(r.created_at),
});

/** Create the schema if missing, inside the caller's transaction; refuse a database from a newer store. */
export async function migratePostgres(c: pg.ClientBase): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock($1)', [INIT_LOCK_KEY]);
  await c.query(POSTGRES_SCHEMA);
  await c.query(`INSERT INTO partner_store_meta (name, version) VALUES ('schema', $1) ON CONFLICT (name) DO NOTHING`, [POSTGRES_SCHEMA_VERSION]);
  const { rows } = await c.query<{ version: number }>(`SELECT version FROM partner_store_meta WHERE name = 'schema'`);
  const version = rows[0]?.version ?? 0;
  if (version > POSTGRES_SCHEMA_VERSION) {
    throw new StoreError('ERR_STORE', `database schema version ${version} is newer than this store (${POSTGRES_SCHEMA_VERSION})`);
  }
}
