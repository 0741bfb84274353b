/**
 * The device-facing side of the sandbox: the platform end of
 * docs/device-protocol.md (v1) — HTTP under `/device/v1` and the WebSocket
 * stream at `/device/v1/stream` sharing the sandbox's HTTP server.
 *
 * Every 2xx reply and every push is signed with the platform key (TSK-RSA2,
 * the platform's signing clock, so clock-skew faults reach the device).
 * A status push goes out on every status change of a subscribed purchase and
 * as a periodic repeat; the push faults (duplicate, delay, reorder, drop the
 * socket) are applied here.
 *
 * Bounded work (docs/sandbox.md "Bounded work"): the last signed push of a
 * (purchase, device) is kept and sent again while it is fresh and nothing
 * changed — a repeated subscribe or a repeat costs no new signature, and a
 * socket that already has the current status gets only `subscribed`; each
 * socket's outbox is capped, per socket and in all, a newer status of a
 * purchase superseding an older one still waiting.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DEVICE_ID_HEADER,
  DEVICE_STREAM_PATH,
  DEVICE_TOKEN_HEADER,
  InvalidArgumentError,
  MAX_FRAME_CHARS,
  STREAM_CLOSE_CODES,
  deviceLinkRouteRe,
  encodePushFrame,
  encodeServerFrame,
  encodeStatusBody,
  errorBody,
  isDeviceId,
  parseClientFrame,
  parseStartPurchaseRequest,
  randomNonce,
  type CancelReply,
  type ClientFrame,
  type PlaceOrderReply,
  type RefreshOrderReply,
  type ResumeReply,
  type ServerFrame,
  type StartPurchaseReply,
  type SubscribeFrame,
} from '../protocol/index.js';
import type { DeviceConfig } from './config.js';
import { deviceErrorOf, HttpError } from './errors.js';
import type { PushFaults } from './faults.js';
import type { DeviceLinkHost } from './device-link-host.js';
import { selectElement } from './device-link-select.js';
import { OutboxFullError } from './outbound.js';
import type { Platform } from './platform.js';
import type { PurchaseStatus } from './purchase-book.js';
import type { RouteContext } from './router.js';

export { DEVICE_STREAM_PATH } from '../protocol/index.js';

export interface DeviceLinkOptions {
  /** Repeat the current status to every subscription this often, real ms (0 = never). Default 5000. */
  repeatStatusMs?: number;
  /** Close sockets that have not subscribed within this many ms (code 4401). Default 10 000. */
  authTimeoutMs?: number;
  /** Close sockets silent for this many ms. Default 45 000. */
  idleTimeoutMs?: number;
  /** How long a reordered push is held when no newer one comes, real ms. Default 1000. */
  reorderHoldMs?: number;
  /**
   * How long a signed push may be sent again unchanged (repeated subscribes,
   * repeats), signing-clock ms since it was signed; 0 = always sign afresh.
   * Default 30 000 (well inside the device's ±3 minutes). Our own extension.
   */
  reusePushMs?: number;
  /** Pushes waiting in one socket's outbox (signing, or behind an earlier one); default 64. Our own extension. */
  maxQueuedPerSocket?: number;
  /** Pushes waiting in all sockets' outboxes; default 8192. Our own extension. */
  maxQueuedTotal?: number;
}

/** The last push made for a (purchase, device): what it says, and the frame. */
interface LastPush {
  /** The status fields without the nonce, and the signing skew in force. */
  key: string;
  frame: Promise<string>;
  /** Signing clock when it was signed; undefined while signing. */
  signedAt: number | undefined;
}

/** Signed pushes kept for reuse, at most (the oldest made goes first). */
const MAX_KEPT_PUSHES = 4096;

/** FAIL reasons as the speaker says them ("支付没有成功：…"). */
const FAIL_REASON: Record<string, string> = {
  declined: '银行卡余额不足',
  cancelled: '用户取消了支付',
};

interface Client {
  ws: WebSocket;
  /** purchaseId → deviceId */
  subscriptions: Map<string, string>;
  authTimer: (() => void) | undefined;
  lastSeen: number;
  /** purchaseId → what the last push queued for it on this socket said (`LastPush.key`). */
  sent: Map<string, string>;
  /**
   * Signed pushes in the order they were asked for (signatures finish in the
   * thread pool in any order): a push leaves only when every earlier one has,
   * so `seq` order per purchase holds. Unsigned frames (pong, subscribed,
   * error) do not wait here.
   */
  outbox: OutboxSlot[];
}

