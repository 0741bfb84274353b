/**
 * The platform's outbound pay calls to a skill backend (seed interfaces 1, 2
 * and 6): the body is signed with the platform private key (TSK-RSA2) over
 * the exact bytes sent; the reply must carry a TSK-RSA2 signature of the
 * skill's key over the exact bytes received, and must validate.
 *
 * Also the delivery notifier: notification 2 retried on a schedule (WeChat's
 * by default, time-scaled) until the backend answers SUCCESS, with
 * duplicates and late copies on demand.
 */
import type { KeyObject } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { RemoteError, SignatureError, TimeoutError, TransportError, ValidationError, InvalidArgumentError } from '../protocol/errors.js';
import type { AckReply, ChargeDirective, CreateOrderReply, CreateOrderRequest, DeliverNotifyRequest, RefundNotifyRequest } from '../protocol/types.js';
import type { SkillRequestType, SkillRetCode } from '../protocol/skill-types.js';
import { validate, validateJson } from '../protocol/validate.js';
import { signRsa2Async, verifyRsa2 } from '../protocol/tsk-node.js';
import { randomNonce } from '../protocol/tsk.js';
import { sumFen } from '../protocol/money.js';
import type { SkillConfig } from './config.js';
import type { Faults } from './faults.js';
import type { Scheduler } from './scheduler.js';
import type { DingDangOrder, RefundRecord } from './order-book.js';
import { REFUND_STATUS_DESC, refundWireFields } from './order-book.js';

/** WeChat Pay's notification schedule: 15s 15s 30s 3m 10m 20m 30m 30m 30m 60m 3h 3h 3h 6h 6h. */
export const WECHAT_RETRY_SCHEDULE_MS: readonly number[] = [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600].map(
  (s) => s * 1000,
);

export type CallKind = 'createOrder' | 'deliver' | 'refundNotify';

/**
 * Outbound work refused because its queue is full (the signer's queue, or a
 * backend's outbox): the caller gets it at once, nothing is queued. A
 * `TransportError` (the call did not happen), with its own stable code.
 */
export class OutboxFullError extends TransportError {
  override readonly code = 'ERR_OUTBOX_FULL';
  /** Which queue: `device` / `backend` (the signer) or the skill whose outbox is full. */
  readonly queue: string;
  constructor(message: string, queue: string) {
    super(message);
    this.queue = queue;
  }
}

/**
 * Caps on calls to skill backends (create order, notifications). Our own
 * extension: DingDang documents no such limits.
 */
export interface OutboxLimits {
  /** Calls in flight to one skill at once; default 16. */
  maxInFlightPerSkill?: number;
  /** Calls in flight to all skills at once; default 256. */
  maxInFlightTotal?: number;
  /** Calls waiting for a slot, per skill; default 1024. One more is refused (`OutboxFullError`). */
  maxQueuedPerSkill?: number;
  /** Calls waiting for a slot, all skills; default 8192. */
  maxQueuedTotal?: number;
}

type Waiter = () => void;

/**
 * The platform's outbox to skill backends: at most `maxInFlightPerSkill`
 * calls to one skill and `maxInFlightTotal` in all run at once; the rest wait
 * in FIFO order (per skill, skills taking turns) up to the queue caps; beyond
 * them a call is refused with `OutboxFullError` before anything is signed or
 * sent.
 */
export class Outbox {
  readonly maxInFlightPerSkill: number;
  readonly maxInFlightTotal: number;
  readonly maxQueuedPerSkill: number;
  readonly maxQueuedTotal: number;
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, Waiter[]>();
  private runningTotal = 0;
  private waitingTotal = 0;
  /** Calls refused because a queue was full. */
  refused = 0;

