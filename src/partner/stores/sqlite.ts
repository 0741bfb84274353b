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
 *
 * This file: the connection, its durability and the methods. The schema is
 * sqlite-schema.ts, the SQL sqlite-statements.ts, claims sqlite-claims.ts,
 * refunds sqlite-refunds.ts; argument checks check-args.ts.
 */
import { open, type FileHandle } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { InvalidArgumentError } from '../../protocol/index.js';
import { StoreError } from '../errors.js';
import type {
  CheckedDeliveryClaim,
  CreditConsumption,
  Purchase,
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
import { formatCursor, parseCursor, purchaseStatus } from './common.js';
import { claimBody, claimRow, completeBody } from './sqlite-claims.js';
import { saveRefundBody, updateRefundBody } from './sqlite-refunds.js';
import { migrateSqlite, toOrder, toReconcileState, toRefund } from './sqlite-schema.js';
import { prepareStatements, type Statements } from './sqlite-statements.js';

export { SQLITE_SCHEMA, SQLITE_SCHEMA_VERSION } from './sqlite-schema.js';

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
  /**
   * Several backend processes share this file: the handlers then keep their
   * replay guard in it (`storeReplayGuard`) by default. Default false.
   */
  shared?: boolean;
}

export type SqliteSynchronous = 'full' | 'normal';