interface OutboxSlot {
  purchaseId: string;
  /** What it says (`LastPush.key`). */
  key: string;
  /** Push faults in force when it was asked for; null: sent as is (repeats, the push after `subscribed`). */
  faults: PushFaults | null;
  /** The frame once signed; null when signing failed (skipped). */
  frame: string | null | undefined;
}

export class DeviceLink {
  readonly wss: WebSocketServer;
  private readonly platform: Platform;
  private readonly devices: DeviceConfig[];
  private readonly clients = new Set<Client>();
  /** purchaseId → its subscribed clients (→ deviceId): a status change finds them without a scan. */
  private readonly subs = new Map<string, Map<Client, string>>();
  private readonly held = new Map<string, { frame: string; cancel: () => void }>();
  private readonly repeatMs: number;
  private readonly authTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly reorderHoldMs: number;
  private readonly reusePushMs: number;
  readonly maxQueuedPerSocket: number;
  readonly maxQueuedTotal: number;
  private repeatTimer: NodeJS.Timeout | undefined;
  /** `${purchaseId}\n${deviceId}` → the last push made for it (the newest MAX_KEPT_PUSHES). */
  private readonly lastPush = new Map<string, LastPush>();
  /** Pushes waiting in all outboxes. */
  private queuedTotal = 0;
  /** Push frames sent (after faults), for tests and the control API. */
  pushesSent = 0;
  /** Waiting pushes removed from a full outbox because a newer status of the same purchase came. */
  pushesSuperseded = 0;
  /** Pushes dropped from a full outbox with nothing newer for their purchase (the repeat or a re-query brings it back). */
  pushesDropped = 0;

  constructor(
    private readonly sandbox: DeviceLinkHost,
    options: DeviceLinkOptions = {},
  ) {
    this.platform = sandbox.platform;
    this.devices = sandbox.platform.config.devices ?? [];
    this.repeatMs = options.repeatStatusMs ?? 5000;
    this.authTimeoutMs = options.authTimeoutMs ?? 10_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
    this.reorderHoldMs = options.reorderHoldMs ?? 1000;
    this.reusePushMs = options.reusePushMs ?? 30_000;
    this.maxQueuedPerSocket = options.maxQueuedPerSocket ?? 64;
    this.maxQueuedTotal = options.maxQueuedTotal ?? 8192;
    if (!(this.reusePushMs >= 0)) throw new InvalidArgumentError('reusePushMs must be ≥ 0');
    for (const [name, v] of [
      ['maxQueuedPerSocket', this.maxQueuedPerSocket],
      ['maxQueuedTotal', this.maxQueuedTotal],
    ] as const)
      if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError(`${name} must be an integer ≥ 1`);
    this.wss = new WebSocketServer({
      server: sandbox.server,
      path: DEVICE_STREAM_PATH,
      maxPayload: MAX_FRAME_CHARS,
      // A rebinding Host is refused before the handshake (421), like on HTTP.
      verifyClient: (info, done) => ((sandbox.hostAllowed?.(info.req) ?? true) ? done(true) : done(false, 421, 'Misdirected Request')),
    });
    this.wss.on('connection', (ws) => this.onConnection(ws));
    this.wss.on('error', () => {});
    this.platform.on('status', (s) => this.onStatus(s));
    sandbox.onDropSocket(() => this.dropSockets());
    sandbox.onClose(() => this.close());
    if (this.repeatMs > 0) {
      this.repeatTimer = setInterval(() => this.repeatAll(), this.repeatMs);
      this.repeatTimer.unref();
    }
    this.installRoutes();
  }

  /** Open device sockets right now. */
  get connections(): number {
    return this.clients.size;
  }

  subscribers(purchaseId: string): number {
    return this.subs.get(purchaseId)?.size ?? 0;
  }

  /**
   * Is this device (and token) allowed? With no devices configured, any valid
   * deviceId carrying the sandbox's per-run device token is (our own
   * extension, docs/device-protocol.md §1); with a list, only listed ids,
   * with their configured token when they have one.
   */
  authorize(deviceId: unknown, token: unknown): string {
    if (!isDeviceId(deviceId)) throw new HttpError(401, 'unknown device', 'UNAUTHORIZED');
    if (this.devices.length === 0) {
      const runToken = this.sandbox.deviceToken;
      if (runToken === undefined || token === runToken) return deviceId;
      throw new HttpError(401, token === undefined ? 'device token required' : 'wrong device token', 'UNAUTHORIZED');
    }
    const d = this.devices.find((x) => x.deviceId === deviceId);
    if (!d) throw new HttpError(401, 'unknown device', 'UNAUTHORIZED');
    if (d.deviceToken !== undefined && token !== d.deviceToken) throw new HttpError(401, 'wrong device token', 'UNAUTHORIZED');
    return deviceId;
  }