  constructor(limits: OutboxLimits = {}) {
    const int = (v: number | undefined, d: number, name: string) => {
      const n = v ?? d;
      if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`outbox ${name} must be an integer ≥ 1`);
      return n;
    };
    this.maxInFlightPerSkill = int(limits.maxInFlightPerSkill, 16, 'maxInFlightPerSkill');
    this.maxInFlightTotal = int(limits.maxInFlightTotal, 256, 'maxInFlightTotal');
    this.maxQueuedPerSkill = int(limits.maxQueuedPerSkill, 1024, 'maxQueuedPerSkill');
    this.maxQueuedTotal = int(limits.maxQueuedTotal, 8192, 'maxQueuedTotal');
  }

  /** Calls in flight to `skillId` (all skills without it). */
  inFlight(skillId?: string): number {
    return skillId === undefined ? this.runningTotal : (this.running.get(skillId) ?? 0);
  }

  /** Calls waiting for a slot to `skillId` (all skills without it). */
  queued(skillId?: string): number {
    return skillId === undefined ? this.waitingTotal : (this.waiting.get(skillId)?.length ?? 0);
  }

  /** Run `fn` when a slot to `skillId` is free; rejects with `OutboxFullError` at once when its queue is full. */
  async run<T>(skillId: string, fn: () => Promise<T>): Promise<T> {
    if (!this.free(skillId)) {
      const queue = this.waiting.get(skillId) ?? [];
      if (queue.length >= this.maxQueuedPerSkill || this.waitingTotal >= this.maxQueuedTotal) {
        this.refused++;
        const which = queue.length >= this.maxQueuedPerSkill ? `for ${skillId} (${this.maxQueuedPerSkill})` : `(${this.maxQueuedTotal} in all)`;
        throw new OutboxFullError(`outbox full: too many calls waiting ${which}`, skillId);
      }
      await new Promise<void>((go) => {
        queue.push(go);
        this.waiting.set(skillId, queue);
        this.waitingTotal++;
      });
    } else this.take(skillId);
    try {
      return await fn();
    } finally {
      this.release(skillId);
    }
  }

  private free(skillId: string): boolean {
    return this.runningTotal < this.maxInFlightTotal && (this.running.get(skillId) ?? 0) < this.maxInFlightPerSkill;
  }

  private take(skillId: string): void {
    this.running.set(skillId, (this.running.get(skillId) ?? 0) + 1);
    this.runningTotal++;
  }

  private release(skillId: string): void {
    const n = (this.running.get(skillId) ?? 1) - 1;
    if (n > 0) this.running.set(skillId, n);
    else this.running.delete(skillId);
    this.runningTotal--;
    // The freed slot: the first skill in turn with a waiter and room; it goes to the back of the turn order.
    for (const id of this.waiting.keys()) {
      const queue = this.waiting.get(id);
      if (!queue || !this.free(id)) continue;
      const w = queue.shift()!;
      this.waitingTotal--;
      this.waiting.delete(id);
      if (queue.length > 0) this.waiting.set(id, queue); // to the back of the turn order
      this.take(id);
      w();
      return;
    }
  }
}

/** One outbound call as the platform saw it (for the control API and tests). */
export interface CallRecord {
  kind: CallKind | 'skill';
  url: string;
  skillId: string;
  at: number;
  /** The exact body sent. */
  body: string;
  /** `ok` = a verified, valid reply arrived (whatever its retCode); for skill calls: a valid answer. */
  outcome: 'ok' | 'error';
  retCode?: string;
  retMsg?: string;
  error?: string;
  /** Skill calls: what the platform sent. */
  requestType?: SkillRequestType;
  /** Skill calls: the device and the session the request belongs to. */
  deviceId?: string;
  sessionId?: string;
  /** Skill calls that failed: the platform return code (SKILL-PROTOCOL §5: 100400 … 200503). */
  code?: SkillRetCode;
  /** Skill calls that failed: why (the first violation, or the transport failure). */
  reason?: string;
  /** Skill calls: the HTTP status of the answer, when one came. */
  status?: number;
  /** Skill calls: the answer's body as received (first 4 KiB). */
  response?: string;
  /** Skill calls: real ms from sending to the verdict. */
  durationMs?: number;
  /** Set when an injected fault changed the outcome. */
  fault?: 'timeout' | 'fail' | 'drop';
  /** For deliveries: 'primary' attempt, 'duplicate', 'late' or 'manual' copy. */
  copy?: string;
  attempt?: number;
}

