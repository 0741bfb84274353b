/**
 * SQLite PartnerStore (better-sqlite3 12): the embedded default, one file,
 * safe for several processes on the same machine sharing that file.
 *
 * * WAL journal, `busy_timeout` (default 5 s), foreign keys on,
 *   `synchronous = FULL` for every acknowledged commit by default (option
 *   `synchronous: 'normal'` trades power-loss durability for speed).
 * * Exactly-once: every state change runs in a `BEGIN IMMEDIATE`
 *   transaction (the database write lock, shared by every process on the
 *   file) and is itself a conditional `UPDATE … WHERE status = 'CREATED' AND
 *   (claim_until IS NULL OR claim_until <= now)`; whoever changes the row owns
 *   the claim. No in-memory lock is involved.
 * * better-sqlite3 is synchronous: a call blocks the event loop for the
 *   statement (and for up to `busyTimeoutMs` while another process writes).
 */
import { open, type FileHandle } from 'node:fs/promises';
import Database from 'better-sqlite3';
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
  orderMatches,
  USER_TOKEN_MAX,
} from './common.js';
import { StoreError } from '../errors.js';

export interface SqliteStoreOptions {
  /** Database file (created if missing). `':memory:'` works but is private to this handle. */
  filename?: string;
  /** Use an already open better-sqlite3 handle instead (the store will not close it). */
  database?: Database.Database;
  /** How long a write waits for another writer (ms). Default 5000. */
  busyTimeoutMs?: number;
  /**
   * Durability of commits (the database is always in WAL mode). Default `'full'`.
   *
   * * `'full'`: every commit that is acknowledged to the platform (an order
   *   created, a delivery recorded, a refund stored) is synced to disk
   *   (`synchronous = FULL`) before the reply, so it survives an OS crash or a
   *   power loss. The delivery claim and its release, which need not survive
   *   one (the hook is idempotent by key), are committed without their own
   *   sync: one fsync per delivery instead of two.
   * * `'normal'`: `synchronous = NORMAL` for everything: no fsync per commit
   *   (only at WAL checkpoints). Safe against process crashes (SIGKILL,
   *   exceptions: nothing acknowledged is lost), but an OS crash or power loss
   *   can roll back the last commits, including ones already acknowledged
   *   (an order the platform has, a delivery record and its entitlements).
   *   See docs/partner-stores.md.
   */
  synchronous?: SqliteSynchronous;
}

export type SqliteSynchronous = 'full' | 'normal';

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

interface OrderRow {
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
}

interface RefundRow {
  refund_trade_no: string;
  trade_no: string;
  refund_amt: number;
  status: RefundStatus;
  refund_transaction_id: string | null;
  created_at: number;
}

const toOrder = (r: OrderRow): PartnerOrder => ({
  tradeNo: r.trade_no,
  skillId: r.skill_id,
  userToken: r.user_token,
  details: JSON.parse(r.details) as OrderDetail[],
  totalAmt: r.total_amt,
  status: r.status,
  transactionId: r.transaction_id,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
});

const toRefund = (r: RefundRow): Refund => ({
  refundTradeNo: r.refund_trade_no,
  tradeNo: r.trade_no,
  refundAmt: r.refund_amt,
  status: r.status,
  refundTransactionId: r.refund_transaction_id,
  createdAt: r.created_at,
});

const COUNTED = COUNTED_REFUND_STATUSES.map((s) => `'${s}'`).join(', ');