  /** The purchase if it belongs to `deviceId` (404 otherwise, never a hint). */
  private owned(purchaseId: string | undefined, deviceId: string) {
    const p = purchaseId === undefined ? undefined : this.platform.purchase(purchaseId);
    if (!p || (p.deviceClaimed && p.deviceId !== deviceId)) throw new HttpError(404, 'no such purchase', 'NOT_FOUND');
    return p;
  }

  /** The fields of a status body but the nonce. */
  private statusFields(s: PurchaseStatus, deviceId: string) {
    return {
      purchaseId: s.purchaseId,
      deviceId,
      tradeStatus: s.tradeStatus,
      seq: s.seq,
      ...(s.order ? { order: s.order } : {}),
      ...(s.tradeStatus === 'FAIL' ? { reason: FAIL_REASON[s.reason ?? ''] ?? s.reason ?? '支付失败' } : {}),
      ...(s.endReason !== undefined ? { endReason: s.endReason } : {}),
    };
  }

  /** The exact JSON text of a status body (docs §3.4 / §4.3). */
  statusBody(s: PurchaseStatus, deviceId: string): string {
    return encodeStatusBody({ ...this.statusFields(s, deviceId), nonceStr: randomNonce() });
  }

  /** What a push of `s` to `deviceId` says (all but the nonce), with the signing skew in force. */
  private pushKey(s: PurchaseStatus, deviceId: string): string {
    return `${JSON.stringify(this.statusFields(s, deviceId))}\n${this.platform.faults.clockSkewMs}`;
  }

  /**
   * A signed push frame of `s` for `deviceId`: the last one made, when it says
   * the same (same signing skew) and was signed less than `reusePushMs` ago;
   * else a fresh one (body, nonce and datetime made when the signer gets to it).
   */
  private pushFrame(s: PurchaseStatus, deviceId: string, key = this.pushKey(s, deviceId)): { key: string; frame: Promise<string> } {
    const id = `${s.purchaseId}\n${deviceId}`;
    const last = this.lastPush.get(id);
    if (last && last.key === key && this.reusePushMs > 0 && (last.signedAt === undefined || this.platform.signingNow() - last.signedAt < this.reusePushMs))
      return { key, frame: last.frame };
    const entry: LastPush = { key, frame: undefined as unknown as Promise<string>, signedAt: undefined };
    entry.frame = this.platform.signer
      .signBody(() => this.statusBody(s, deviceId), 'device')
      .then(
        ({ raw, authorization, signedAt }) => {
          entry.signedAt = signedAt;
          return encodePushFrame(raw, authorization);
        },
        (e: unknown) => {
          if (this.lastPush.get(id) === entry) this.lastPush.delete(id);
          throw e;
        },
      );
    // Kept across unsubscribes and reconnects (the device that comes back gets it), the newest MAX_KEPT_PUSHES.
    this.lastPush.delete(id);
    this.lastPush.set(id, entry);
    if (this.lastPush.size > MAX_KEPT_PUSHES) this.lastPush.delete(this.lastPush.keys().next().value!);
    return { key, frame: entry.frame };
  }

  // ── pushes and their faults ──────────────────────────────────────────

  private onStatus(s: PurchaseStatus): void {
    const subs = this.subs.get(s.purchaseId);
    if (!subs || subs.size === 0) return;
    // One body and one signature per device subscribed to this purchase (the body names the device).
    const frames = new Map<string, { key: string; frame: Promise<string> }>();
    const faults = this.platform.faults.pushFaults;
    for (const [c, deviceId] of subs) {
      let push = frames.get(deviceId);
      if (!push) frames.set(deviceId, (push = this.pushFrame(s, deviceId)));
      this.enqueue(c, s.purchaseId, push, faults);
    }
  }