export interface OutboundOptions {
  platformKey: KeyObject;
  /** The platform's signing clock (skew applied). */
  signingNow: () => number;
  /** Signs a request body off the main thread (the platform's queue); default: `signRsa2Async` with `platformKey`. */
  sign?: (raw: string) => Promise<string>;
  /** Makes the body and signs it when the platform's signing queue gets to it (fresh `nonceStr` and datetime); preferred over `sign`. */
  signBody?: (make: () => string) => Promise<{ raw: string; authorization: string }>;
  /** Caps on calls in flight and waiting, per skill and in all (default: no outbox, no caps). */
  outbox?: Outbox;
  /** The platform's verifying clock. */
  now: () => number;
  faults: Faults;
  /** Per-call timeout, real ms; default 5000. */
  timeoutMs?: number;
  /** Aborts every call in flight (the sandbox closing). */
  signal?: AbortSignal;
  record: (call: CallRecord) => void;
}

/** The call's timeout, combined with the sandbox's close signal when given. */
export function callSignal(timeoutMs: number, closing?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  if (!closing) return timeout;
  const any = (AbortSignal as { any?: (signals: AbortSignal[]) => AbortSignal }).any;
  return any ? any([timeout, closing]) : timeout;
}

type ReplyKind = 'createOrderReply' | 'deliverNotifyReply' | 'refundNotifyReply';

/**
 * POST a signed JSON body; verify and validate the reply. Throws typed errors.
 * `body` may be a function: the body is then made when the signer gets to it
 * (its `nonceStr` as fresh as the signature). Through `o.outbox` when given:
 * a full outbox refuses the call (`OutboxFullError`, recorded like any failed
 * call) before anything is signed.
 */
export async function postSigned<R extends AckReply>(
  o: OutboundOptions,
  kind: CallKind,
  skill: SkillConfig,
  url: string,
  body: object | (() => object),
  replyKind: ReplyKind,
  extra: Partial<CallRecord> = {},
): Promise<R> {
  const make = typeof body === 'function' ? () => JSON.stringify((body as () => object)()) : () => JSON.stringify(body);
  const record: CallRecord = { kind, url, skillId: skill.skillId, at: o.now(), body: '', outcome: 'error', ...extra };
  let fault: ReturnType<Faults['takePartnerFault']> | undefined;
  try {
    const call = async (): Promise<R> => {
      fault = o.faults.takePartnerFault(kind);
      if (fault === 'drop') {
        record.body = make();
        throw new TransportError(`injected fault: the request to ${url} was dropped before it reached the backend`);
      }
      const reply = await send<R>(o, skill, url, make, replyKind, (raw) => (record.body = raw));
      record.outcome = 'ok';
      record.retCode = reply.retCode;
      if (reply.retMsg !== undefined) record.retMsg = reply.retMsg;
      if (fault === 'timeout') throw new TimeoutError(`injected fault: reply of ${url} dropped (partner timeout)`);
      if (fault === 'fail') {
        record.retCode = 'FAIL';
        record.retMsg = 'injected fault';
        return { retCode: 'FAIL', retMsg: 'injected fault' } as R;
      }
      return reply;
    };
    return await (o.outbox ? o.outbox.run(skill.skillId, call) : call());
  } catch (e) {
    record.outcome = 'error';
    record.error = `${(e as { code?: string }).code ?? 'ERR'}: ${(e as Error).message}`;
    if (record.body === '' && e instanceof OutboxFullError) record.body = make();
    throw e;
  } finally {
    if (fault) record.fault = fault;
    o.record(record);
  }
}

// node:http with keep-alive instead of fetch: a fraction of the CPU per call (fetch's web streams and
// abort signals cost ≈ 0.4 ms per call, measured under fanout-p99). Free sockets are unref'd by Node.
const httpAgent = new HttpAgent({ keepAlive: true, maxFreeSockets: 256 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxFreeSockets: 256 });

/** Thrown by `post` when the time budget (or the sandbox closing) ended the call. */
export class CallTimeout extends Error {}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: Uint8Array;
}

/**
 * POST `raw`; the reply's status, headers and bytes. Timeout and the close
 * signal abort the call. A kept-alive socket the server had already closed
 * (it fails before any reply: the request was never read) is retried on
 * another socket, as Node's documentation advises (`request.reusedSocket`).
 */
export async function post(url: string, headers: Record<string, string>, raw: string, timeoutMs: number, closing?: AbortSignal): Promise<Reply> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    try {
      return await attempt(url, headers, raw, Math.max(1, deadline - Date.now()), closing);
    } catch (e) {
      if (i >= 3 || !(e as { staleSocket?: boolean }).staleSocket) throw e;
    }
  }
}