function wrap(e: unknown, what: string): unknown {
  if (e instanceof StoreError || e instanceof InvalidArgumentError) return e;
  const code = (e as { code?: unknown })?.code;
  const retryable = typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code);
  return new StoreError('ERR_STORE', `sqlite store: ${what} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e, retryable });
}

type Statements = ReturnType<typeof prepare>;

function prepare(db: Database.Database) {
  return {
    getOrder: db.prepare<[string], OrderRow>('SELECT * FROM partner_orders WHERE trade_no = ?'),
    insertOrder: db.prepare(
      `INSERT INTO partner_orders (trade_no, skill_id, user_token, details, total_amt, created_at)
       VALUES (@tradeNo, @skillId, @userToken, @details, @totalAmt, @createdAt)`,
    ),
    claim: db.prepare<{ tradeNo: string; transactionId: string; until: number; now: number }, OrderRow>(
      `UPDATE partner_orders
          SET claim_until = @until, attempts = attempts + 1, transaction_id = COALESCE(transaction_id, @transactionId)
        WHERE trade_no = @tradeNo AND status = 'CREATED' AND (claim_until IS NULL OR claim_until <= @now)
        RETURNING *`,
    ),
    /** The claim, only when the order matches the notification (else no row changes). */
    claimChecked: db.prepare<
      { tradeNo: string; transactionId: string; until: number; now: number; skillId: string; userToken: string; totalAmt: number },
      OrderRow
    >(
      `UPDATE partner_orders
          SET claim_until = @until, attempts = attempts + 1, transaction_id = COALESCE(transaction_id, @transactionId)
        WHERE trade_no = @tradeNo AND status = 'CREATED' AND (claim_until IS NULL OR claim_until <= @now)
          AND skill_id = @skillId AND user_token = @userToken AND total_amt = @totalAmt
          AND (transaction_id IS NULL OR transaction_id = @transactionId)
        RETURNING *`,
    ),
    complete: db.prepare<{ tradeNo: string; now: number }, OrderRow>(
      `UPDATE partner_orders SET status = 'DELIVERED', delivered_at = @now, claim_until = NULL
        WHERE trade_no = @tradeNo AND status = 'CREATED'
        RETURNING *`,
    ),
    release: db.prepare<{ tradeNo: string; attempt: number | null }>(
      `UPDATE partner_orders SET claim_until = NULL
        WHERE trade_no = @tradeNo AND status = 'CREATED' AND (@attempt IS NULL OR attempts = @attempt)`,
    ),
    owns: db.prepare<[string, string, string], { one: number }>(
      `SELECT 1 AS one FROM partner_entitlements e JOIN partner_orders o ON o.trade_no = e.trade_no
        WHERE e.skill_id = ? AND e.user_token = ? AND e.item_id = ? AND o.status = 'DELIVERED' LIMIT 1`,
    ),
    getRefund: db.prepare<[string], RefundRow>('SELECT * FROM partner_refunds WHERE refund_trade_no = ?'),
    refunded: db.prepare<[string], { sum: number }>(
      `SELECT COALESCE(SUM(refund_amt), 0) AS sum FROM partner_refunds WHERE trade_no = ? AND status IN (${COUNTED})`,
    ),
    insertRefund: db.prepare(
      `INSERT INTO partner_refunds (refund_trade_no, trade_no, refund_amt, status, refund_transaction_id, created_at)
       VALUES (@refundTradeNo, @tradeNo, @refundAmt, @status, @refundTransactionId, @createdAt)`,
    ),
    updateRefund: db.prepare(
      `UPDATE partner_refunds
          SET status = COALESCE(@status, status),
              refund_transaction_id = CASE WHEN @setTx = 1 THEN @refundTransactionId ELSE refund_transaction_id END
        WHERE refund_trade_no = @refundTradeNo`,
    ),
  };
}

type ClaimArgs = [st: Statements, tradeNo: string, transactionId: string, leaseMs: number, now: number, expect: DeliveryExpectation | undefined];

/** The conditional UPDATE alone: the claimed row, or undefined when it changed nothing. */
function claimRow(...[st, tradeNo, transactionId, leaseMs, now, expect]: ClaimArgs): OrderRow | undefined {
  const until = now + leaseMs;
  return expect
    ? st.claimChecked.get({ tradeNo, transactionId, until, now, skillId: expect.skillId, userToken: expect.userToken, totalAmt: expect.totalAmt })
    : st.claim.get({ tradeNo, transactionId, until, now });
}

function claimBody(...args: ClaimArgs): CheckedDeliveryClaim {
  const [st, tradeNo, transactionId, , , expect] = args;
  const claimed = claimRow(...args);
  if (claimed) return { kind: 'claimed', order: toOrder(claimed), attempt: claimed.attempts };
  const row = st.getOrder.get(tradeNo);
  if (!row) return { kind: 'unknown-order' };
  const order = toOrder(row);
  if (expect && !orderMatches(order, transactionId, expect)) return { kind: 'mismatch', order };
  return order.status === 'DELIVERED' ? { kind: 'already-delivered', order } : { kind: 'in-progress', order };
}

/** One statement (an implicit write transaction); the trigger grants the items. */
function completeBody(st: Statements, tradeNo: string, now: number): PartnerOrder {
  const done = st.complete.get({ tradeNo, now });
  if (done) return toOrder(done);
  const row = st.getOrder.get(tradeNo);
  if (!row) throw new StoreError('ERR_NOT_FOUND', `no order ${tradeNo}`);
  return toOrder(row);
}

interface Transactions {
  claim: Database.Transaction<typeof claimBody>;
}

export class SqlitePartnerStore implements PartnerStore {
  readonly kind = 'sqlite';
  readonly db: Database.Database;
  readonly #owned: boolean;
  #st: Statements | undefined;
  /** Transaction wrappers, made once with the statements. */
  #tx: Transactions | undefined;
  /** The WAL file when the database is a file in WAL mode (then `'full'` syncs it after a NORMAL commit). */
  #walPath: string | undefined;
  #walHandle: Promise<FileHandle> | undefined;
  /** Commit durability (see `SqliteStoreOptions.synchronous`). */
  readonly synchronous: SqliteSynchronous;
  #closed = false;

  constructor(options: SqliteStoreOptions | string) {
    const o: SqliteStoreOptions = typeof options === 'string' ? { filename: options } : (options ?? {});
    const busy = o.busyTimeoutMs ?? 5000;
    if (!Number.isSafeInteger(busy) || busy < 0) throw new InvalidArgumentError('busyTimeoutMs must be a non-negative integer');
    const sync = o.synchronous ?? 'full';
    if (sync !== 'full' && sync !== 'normal') throw new InvalidArgumentError(`synchronous must be 'full' or 'normal', got ${String(sync)}`);
    this.synchronous = sync;
    if (o.database) {
      this.db = o.database;
      this.#owned = false;
    } else {
      if (typeof o.filename !== 'string' || o.filename === '') throw new InvalidArgumentError('SqlitePartnerStore needs a filename');
      try {
        this.db = new Database(o.filename, { timeout: busy });
      } catch (e) {
        throw wrap(e, `opening ${o.filename}`);
      }
      this.#owned = true;
    }
    try {
      this.db.pragma(`busy_timeout = ${busy}`);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(sync === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
    } catch (e) {
      if (this.#owned) this.db.close();
      throw wrap(e, 'configuring the database');
    }
  }

  async init(): Promise<void> {
    this.#ready();
  }

  async createOrder(order: NewOrder): Promise<PartnerOrder> {
    const st = this.#ready();
    checkNewOrder(order);
    try {
      st.insertOrder.run({
        tradeNo: order.tradeNo,
        skillId: order.skillId,
        userToken: order.userToken,
        details: JSON.stringify(order.details),
        totalAmt: order.totalAmt,
        createdAt: order.createdAt,
      });
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new StoreError('ERR_DUPLICATE', `order ${order.tradeNo} already exists`, { cause: e });
      }
      throw wrap(e, 'createOrder');
    }
    return this.#mustGet(order.tradeNo);
  }

  async getOrder(tradeNo: string): Promise<PartnerOrder | undefined> {
    const st = this.#ready();
    checkTradeNo(tradeNo);
    try {
      const row = st.getOrder.get(tradeNo);
      return row && toOrder(row);
    } catch (e) {
      throw wrap(e, 'getOrder');
    }
  }

  async claimDelivery(tradeNo: string, transactionId: string, leaseMs: number, now: number): Promise<DeliveryClaim> {
    const st = this.#ready();
    checkClaim(tradeNo, transactionId, leaseMs, now);
    try {
      return this.#undurable(() => this.#tx!.claim.immediate(st, tradeNo, transactionId, leaseMs, now, undefined)) as DeliveryClaim;
    } catch (e) {
      throw wrap(e, 'claimDelivery');
    }
  }

  async claimDeliveryChecked(
    tradeNo: string,
    transactionId: string,
    expect: DeliveryExpectation,
    leaseMs: number,
    now: number,
  ): Promise<CheckedDeliveryClaim> {
    const st = this.#ready();
    checkClaim(tradeNo, transactionId, leaseMs, now);
    checkExpectation(expect);
    try {
      return this.#undurable(() => {
        // Fast path: the UPDATE on its own is one implicit write transaction (it takes the
        // write lock up front, like BEGIN IMMEDIATE). Only when it changed nothing does the
        // explicit transaction run (the UPDATE again, then a read of why), as for claimDelivery.
        const claimed = claimRow(st, tradeNo, transactionId, leaseMs, now, expect);
        if (claimed) return { kind: 'claimed', order: toOrder(claimed), attempt: claimed.attempts };
        return this.#tx!.claim.immediate(st, tradeNo, transactionId, leaseMs, now, expect);
      });
    } catch (e) {
      throw wrap(e, 'claimDelivery');
    }
  }

  /**
   * Runs a commit that need not survive a power loss with `synchronous =
   * NORMAL` when the store is in `'full'` mode: a delivery claim or its
   * release. Losing one to an OS crash only means the (idempotent) deliver
   * hook runs again with the same key, exactly as after a process crash; the
   * next synced commit (the delivery record) makes it durable anyway, since
   * the WAL is written and synced in order.
   */
  #undurable<T>(run: () => T): T {
    if (this.synchronous !== 'full') return run();
    // Not prepared statements: a PRAGMA takes effect when it is compiled, so
    // cached ones would not switch reliably. exec() compiles and runs each time.
    this.db.exec('PRAGMA synchronous = NORMAL');
    try {
      return run();
    } finally {
      this.db.exec('PRAGMA synchronous = FULL');
    }
  }

  async completeDelivery(tradeNo: string, now: number): Promise<PartnerOrder> {
    const st = this.#ready();
    checkTradeNo(tradeNo);
    checkTime(now, 'now');
    if (this.synchronous === 'full' && this.#walPath) {
      // Commit at NORMAL (no fsync on the event loop), then fsync the WAL in the
      // thread pool: the promise resolves only once the record is on disk, as
      // with synchronous = FULL, but the caller can sign its reply meanwhile.
      let order: PartnerOrder;
      try {
        order = this.#undurable(() => completeBody(st, tradeNo, now));
      } catch (e) {
        throw wrap(e, 'completeDelivery');
      }
      try {
        await this.#syncWal(this.#walPath);
      } catch (e) {
        throw wrap(e, 'completeDelivery (fsync of the WAL)');
      }
      return order;
    }
    try {
      return completeBody(st, tradeNo, now);
    } catch (e) {
      throw wrap(e, 'completeDelivery');
    }
  }

  /**
   * fsync the WAL file: together with a commit made at NORMAL this is exactly
   * what synchronous = FULL does at commit. The file stays the same inode while
   * this connection is open (SQLite only deletes it when the last connection
   * closes; a WAL reset rewrites it in place, and only after a checkpoint has
   * synced the frames into the database file).
   */
  async #syncWal(path: string): Promise<void> {
    let handle = this.#walHandle;
    if (!handle) {
      handle = this.#walHandle = open(path, 'r');
      handle.catch(() => {
        if (this.#walHandle === handle) this.#walHandle = undefined;
      });
    }
    await (await handle).sync();
  }

  async releaseDelivery(tradeNo: string, attempt?: number): Promise<void> {
    const st = this.#ready();
    checkTradeNo(tradeNo);
    checkAttempt(attempt);
    try {
      this.#undurable(() => st.release.run({ tradeNo, attempt: attempt ?? null }));
    } catch (e) {
      throw wrap(e, 'releaseDelivery');
    }
  }

  async ownsItem(skillId: string, userToken: string, itemId: string): Promise<boolean> {
    const st = this.#ready();
    checkText(skillId, 'skillId');
    checkText(userToken, 'userToken', USER_TOKEN_MAX);
    checkText(itemId, 'itemId');
    try {
      return st.owns.get(skillId, userToken, itemId) !== undefined;
    } catch (e) {
      throw wrap(e, 'ownsItem');
    }
  }

  async saveRefund(refund: Refund): Promise<Refund> {
    const st = this.#ready();
    checkRefund(refund);
    const tx = this.db.transaction((): Refund => {
      const existing = st.getRefund.get(refund.refundTradeNo);
      if (existing) return toRefund(existing);
      const order = st.getOrder.get(refund.tradeNo);
      if (!order) throw new StoreError('ERR_NOT_FOUND', `no order ${refund.tradeNo} to refund`);
      if (COUNTED_REFUND_STATUSES.includes(refund.status)) {
        const already = st.refunded.get(refund.tradeNo)?.sum ?? 0;
        if (already + refund.refundAmt > order.total_amt) {
          throw new StoreError(
            'ERR_REFUND_EXCEEDS',
            `refund of ${refund.refundAmt} fen would exceed order ${refund.tradeNo}: ${already} of ${order.total_amt} fen already refunded`,
          );
        }
      }
      st.insertRefund.run({
        refundTradeNo: refund.refundTradeNo,
        tradeNo: refund.tradeNo,
        refundAmt: refund.refundAmt,
        status: refund.status,
        refundTransactionId: refund.refundTransactionId,
        createdAt: refund.createdAt,
      });
      return toRefund(st.getRefund.get(refund.refundTradeNo)!);
    });
    try {
      return tx.immediate();
    } catch (e) {
      throw wrap(e, 'saveRefund');
    }
  }

  async getRefund(refundTradeNo: string): Promise<Refund | undefined> {
    const st = this.#ready();
    checkTradeNo(refundTradeNo, 'refundTradeNo');
    try {
      const row = st.getRefund.get(refundTradeNo);
      return row && toRefund(row);
    } catch (e) {
      throw wrap(e, 'getRefund');
    }
  }

  async updateRefund(
    refundTradeNo: string,
    patch: Partial<Pick<Refund, 'status' | 'refundTransactionId'>>,
  ): Promise<Refund | undefined> {
    const st = this.#ready();
    checkTradeNo(refundTradeNo, 'refundTradeNo');
    checkRefundPatch(patch);
    const tx = this.db.transaction((): Refund | undefined => {
      const r = st.getRefund.get(refundTradeNo);
      if (!r) return undefined;
      if (patch.status !== undefined && !COUNTED_REFUND_STATUSES.includes(r.status) && COUNTED_REFUND_STATUSES.includes(patch.status)) {
        const total = st.getOrder.get(r.trade_no)?.total_amt ?? 0;
        const already = st.refunded.get(r.trade_no)?.sum ?? 0;
        if (already + r.refund_amt > total) throw new StoreError('ERR_REFUND_EXCEEDS', `refund ${refundTradeNo} would exceed order ${r.trade_no}`);
      }
      st.updateRefund.run({
        refundTradeNo,
        status: patch.status ?? null,
        setTx: patch.refundTransactionId !== undefined ? 1 : 0,
        refundTransactionId: patch.refundTransactionId ?? null,
      });
      return toRefund(st.getRefund.get(refundTradeNo)!);
    });
    try {
      return tx.immediate();
    } catch (e) {
      throw wrap(e, 'updateRefund');
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const wal = this.#walHandle;
    this.#walHandle = undefined;
    if (wal) await wal.then((h) => h.close()).catch(() => undefined);
    if (this.#owned) this.db.close();
  }

  #mustGet(tradeNo: string): PartnerOrder {
    const row = this.#st!.getOrder.get(tradeNo);
    if (!row) throw new StoreError('ERR_NOT_FOUND', `no order ${tradeNo}`);
    return toOrder(row);
  }

  /** Creates the schema on first use (idempotent, safe when several processes start at once). */
  #ready(): Statements {
    if (this.#closed) throw new StoreError('ERR_CLOSED', 'the store is closed');
    if (this.#st) return this.#st;
    try {
      this.db
        .transaction(() => {
          const version = this.db.pragma('user_version', { simple: true }) as number;
          if (version > SQLITE_SCHEMA_VERSION) {
            throw new StoreError('ERR_STORE', `database schema version ${version} is newer than this store (${SQLITE_SCHEMA_VERSION})`);
          }
          this.db.exec(SQLITE_SCHEMA);
          if (version < SQLITE_SCHEMA_VERSION) this.db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
        })
        .immediate();
      const st = prepare(this.db);
      const mode = String(this.db.pragma('journal_mode', { simple: true })).toLowerCase();
      const main = (this.db.pragma('database_list') as { name: string; file: string }[]).find((d) => d.name === 'main');
      this.#walPath = mode === 'wal' && main?.file ? `${main.file}-wal` : undefined;
      this.#tx = { claim: this.db.transaction(claimBody) };
      this.#st = st;
    } catch (e) {
      throw wrap(e, 'init');
    }
    return this.#st;
  }
}