  /**
   * Queue a push for `c` behind its earlier pushes; faults are those in force
   * when the status changed. A full outbox (this socket's, or all of them)
   * first loses its oldest push of the same purchase (superseded by this
   * one), else its oldest push; with nothing of its own to lose, this push is
   * dropped. Drops are counted; the repeat and the device's re-query on
   * reconnect bring the status back.
   */
  private enqueue(c: Client, purchaseId: string, push: { key: string; frame: Promise<string> }, faults: PushFaults | null): void {
    if (c.outbox.length >= this.maxQueuedPerSocket || this.queuedTotal >= this.maxQueuedTotal) {
      const same = c.outbox.findIndex((x) => x.purchaseId === purchaseId);
      if (same >= 0) {
        c.outbox.splice(same, 1);
        this.queuedTotal--;
        this.pushesSuperseded++;
      } else if (c.outbox.length > 0) {
        const lost = c.outbox.shift()!;
        this.queuedTotal--;
        this.pushesDropped++;
        if (c.sent.get(lost.purchaseId) === lost.key) c.sent.delete(lost.purchaseId);
      } else {
        this.pushesDropped++;
        return;
      }
    }
    const slot: OutboxSlot = { purchaseId, key: push.key, faults, frame: undefined };
    c.outbox.push(slot);
    this.queuedTotal++;
    c.sent.set(purchaseId, push.key);
    push.frame.then(
      (text) => {
        slot.frame = text;
        this.flush(c);
      },
      () => {
        slot.frame = null;
        // Not sent: the next subscribe or repeat must make it again.
        if (c.sent.get(purchaseId) === push.key) c.sent.delete(purchaseId);
        this.flush(c);
      },
    );
  }

  /** Pushes waiting in all outboxes. */
  get queuedPushes(): number {
    return this.queuedTotal;
  }

  private flush(c: Client): void {
    while (c.outbox.length > 0 && c.outbox[0]!.frame !== undefined) {
      const slot = c.outbox.shift()!;
      this.queuedTotal--;
      const frame = slot.frame;
      if (frame === null || frame === undefined || !this.clients.has(c)) continue;
      if (slot.faults) this.deliver(c, slot.purchaseId, frame, slot.faults);
      else this.send(c, frame, true);
    }
  }

  private deliver(c: Client, purchaseId: string, frame: string, f: PushFaults): void {
    const send = () => {
      for (let i = 0; i <= f.duplicatePush; i++) this.send(c, frame, true);
    };
    const later = (fn: () => void) => (f.delayPushMs > 0 ? this.platform.scheduler.afterReal(f.delayPushMs, fn) : fn());
    if (!f.reorderPush) return void later(send);
    // Reorder: hold this push; when the next one comes, send the newer first, then the older.
    const key = `${purchaseId}\n${this.clientKey(c)}`;
    const held = this.held.get(key);
    if (held) {
      held.cancel();
      this.held.delete(key);
      later(() => {
        send();
        for (let i = 0; i <= f.duplicatePush; i++) this.send(c, held.frame, true);
      });
      return;
    }
    const cancel = this.platform.scheduler.afterReal(this.reorderHoldMs, () => {
      this.held.delete(key);
      later(send);
    });
    this.held.set(key, { frame, cancel });
  }

  private unindex(c: Client, purchaseId: string): void {
    const subs = this.subs.get(purchaseId);
    if (!subs) return;
    subs.delete(c);
    if (subs.size === 0) this.subs.delete(purchaseId);
  }

  private ids = new WeakMap<Client, number>();
  private nextId = 0;
  private clientKey(c: Client): number {
    let id = this.ids.get(c);
    if (id === undefined) this.ids.set(c, (id = ++this.nextId));
    return id;
  }