function attempt(url: string, headers: Record<string, string>, raw: string, timeoutMs: number, closing?: AbortSignal): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const body = Buffer.from(raw);
    const https = u.protocol === 'https:';
    let stage: 'connect' | 'reply' = 'connect';
    let done = false;
    const finish = (err: Error | undefined, value?: Reply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      closing?.removeEventListener('abort', onClose);
      if (err) {
        (err as { stage?: string }).stage ??= stage;
        if (stage === 'connect' && req.reusedSocket && !(err instanceof CallTimeout)) (err as { staleSocket?: boolean }).staleSocket = true;
        reject(err);
      } else resolve(value!);
    };
    const req = (https ? httpsRequest : httpRequest)(u, {
      method: 'POST',
      agent: https ? httpsAgent : httpAgent,
      headers: { ...headers, 'content-length': String(body.length) },
    });
    const timer = setTimeout(() => {
      finish(new CallTimeout('timeout'));
      req.destroy();
    }, timeoutMs);
    const onClose = () => {
      finish(new CallTimeout('closing'));
      req.destroy();
    };
    // The error listener comes first: a request destroyed below (the sandbox already closing) still
    // emits "socket hang up", which without a listener would be an uncaught exception.
    req.on('error', (e) => finish(e));
    if (closing?.aborted) return onClose();
    closing?.addEventListener('abort', onClose, { once: true });
    req.on('response', (res) => {
      stage = 'reply';
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => finish(e));
      res.on('aborted', () => finish(new Error('aborted')));
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, bytes: new Uint8Array(Buffer.concat(chunks)) }));
    });
    req.end(body);
  });
}

async function send<R>(o: OutboundOptions, skill: SkillConfig, url: string, make: () => string, replyKind: ReplyKind, sent: (raw: string) => void): Promise<R> {
  // In the thread pool: the event loop keeps serving devices meanwhile.
  let raw: string;
  let authorization: string;
  if (o.signBody) ({ raw, authorization } = await o.signBody(make));
  else {
    raw = make();
    authorization = await (o.sign ? o.sign(raw) : signRsa2Async(raw, o.platformKey, { now: o.signingNow }));
  }
  sent(raw);
  const timeoutMs = o.timeoutMs ?? 5000;
  let res: Reply;
  try {
    res = await post(url, { 'content-type': 'application/json; charset=utf-8', authorization }, raw, timeoutMs, o.signal);
  } catch (e) {
    if (e instanceof CallTimeout) throw new TimeoutError(`no reply from ${url} within ${timeoutMs} ms`);
    if ((e as { stage?: string }).stage === 'reply') throw new TransportError(`reply of ${url} broke off: ${(e as Error).message}`, { cause: e });
    throw new TransportError(`cannot reach ${url}: ${(e as Error).message}`, { cause: e });
  }
  const bytes = res.bytes;
  if (res.status < 200 || res.status > 299) throw new TransportError(`${url} answered HTTP ${res.status}`);
  const auth = res.headers.authorization;
  const v = verifyRsa2(bytes, auth ?? null, skill.skillPublicKey, { now: o.now });
  if (!v.ok) throw new SignatureError(v.reason, `reply of ${url}: ${v.message}`);
  const parsed = validateJson(replyKind, bytes);
  if (!parsed.ok) throw new ValidationError(parsed.issues, replyKind);
  return parsed.value as R;
}

/** Create-order request from a Charge directive: amount = totalFee, quantity = count. */
export function createOrderRequestFrom(skillId: string, userToken: string, charge: ChargeDirective): CreateOrderRequest {
  const details = charge.payload.chargeInfo.items.map((i) => ({ itemId: i.itemId, quantity: i.count, amount: i.totalFee }));
  const body: CreateOrderRequest = { skillId, userToken, details, totalAmt: sumFen(details.map((d) => d.amount)), nonceStr: randomNonce() };
  const v = validate('createOrderRequest', body);
  if (!v.ok) {
    const e = new ValidationError(v.issues, 'createOrderRequest');
    throw new RemoteError(`the Charge directive does not make a valid create order: ${e.message}`, e.retMsg);
  }
  return body;
}