function wrap(e: unknown, what: string): unknown {
  if (e instanceof StoreError || e instanceof InvalidArgumentError) return e;
  const code = (e as { code?: unknown })?.code;
  const retryable = typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code);
  return new StoreError('ERR_STORE', `sqlite store: ${what} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e, retryable });
}

const reconcileParams = (o: ReconcileClaimOptions) => ({ until: o.now + o.leaseMs, now: o.now, createdBefore: o.createdBefore, limit: o.limit });

/** RETURNING has no order: oldest due first, as the batch was picked. */
const byDue =
  <R extends { next_check_at: number | null; created_at: number }>(key: (r: R) => string) =>
  (a: R, b: R): number =>
    (a.next_check_at ?? a.created_at) - (b.next_check_at ?? b.created_at) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

interface Transactions {
  claim: Database.Transaction<typeof claimBody>;
}

export class SqlitePartnerStore implements PartnerStore {
  readonly kind = 'sqlite';
  readonly shared: boolean;
  #nonceChecks = 0;
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
    this.shared = o.shared === true;
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
    // Switching a new file to WAL while another process opens it can answer SQLITE_BUSY at once
    // (the busy handler is not consulted for that lock): retry within the busy timeout.
    const deadline = Date.now() + busy;
    for (;;) {
      try {
        this.db.pragma(`busy_timeout = ${busy}`);
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(sync === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL');
        this.db.pragma('foreign_keys = ON');
        break;
      } catch (e) {
        const busyNow = /^SQLITE_BUSY/.test(String((e as { code?: unknown }).code ?? ''));
        if (busyNow && Date.now() < deadline) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
          continue;
        }
        if (this.#owned) this.db.close();
        throw wrap(e, 'configuring the database');
      }
    }
  }

  async init(): Promise<void> {
    this.#ready();
  }

  async createOrder(order: NewOrder): Promise<PartnerOrder> {
    const st = this.#ready();
    checkArgs.createOrder(order);
    try {
      st.insertOrder.run({
        tradeNo: order.tradeNo,
        skillId: order.skillId,
        userToken: order.userToken,
        details: JSON.stringify(order.details),
        totalAmt: order.totalAmt,
        createdAt: order.createdAt,
        credits:
          order.credits && order.credits.length > 0
            ? JSON.stringify(order.credits.map(({ itemId, balance, count, onRefund }) => ({ itemId, balance, count, onRefund })))
            : null,
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
    checkArgs.getOrder(tradeNo);
    try {
      const row = st.getOrder.get(tradeNo);
      return row && toOrder(row);
    } catch (e) {
      throw wrap(e, 'getOrder');
    }
  }

  async claimDelivery(tradeNo: string, transactionId: string, leaseMs: number, now: number): Promise<DeliveryClaim> {
    const st = this.#ready();
    checkArgs.claimDelivery(tradeNo, transactionId, leaseMs, now);
    try {
      return this.#undurable(() => this.#tx!.claim.immediate(st, tradeNo, transactionId, leaseMs, now, undefined)) as DeliveryClaim;
    } catch (e) {
      throw wrap(e, 'claimDelivery');
    }
  }

  async claimDeliveryChecked(tradeNo: string, transactionId: string, expect: DeliveryExpectation, leaseMs: number, now: number): Promise<CheckedDeliveryClaim> {
    const st = this.#ready();
    checkArgs.claimDeliveryChecked(tradeNo, transactionId, expect, leaseMs, now);
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
    checkArgs.completeDelivery(tradeNo, now);
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
    checkArgs.releaseDelivery(tradeNo, attempt);
    try {
      this.#undurable(() => st.release.run({ tradeNo, attempt: attempt ?? null }));
    } catch (e) {
      throw wrap(e, 'releaseDelivery');
    }
  }

  async ownsItem(skillId: string, userToken: string, itemId: string): Promise<boolean> {
    const st = this.#ready();
    checkArgs.ownsItem(skillId, userToken, itemId);
    try {
      return st.owns.get(skillId, userToken, itemId) !== undefined;
    } catch (e) {
      throw wrap(e, 'ownsItem');
    }
  }

  async saveRefund(refund: Refund): Promise<Refund> {
    const st = this.#ready();
    checkArgs.saveRefund(refund);
    const tx = this.db.transaction(() => saveRefundBody(st, refund));
    try {
      return tx.immediate();
    } catch (e) {
      throw wrap(e, 'saveRefund');
    }
  }

  async getRefund(refundTradeNo: string): Promise<Refund | undefined> {
    const st = this.#ready();
    checkArgs.getRefund(refundTradeNo);
    try {
      const row = st.getRefund.get(refundTradeNo);
      return row && toRefund(row);
    } catch (e) {
      throw wrap(e, 'getRefund');
    }
  }

  async updateRefund(refundTradeNo: string, patch: Partial<Pick<Refund, 'status' | 'refundTransactionId'>>): Promise<Refund | undefined> {
    const st = this.#ready();
    checkArgs.updateRefund(refundTradeNo, patch);
    const tx = this.db.transaction(() => updateRefundBody(st, refundTradeNo, patch));
    try {
      return tx.immediate();
    } catch (e) {
      throw wrap(e, 'updateRefund');
    }
  }

  async revokeEntitlements(tradeNo: string): Promise<number> {
    const st = this.#ready();
    checkArgs.revokeEntitlements(tradeNo);
    const tx = this.db.transaction((): number => {
      const row = st.getOrder.get(tradeNo);
      if (!row || row.status !== 'DELIVERED' || row.revoked !== 0) return 0;
      st.markRevoked.run(tradeNo);
      let n = st.revoke.run(tradeNo).changes;
      const order = toOrder(row);
      for (const g of order.credits ?? []) {
        if (g.onRefund !== 'remaining') continue;
        st.takeBackCredits.run({ skillId: order.skillId, userToken: order.userToken, balance: g.balance, count: g.count });
        n++;
      }
      return n;
    });
    try {
      return tx.immediate();
    } catch (e) {
      throw wrap(e, 'revokeEntitlements');
    }
  }

  async listPurchases(skillId: string, userToken: string, options: PurchasePageOptions): Promise<PurchasePage> {
    const st = this.#ready();
    checkArgs.listPurchases(skillId, userToken, options);
    const after = options.cursor ? parseCursor(options.cursor) : undefined;
    try {
      const rows = st.history.all({ skillId, userToken, cAt: after?.createdAt ?? null, cNo: after?.tradeNo ?? null, limit: options.limit + 1 });
      const page = rows.slice(0, options.limit).map((r): Purchase => {
        const o = toOrder(r);
        const p: Purchase = {
          tradeNo: o.tradeNo,
          details: o.details,
          totalAmt: o.totalAmt,
          createdAt: o.createdAt,
          deliveredAt: o.deliveredAt!,
          status: purchaseStatus(r.revoked !== 0, r.refunded),
          refundedAmt: r.refunded,
        };
        if (o.credits) p.credits = o.credits;
        return p;
      });
      const last = page.at(-1);
      return { purchases: page, nextCursor: rows.length > options.limit && last ? formatCursor(last) : null };
    } catch (e) {
      throw wrap(e, 'listPurchases');
    }
  }

  async getCredits(skillId: string, userToken: string, balance: string): Promise<number> {
    const st = this.#ready();
    checkArgs.getCredits(skillId, userToken, balance);
    try {
      return st.getCredits.get(skillId, userToken, balance)?.credits ?? 0;
    } catch (e) {
      throw wrap(e, 'getCredits');
    }
  }

  async consumeCredits(skillId: string, userToken: string, balance: string, count: number): Promise<CreditConsumption> {
    const st = this.#ready();
    checkArgs.consumeCredits(skillId, userToken, balance, count);
    try {
      // One conditional UPDATE (an implicit write transaction under the file's write lock): exact across processes.
      const done = st.consumeCredits.get({ skillId, userToken, balance, count });
      if (done) return { ok: true, balance: done.credits };
      return { ok: false, balance: st.getCredits.get(skillId, userToken, balance)?.credits ?? 0 };
    } catch (e) {
      throw wrap(e, 'consumeCredits');
    }
  }

  async rememberNonce(nonce: string, expiresAt: number, now: number): Promise<boolean> {
    const st = this.#ready();
    checkArgs.rememberNonce(nonce, expiresAt, now);
    try {
      // Not synced on its own (like a delivery claim): a nonce lost to a power loss only reopens that nonce's window.
      return this.#undurable(() => {
        if (++this.#nonceChecks % 256 === 0) st.sweepNonces.run(now);
        return st.rememberNonce.get({ nonce, until: expiresAt, now }) !== undefined;
      });
    } catch (e) {
      throw wrap(e, 'rememberNonce');
    }
  }

  // Reconciliation: claims and their ends are not synced on their own (like a delivery
  // claim): one lost to a power loss only means the order is checked again.

  async claimReconcileOrders(options: ReconcileClaimOptions): Promise<ReconcileOrderClaim[]> {
    const st = this.#ready();
    checkArgs.claimReconcileOrders(options);
    try {
      const rows = this.#undurable(() => st.claimReconcileOrders.all(reconcileParams(options)));
      return rows.sort(byDue((r) => r.trade_no)).map((r) => ({ order: toOrder(r), checks: r.reconcile_checks }));
    } catch (e) {
      throw wrap(e, 'claimReconcileOrders');
    }
  }

  async settleReconcileOrder(tradeNo: string, checks: number, settle: ReconcileSettle, now: number): Promise<boolean> {
    const st = this.#ready();
    checkArgs.settleReconcileOrder(tradeNo, checks, settle, now);
    const next = 'nextCheckAt' in settle ? settle.nextCheckAt : null;
    const reason = 'close' in settle ? settle.close : null;
    try {
      // Closing is an outcome worth keeping: synced (FULL) like every acknowledged write.
      const run = () => st.settleReconcileOrder.run({ tradeNo, checks, next, reason, now }).changes > 0;
      return reason === null ? this.#undurable(run) : run();
    } catch (e) {
      throw wrap(e, 'settleReconcileOrder');
    }
  }

  async claimReconcileRefunds(options: ReconcileClaimOptions): Promise<ReconcileRefundClaim[]> {
    const st = this.#ready();
    checkArgs.claimReconcileRefunds(options);
    try {
      const rows = this.#undurable(() => st.claimReconcileRefunds.all(reconcileParams(options)));
      return rows.sort(byDue((r) => r.refund_trade_no)).map((r) => ({ refund: toRefund(r), checks: r.reconcile_checks }));
    } catch (e) {
      throw wrap(e, 'claimReconcileRefunds');
    }
  }

  async settleReconcileRefund(refundTradeNo: string, checks: number, settle: { nextCheckAt: number } | { done: true }, now: number): Promise<boolean> {
    const st = this.#ready();
    checkArgs.settleReconcileRefund(refundTradeNo, checks, settle, now);
    const next = 'nextCheckAt' in settle ? settle.nextCheckAt : null;
    try {
      return this.#undurable(() => st.settleReconcileRefund.run({ refundTradeNo, checks, next }).changes > 0);
    } catch (e) {
      throw wrap(e, 'settleReconcileRefund');
    }
  }

  async getReconcileState(tradeNo: string): Promise<OrderReconcileState | undefined> {
    const st = this.#ready();
    checkArgs.getReconcileState(tradeNo);
    try {
      const row = st.getOrder.get(tradeNo);
      return row && toReconcileState(row);
    } catch (e) {
      throw wrap(e, 'getReconcileState');
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
      migrateSqlite(this.db);
      const st = prepareStatements(this.db);
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