  private send(c: Client, text: string, push = false): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (push) this.pushesSent++;
    c.ws.send(text);
  }

  /** The periodic repeat: the current status to every subscription, unless a push of it is still waiting in that outbox. */
  private repeatAll(): void {
    for (const c of this.clients)
      for (const [purchaseId, deviceId] of c.subscriptions) {
        const p = this.platform.purchase(purchaseId);
        if (!p || c.outbox.some((x) => x.purchaseId === purchaseId)) continue;
        this.enqueue(c, purchaseId, this.pushFrame(this.platform.status(purchaseId), deviceId), null);
      }
  }

  /** Kill every device socket (no close handshake), like a network drop. */
  dropSockets(): number {
    const n = this.clients.size;
    for (const c of this.clients) c.ws.terminate();
    return n;
  }

  // ── WebSocket ─────────────────────────────────────────────────────────

  private onConnection(ws: WebSocket): void {
    const client: Client = { ws, subscriptions: new Map(), sent: new Map(), authTimer: undefined, lastSeen: Date.now(), outbox: [] };
    // Our close frame, then the socket cut a second later if the peer never answers it (ws would wait 30 s).
    const end = (code: number, reason: string) => {
      ws.close(code, reason);
      setTimeout(() => ws.terminate(), 1000).unref();
    };
    client.authTimer = this.platform.scheduler.afterReal(this.authTimeoutMs, () => {
      client.authTimer = undefined;
      if (client.subscriptions.size === 0) end(STREAM_CLOSE_CODES.notSubscribed, 'not subscribed in time');
    });
    const idle = setInterval(
      () => {
        if (Date.now() - client.lastSeen > this.idleTimeoutMs) ws.terminate();
      },
      Math.min(this.idleTimeoutMs, 5000),
    );
    idle.unref();
    this.clients.add(client);
    ws.on('close', () => {
      client.authTimer?.();
      clearInterval(idle);
      this.clients.delete(client);
      for (const purchaseId of client.subscriptions.keys()) this.unindex(client, purchaseId);
      this.queuedTotal -= client.outbox.length;
      client.outbox.length = 0;
    });
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      client.lastSeen = Date.now();
      if (isBinary) return void end(STREAM_CLOSE_CODES.protocolViolation, 'binary frame');
      const parsed = parseClientFrame(String(data));
      if (parsed.ok) return this.onFrame(client, parsed.value);
      // A subscribe with bad fields is answered; any other bad frame ends the connection.
      if (parsed.refusal) this.answer(client, { type: 'error', ...parsed.refusal, message: parsed.detail });
      else end(STREAM_CLOSE_CODES.protocolViolation, 'bad frame');
    });
  }

  private answer(c: Client, frame: ServerFrame): void {
    this.send(c, encodeServerFrame(frame));
  }

  private onFrame(c: Client, frame: ClientFrame): void {
    switch (frame.type) {
      case 'ping':
        return this.answer(c, frame.t !== undefined ? { type: 'pong', t: frame.t } : { type: 'pong' });
      case 'pong':
        return;
      case 'unsubscribe':
        c.sent.delete(frame.purchaseId);
        if (c.subscriptions.delete(frame.purchaseId)) this.unindex(c, frame.purchaseId);
        return;
      case 'subscribe':
        return this.onSubscribe(c, frame);
    }
  }

  private onSubscribe(c: Client, frame: SubscribeFrame): void {
    const id = frame.id !== undefined ? { id: frame.id } : {};
    const refuse = (code: string, message: string) => this.answer(c, { type: 'error', ...id, code, message });
    let deviceId: string;
    try {
      deviceId = this.authorize(frame.deviceId, frame.deviceToken);
    } catch (e) {
      return refuse('UNAUTHORIZED', (e as Error).message);
    }
    let purchaseId: string;
    try {
      purchaseId = this.owned(frame.purchaseId, deviceId).purchaseId;
    } catch {
      return refuse('NOT_FOUND', 'no such purchase');
    }
    // Idempotent: this socket already has (or is being sent) this very status for this device → only `subscribed`.
    const again = c.subscriptions.get(purchaseId) === deviceId;
    c.subscriptions.set(purchaseId, deviceId);
    if (this.clients.has(c)) {
      let subs = this.subs.get(purchaseId);
      if (!subs) this.subs.set(purchaseId, (subs = new Map<Client, string>()));
      subs.set(c, deviceId);
    }
    c.authTimer?.();
    c.authTimer = undefined;
    this.answer(c, { type: 'subscribed', ...id, purchaseId });
    const status = this.platform.status(purchaseId);
    const key = this.pushKey(status, deviceId);
    if (again && c.sent.get(purchaseId) === key) return;
    this.enqueue(c, purchaseId, this.pushFrame(status, deviceId, key), null);
  }

  // ── HTTP ──────────────────────────────────────────────────────────────

  /** A signed JSON reply; the signature is made in the thread pool. */
  private async reply(res: ServerResponse, status: number, value: unknown): Promise<void> {
    return this.replyRaw(res, status, JSON.stringify(value));
  }

  private async replyRaw(res: ServerResponse, status: number, body: string): Promise<void> {
    const authorization = await this.platform.signAsync(body);
    if (res.headersSent || res.destroyed) return void res.end();
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', authorization, ...CORS });
    res.end(body);
  }

  private async fail(res: ServerResponse, e: unknown, route: string): Promise<void> {
    const { status, code, message } = deviceErrorOf(e, route === 'order');
    if (res.headersSent) return void res.end();
    try {
      await this.reply(res, status, errorBody(code, message));
    } catch (e2) {
      // Nothing left to sign with: the signing queue is full (503, try again), or signing broke (500).
      const busy = e instanceof OutboxFullError || e2 instanceof OutboxFullError;
      if (!res.headersSent) res.writeHead(busy ? 503 : 500, busy ? { 'retry-after': '1', ...CORS } : CORS);
      res.end();
    }
  }

  private installRoutes(): void {
    const sb = this.sandbox;
    const p = this.platform;
    sb.route('OPTIONS', /^\/device\/v1\/.*$/, ({ res }) => {
      res.writeHead(204, {
        ...CORS,
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': `content-type, ${DEVICE_ID_HEADER}, ${DEVICE_TOKEN_HEADER}`,
        'access-control-max-age': '600',
      });
      res.end();
    });
    const route = (
      method: string,
      re: RegExp,
      name: string,
      fn: (ctx: RouteContext, deviceId: string, body: Record<string, unknown>) => Promise<void> | void,
    ) =>
      sb.route(method, re, async (ctx) => {
        try {
          const deviceId = this.authorize(header(ctx.req, DEVICE_ID_HEADER), header(ctx.req, DEVICE_TOKEN_HEADER));
          const body = method === 'POST' ? await ctx.json() : {};
          await fn(ctx, deviceId, body);
        } catch (e) {
          await this.fail(ctx.res, e, name);
        }
      });
    route('POST', deviceLinkRouteRe('start'), 'start', ({ res }, deviceId, b) => {
      const start = parseStartPurchaseRequest(b);
      if (!start.ok) throw new InvalidArgumentError(start.detail);
      const { purchaseId } = start.value;
      const existed = purchaseId !== undefined && p.purchase(purchaseId) !== undefined;
      if (existed) this.owned(purchaseId, deviceId);
      const pu = p.startPurchase({ ...start.value, deviceId });
      const s = p.status(pu.purchaseId);
      const reply: StartPurchaseReply = { purchaseId: pu.purchaseId, tradeStatus: s.tradeStatus, seq: s.seq };
      return this.reply(res, existed ? 200 : 201, reply);
    });
    route('POST', deviceLinkRouteRe('order'), 'order', async ({ res, params }, deviceId) => {
      const pu = this.owned(params[0], deviceId);
      const reply: PlaceOrderReply = { purchaseId: pu.purchaseId, ...(await p.placeOrder(pu.purchaseId)) };
      return this.reply(res, 200, reply);
    });
    route('POST', deviceLinkRouteRe('refresh'), 'refresh', async ({ res, params }, deviceId) => {
      const pu = this.owned(params[0], deviceId);
      const reply: RefreshOrderReply = { purchaseId: pu.purchaseId, order: await p.refreshOrder(pu.purchaseId) };
      return this.reply(res, 200, reply);
    });
    route('GET', deviceLinkRouteRe('status'), 'status', ({ res, params }, deviceId) => {
      const pu = this.owned(params[0], deviceId);
      return this.replyRaw(res, 200, this.statusBody(p.status(pu.purchaseId), deviceId));
    });
    route('POST', deviceLinkRouteRe('cancel'), 'cancel', ({ res, params }, deviceId) => {
      const pu = this.owned(params[0], deviceId);
      const reply: CancelReply = { purchaseId: pu.purchaseId, cancelled: p.cancel(pu.purchaseId) };
      return this.reply(res, 200, reply);
    });
    route('POST', deviceLinkRouteRe('resume'), 'resume', async ({ res, params }, deviceId) => {
      const pu = this.owned(params[0], deviceId);
      const reply: ResumeReply = { purchaseId: pu.purchaseId, ...(await p.resume(pu.purchaseId)) };
      return this.reply(res, 200, reply);
    });
    // The player reached a pay:true item: Display.ElementSelected to the skill (device-link-select.ts).
    route('POST', deviceLinkRouteRe('select'), 'select', async ({ res }, deviceId, b) => this.reply(res, 200, await selectElement(p, deviceId, b)));
  }

  close(): void {
    if (this.repeatTimer) clearInterval(this.repeatTimer);
    for (const h of this.held.values()) h.cancel();
    this.held.clear();
    for (const c of this.clients) c.ws.terminate();
    this.wss.close();
  }
}

const CORS = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'Authorization' };

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