/** Interface 1: returns the verified reply (SUCCESS with tradeNo, or FAIL — e.g. ALREADY_OWNED). */
export async function callCreateOrder(o: OutboundOptions, skill: SkillConfig, request: CreateOrderRequest): Promise<CreateOrderReply> {
  return postSigned<CreateOrderReply>(o, 'createOrder', skill, skill.createOrderUrl, request, 'createOrderReply');
}

export function deliverBody(order: DingDangOrder): DeliverNotifyRequest {
  return {
    skillId: order.skillId,
    userToken: order.userToken,
    transactionId: order.transactionId,
    tradeNo: order.tradeNo,
    totalAmt: order.totalAmt,
    nonceStr: randomNonce(),
  };
}

export function refundNotifyBody(r: RefundRecord): RefundNotifyRequest {
  return {
    ...refundWireFields(r),
    refundStatus: r.refundStatus,
    refundStatusDesc: REFUND_STATUS_DESC[r.refundStatus],
    nonceStr: randomNonce(),
  };
}

export interface NotificationState {
  key: string;
  kind: 'deliver' | 'refundNotify';
  skillId: string;
  transactionId: string;
  refundTransactionId?: string;
  state: 'pending' | 'delivered' | 'gave-up' | 'stopped';
  attempts: number;
  lastError?: string;
  deliveredAt?: number;
}

export interface NotifierOptions extends OutboundOptions {
  scheduler: Scheduler;
  /** Waits between attempts (platform ms, scaled by the scheduler); default WeChat's. */
  retryScheduleMs?: readonly number[];
  /**
   * How many finished notifications (delivered, gave up, stopped) `list` and
   * `get` keep, the most recently finished; default
   * `DEFAULT_KEEP_FINISHED_NOTIFICATIONS`. Pending ones are always kept.
   */
  keepFinished?: number;
}

/** Finished notification states kept by default (docs/sandbox.md "Bounded work"). */
export const DEFAULT_KEEP_FINISHED_NOTIFICATIONS = 1000;

/**
 * Sends notifications 2 (deliver) and 6 (refund result) until the backend
 * answers SUCCESS, waiting `retryScheduleMs[i]` after the i-th failure; gives
 * up after the last step. A fresh `nonceStr` and signature for every copy.
 *
 * Its list of states is bounded (our own): every pending notification is
 * kept, and of the finished ones only the `keepFinished` most recently
 * finished; an older finished state is forgotten (its calls stay in the call
 * log while the log keeps them). The platform starts each notification once
 * (an order is paid once, a refund finishes once), so a forgotten state is
 * never started again.
 */
export class Notifier {
  readonly schedule: readonly number[];
  /** Finished states kept (the most recently finished). */
  readonly keepFinished: number;
  /** Every state kept, in the order the notifications started. */
  private readonly states = new Map<string, NotificationState>();
  /** Keys of the finished states kept, oldest finished first. */
  private readonly finished = new Set<string>();
  private closed = false;
  /**
   * Notification sends refused by a full outbox or signing queue (each is in
   * the call log as an `ERR_OUTBOX_FULL` call): a primary attempt is retried
   * on the schedule like any failed attempt, a copy is not sent.
   */
  overflowed = 0;

  constructor(private readonly o: NotifierOptions) {
    this.schedule = o.retryScheduleMs ?? WECHAT_RETRY_SCHEDULE_MS;
    if (!this.schedule.every((ms) => Number.isFinite(ms) && ms >= 0)) throw new InvalidArgumentError('retry schedule must be non-negative ms');
    this.keepFinished = o.keepFinished ?? DEFAULT_KEEP_FINISHED_NOTIFICATIONS;
    if (!Number.isSafeInteger(this.keepFinished) || this.keepFinished < 0)
      throw new InvalidArgumentError('keepFinished (finished notifications kept) must be a whole number ≥ 0');
  }

  /** A state reached its end: keep it among the finished, forgetting the oldest finished beyond `keepFinished`. */
  private finish(state: NotificationState, end: 'delivered' | 'gave-up' | 'stopped'): void {
    state.state = end;
    if (this.states.get(state.key) !== state) return;
    this.finished.add(state.key);
    for (const key of this.finished) {
      if (this.finished.size <= this.keepFinished) break;
      this.finished.delete(key);
      this.states.delete(key);
    }
  }

  list(): NotificationState[] {
    return [...this.states.values()].map((s) => ({ ...s }));
  }

  get(key: string): NotificationState | undefined {
    const s = this.states.get(key);
    return s && { ...s };
  }

  /** Start notifying the delivery of a paid order (idempotent per order). */
  deliver(skill: SkillConfig, order: DingDangOrder): NotificationState {
    const key = `deliver:${order.transactionId}`;
    const existing = this.states.get(key);
    if (existing) return { ...existing };
    const state: NotificationState = { key, kind: 'deliver', skillId: skill.skillId, transactionId: order.transactionId, state: 'pending', attempts: 0 };
    this.states.set(key, state);
    const faults = this.o.faults.current;
    for (let i = 0; i < faults.duplicateDelivery; i++) void this.copy(skill, 'deliver', () => deliverBody(order), 'duplicate');
    const start = () => void this.run(state, skill, skill.deliverUrl, 'deliver', () => deliverBody(order), faults.lateDeliveryMs);
    if (faults.delayDeliveryMs > 0) this.o.scheduler.afterReal(faults.delayDeliveryMs, start);
    else start();
    return { ...state };
  }

  /** Start notifying a refund result (when the skill registered a refundNotifyUrl). */
  refund(skill: SkillConfig, refund: RefundRecord): NotificationState | undefined {
    if (!skill.refundNotifyUrl) return undefined;
    const key = `refund:${refund.refundTransactionId}:${refund.refundStatus}`;
    const existing = this.states.get(key);
    if (existing) return { ...existing };
    const state: NotificationState = {
      key,
      kind: 'refundNotify',
      skillId: skill.skillId,
      transactionId: refund.transactionId,
      refundTransactionId: refund.refundTransactionId,
      state: 'pending',
      attempts: 0,
    };
    this.states.set(key, state);
    void this.run(state, skill, skill.refundNotifyUrl, 'refundNotify', () => refundNotifyBody(refund), 0);
    return { ...state };
  }

  /** Send one more copy of an order's delivery notification now (duplicates on demand). */
  async duplicate(skill: SkillConfig, order: DingDangOrder): Promise<AckReply | undefined> {
    return this.copy(skill, 'deliver', () => deliverBody(order), 'manual');
  }

  private async copy(skill: SkillConfig, kind: 'deliver' | 'refundNotify', body: () => object, copy: string): Promise<AckReply | undefined> {
    if (this.closed) return undefined;
    try {
      const url = kind === 'deliver' ? skill.deliverUrl : skill.refundNotifyUrl!;
      return await postSigned<AckReply>(this.o, kind, skill, url, body, kind === 'deliver' ? 'deliverNotifyReply' : 'refundNotifyReply', { copy });
    } catch (e) {
      if (e instanceof OutboxFullError) this.overflowed++;
      return undefined;
    }
  }

  private async run(
    state: NotificationState,
    skill: SkillConfig,
    url: string,
    kind: 'deliver' | 'refundNotify',
    body: () => object,
    lateMs: number,
  ): Promise<void> {
    for (let i = 0; ; i++) {
      if (this.closed || this.o.scheduler.isClosed) {
        this.finish(state, 'stopped');
        return;
      }
      state.attempts++;
      try {
        const reply = await postSigned<AckReply>(this.o, kind, skill, url, body, kind === 'deliver' ? 'deliverNotifyReply' : 'refundNotifyReply', {
          copy: 'primary',
          attempt: state.attempts,
        });
        if (reply.retCode === 'SUCCESS') {
          state.deliveredAt = this.o.now();
          delete state.lastError;
          this.finish(state, 'delivered');
          if (lateMs > 0) this.o.scheduler.afterReal(lateMs, () => void this.copy(skill, kind, body, 'late'));
          return;
        }
        state.lastError = `FAIL: ${reply.retMsg ?? ''}`;
      } catch (e) {
        if (e instanceof OutboxFullError) this.overflowed++;
        state.lastError = `${(e as { code?: string }).code ?? 'ERR'}: ${(e as Error).message}`.slice(0, 200);
      }
      const wait = this.schedule[i];
      if (wait === undefined) {
        this.finish(state, 'gave-up');
        return;
      }
      await this.o.scheduler.sleep(wait);
    }
  }

  /** Stop retrying; pending sleeps end at once. */
  close(): void {
    this.closed = true;
  }
}
