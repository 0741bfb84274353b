/**
 * A real, scriptable platform end of docs/device-protocol.md for tests:
 * `node:http` + a `ws` WebSocketServer on 127.0.0.1, port 0, with a platform
 * RSA key pair that signs every 2xx reply and every push (TSK-RSA2).
 *
 * Tests drive it: set a purchase's status (pushed to subscribers), send
 * pushes by hand (duplicates, old seq, unsigned, forged, stale, another key),
 * drop or silence sockets, delay or hang HTTP replies, refuse requests.
 * The sandbox implements the same protocol for real; this file is a compact
 * reference of the server side.
 *
 *   const platform = await FakePlatform.start();
 *   const transport = createNodeTransport({ platformUrl: platform.url,
 *     tskPublicKey: platform.publicKeyPem, deviceId: platform.deviceId, deviceToken: platform.deviceToken });
 *   ...
 *   await platform.close();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  DEVICE_ID_HEADER,
  DEVICE_STREAM_PATH,
  DEVICE_TOKEN_HEADER,
  MAX_FRAME_CHARS,
  STREAM_CLOSE_CODES,
  encodePushFrame,
  encodeServerFrame,
  encodeStatusBody,
  errorBody,
  formatTskDatetime,
  generateTskKeyPair,
  matchDeviceLinkRoute,
  parseClientFrame,
  parseSelectElementRequest,
  parseStartPurchaseRequest,
  randomNonce,
  signRsa2,
  type CancelReply,
  type ClientFrame,
  type DeviceLinkRoute,
  type DeviceMode,
  type DeviceOrder,
  type PlaceOrderReply,
  type RefreshOrderReply,
  type ResumeReply,
  type SelectElementReply,
  type SelectElementRequest,
  type StartPurchaseReply,
  type StatusBody,
  type TradeStatus,
  type TskKeyPair,
} from '../../src/protocol/index.js';

export type Route = DeviceLinkRoute;

/** How a reply or push is signed. */
export type SignMode =
  /** A good TSK-RSA2 signature at the platform's clock. */
  | 'valid'
  /** No signature at all. */
  | 'none'
  /** Signed, then the body is changed (tradeStatus flipped to SUCCESS, or a character altered). */
  | 'forged'
  /** Signed with a key that is not the platform's. */
  | 'other-key'
  /** Valid signature, Datetime 10 minutes in the past. */
  | 'stale'
  /** Valid signature, Datetime 10 minutes in the future. */
  | 'future'
  /** Signature header of another algorithm. */
  | 'hmac-header';

export interface FakePurchase {
  purchaseId: string;
  deviceId: string;
  mode: DeviceMode;
  charge: unknown;
  originalRequest: unknown;
  tradeStatus: TradeStatus;
  seq: number;
  order?: DeviceOrder;
  reason?: string;
  cancelled: boolean;
  alreadyOwned: boolean;
  /** What placeOrder answers next: a new order (default), already-owned, or a refusal with this retMsg. */
  placeOrderAnswer: 'order' | 'already-owned' | { refuse: string };
  totalAmt: number;
  resumeCount: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  route: Route | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakePlatformOptions {
  deviceId?: string;
  /** Token the device must send; `null`: no token needed. Default `tok-device-1`. */
  deviceToken?: string | null;
  /** Platform clock used for signatures; default Date.now. */
  now?: () => number;
  /** Reuse a key pair (generation costs ~100 ms); default one per process. */
  keyPair?: TskKeyPair;
  /** Repeat the current status of every subscription this often (0 = never, default). */
  repeatStatusMs?: number;
}

/** Knobs a test flips at any time. */
export interface Behaviour {
  /** `false`: status changes are not pushed (the platform "goes silent" on the stream). */
  pushes: boolean;
  /** `false`: pings are not answered (a dead connection, as seen by the device). */
  pongs: boolean;
  /** `false`: subscribe frames are swallowed (no `subscribed`, no push). */
  ackSubscribe: boolean;
  /** Refuse subscribes with this error code (e.g. `UNAUTHORIZED`). */
  refuseSubscribe: string | undefined;
  /** How HTTP replies are signed. */
  signReplies: SignMode;
  /** How automatic pushes (status changes, subscribe, repeats) are signed. */
  signPushes: SignMode;
  /** Delay before answering, per route, in ms. */
  delayMs: Partial<Record<Route, number>>;
  /** Never answer these routes (until close). */
  hang: Set<Route>;
  /** Answer the next request of a route with this error (once). */
  failNext: Partial<Record<Route, { status: number; code: string; message?: string }>>;
  /** Rewrite a 2xx reply's text before it is signed (e.g. pretty-print it, pad it). */
  transformReply: ((route: Route, text: string) => string) | undefined;
  /** Send replies chunked (no content-length), in 1 KiB pieces. */
  chunked: boolean;
}

let cachedKeys: TskKeyPair | undefined;
let cachedOtherKeys: TskKeyPair | undefined;
/** The process-wide platform key pair (tests share it to stay fast). */
export function platformKeys(): TskKeyPair {
  return (cachedKeys ??= generateTskKeyPair());
}
function otherKeys(): TskKeyPair {
  return (cachedOtherKeys ??= generateTskKeyPair());
}

interface Client {
  ws: WebSocket;
  subscriptions: Set<string>;
  authTimer: ReturnType<typeof setTimeout> | undefined;
}

class HttpFail extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class FakePlatform {
  readonly deviceId: string;
  readonly deviceToken: string | undefined;
  readonly keys: TskKeyPair;
  readonly purchases = new Map<string, FakePurchase>();
  readonly requests: RecordedRequest[] = [];
  /** Every select request (§3.8) that parsed, in order. */
  readonly selects: SelectElementRequest[] = [];
  /** Timeline of what happened, e.g. `subscribed:p1`, `http:status:p1`, `drop` (for ordering assertions). */
  readonly log: string[] = [];
  /** Every well-formed frame received from devices, parsed. */
  readonly framesIn: ClientFrame[] = [];
  readonly behaviour: Behaviour = {
    pushes: true,
    pongs: true,
    ackSubscribe: true,
    refuseSubscribe: undefined,
    signReplies: 'valid',
    signPushes: 'valid',
    delayMs: {},
    hang: new Set(),
    failNext: {},
    transformReply: undefined,
    chunked: false,
  };
  /** Total WebSocket connections ever accepted, and subscribe frames acknowledged. */
  connectionsAccepted = 0;
  /** When each WebSocket connection was accepted (epoch ms). */
  readonly connectionTimes: number[] = [];
  subscribesAcked = 0;
  now: () => number;

  private readonly clients = new Set<Client>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly sockets = new Set<Socket>();
  private repeatTimer: ReturnType<typeof setInterval> | undefined;
  private counter = 0;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    options: FakePlatformOptions,
  ) {
    this.deviceId = options.deviceId ?? 'spk-001';
    this.deviceToken = options.deviceToken === null ? undefined : (options.deviceToken ?? 'tok-device-1');
    this.keys = options.keyPair ?? platformKeys();
    this.now = options.now ?? Date.now;
  }

  static async start(options: FakePlatformOptions = {}): Promise<FakePlatform> {
    const server = createServer();
    const wss = new WebSocketServer({ server, path: DEVICE_STREAM_PATH, maxPayload: MAX_FRAME_CHARS });
    const platform = new FakePlatform(server, wss, options);
    server.on('request', (req, res) => platform.onRequest(req, res));
    server.on('connection', (socket: Socket) => {
      platform.sockets.add(socket);
      socket.on('close', () => platform.sockets.delete(socket));
    });
    wss.on('connection', (ws) => platform.onConnection(ws));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    if (options.repeatStatusMs) {
      platform.repeatTimer = setInterval(() => platform.repeatAll(), options.repeatStatusMs);
    }
    return platform;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}${DEVICE_STREAM_PATH}`;
  }
  get publicKeyPem(): string {
    return this.keys.publicKeyPem;
  }
  get publicKeyBase64(): string {
    return this.keys.publicKeyBase64;
  }
  /** Open WebSocket connections right now (server side). */
  get connections(): number {
    return this.clients.size;
  }
  /** Open TCP connections of any kind (HTTP keep-alive included). */
  get tcpConnections(): number {
    return this.sockets.size;
  }
  /** Sockets currently subscribed to `purchaseId`. */
  subscribers(purchaseId: string): number {
    let n = 0;
    for (const c of this.clients) if (c.subscriptions.has(purchaseId)) n++;
    return n;
  }
  requestsTo(route: Route): RecordedRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  // ---- scripting ------------------------------------------------------------

  /** Create a purchase directly (as if the device had started it). */
  addPurchase(partial: Partial<FakePurchase> = {}): FakePurchase {
    const purchaseId = partial.purchaseId ?? `p${++this.counter}x${randomNonce(8)}`;
    const p: FakePurchase = {
      purchaseId,
      deviceId: this.deviceId,
      mode: 'screen',
      charge: null,
      originalRequest: null,
      tradeStatus: 'NOTPAY',
      seq: 1,
      cancelled: false,
      alreadyOwned: false,
      placeOrderAnswer: 'order',
      totalAmt: 200,
      resumeCount: 0,
      ...partial,
    };
    this.purchases.set(purchaseId, p);
    return p;
  }

  purchase(purchaseId: string): FakePurchase {
    const p = this.purchases.get(purchaseId);
    if (!p) throw new Error(`fake platform: no purchase ${purchaseId}`);
    return p;
  }

  /** Change a purchase's status: seq + 1, pushed (signed per `behaviour.signPushes`) unless pushes are off. */
  setStatus(purchaseId: string, tradeStatus: TradeStatus, extra: { reason?: string; order?: DeviceOrder } = {}): number {
    const p = this.purchase(purchaseId);
    p.tradeStatus = tradeStatus;
    p.seq += 1;
    if (extra.reason !== undefined) p.reason = extra.reason;
    else if (tradeStatus !== 'FAIL') delete p.reason;
    if (extra.order) p.order = extra.order;
    if (this.behaviour.pushes) this.pushStatus(purchaseId);
    return p.seq;
  }

  /** The exact JSON text of a status body, current status with `overrides` applied. */
  statusBody(purchaseId: string, overrides: Partial<StatusBody> = {}): string {
    const p = this.purchase(purchaseId);
    return encodeStatusBody({
      purchaseId: p.purchaseId,
      deviceId: p.deviceId,
      tradeStatus: p.tradeStatus,
      seq: p.seq,
      ...(p.order ? { order: p.order } : {}),
      ...(p.reason !== undefined ? { reason: p.reason } : {}),
      nonceStr: randomNonce(),
      ...overrides,
    });
  }

  /** A `push` frame for `body`, signed per `mode` (`none`: without `authorization`, which the contract's encoder cannot write). */
  pushFrame(body: string, mode: SignMode = 'valid'): string {
    const { body: sent, authorization } = this.sign(body, mode);
    return authorization !== undefined ? encodePushFrame(sent, authorization) : JSON.stringify({ type: 'push', body: sent });
  }

  /** Push the current status (with `overrides`, e.g. `{ seq: 1, tradeStatus: 'NOTPAY' }`) to subscribers. Returns sockets reached. */
  push(purchaseId: string, overrides: Partial<StatusBody> = {}, mode: SignMode = 'valid'): number {
    return this.sendToSubscribers(purchaseId, this.pushFrame(this.statusBody(purchaseId, overrides), mode));
  }

  /** Send any text to every socket subscribed to `purchaseId` (every socket when undefined). */
  sendRaw(purchaseId: string | undefined, text: string): number {
    if (purchaseId === undefined) {
      for (const c of this.clients) c.ws.send(text);
      return this.clients.size;
    }
    return this.sendToSubscribers(purchaseId, text);
  }

  /** Kill every WebSocket at once (no close handshake), like a network drop. */
  dropSockets(): number {
    const n = this.clients.size;
    this.log.push('drop');
    for (const c of this.clients) c.ws.terminate();
    return n;
  }

  /** Resolve when `predicate()` holds (checked every 10 ms); reject after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    return waitUntil(predicate, timeoutMs, what);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.repeatTimer) clearInterval(this.repeatTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.clients) {
      if (c.authTimer) clearTimeout(c.authTimer);
      c.ws.terminate();
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- signing ----------------------------------------------------------------

  sign(body: string, mode: SignMode): { body: string; authorization: string | undefined } {
    const now = this.now();
    switch (mode) {
      case 'none':
        return { body, authorization: undefined };
      case 'valid':
        return { body, authorization: signRsa2(body, this.keys.privateKey, { now }) };
      case 'stale':
        return { body, authorization: signRsa2(body, this.keys.privateKey, { now: now - 10 * 60_000 }) };
      case 'future':
        return { body, authorization: signRsa2(body, this.keys.privateKey, { now: now + 10 * 60_000 }) };
      case 'other-key':
        return { body, authorization: signRsa2(body, otherKeys().privateKey, { now }) };
      case 'hmac-header':
        return { body, authorization: `TSK-HMAC-SHA256-BASIC Datetime=${formatTskDatetime(now)}, Signature=${'0'.repeat(64)}` };
      case 'forged': {
        const authorization = signRsa2(body, this.keys.privateKey, { now });
        let forged = body.replace(/"tradeStatus":"(NOTPAY|PROCESSING|FAIL)"/, '"tradeStatus":"SUCCESS"');
        if (forged === body) forged = body.replace(/"seq":(\d+)/, (_m, n: string) => `"seq":${Number(n) + 100}`);
        if (forged === body) forged = body.slice(0, -1) + ' }';
        return { body: forged, authorization };
      }
    }
  }

  // ---- WebSocket side -----------------------------------------------------------

  private onConnection(ws: WebSocket): void {
    this.connectionsAccepted++;
    this.connectionTimes.push(Date.now());
    const client: Client = { ws, subscriptions: new Set(), authTimer: undefined };
    client.authTimer = setTimeout(() => {
      client.authTimer = undefined;
      if (client.subscriptions.size === 0) ws.close(STREAM_CLOSE_CODES.notSubscribed, 'not subscribed in time');
    }, 10_000);
    this.clients.add(client);
    ws.on('close', () => {
      if (client.authTimer) clearTimeout(client.authTimer);
      this.clients.delete(client);
    });
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      if (isBinary) return void ws.close(STREAM_CLOSE_CODES.protocolViolation, 'binary frame');
      const parsed = parseClientFrame(String(data));
      if (!parsed.ok) {
        if (!parsed.refusal) return void ws.close(STREAM_CLOSE_CODES.protocolViolation, 'bad frame');
        if (this.behaviour.ackSubscribe) ws.send(encodeServerFrame({ type: 'error', ...parsed.refusal, message: parsed.detail }));
        return;
      }
      this.framesIn.push(parsed.value);
      this.onFrame(client, parsed.value);
    });
  }

  private onFrame(client: Client, frame: ClientFrame): void {
    const { ws } = client;
    switch (frame.type) {
      case 'ping':
        if (this.behaviour.pongs) ws.send(encodeServerFrame({ type: 'pong', ...(frame.t !== undefined ? { t: frame.t } : {}) }));
        return;
      case 'pong':
        return;
      case 'unsubscribe':
        client.subscriptions.delete(frame.purchaseId);
        return;
      case 'subscribe': {
        if (!this.behaviour.ackSubscribe) return;
        const id = frame.id !== undefined ? { id: frame.id } : {};
        const refuse = (code: string, message: string) => ws.send(encodeServerFrame({ type: 'error', ...id, code, message }));
        if (this.behaviour.refuseSubscribe) return refuse(this.behaviour.refuseSubscribe, 'refused by test');
        if (frame.deviceId !== this.deviceId || (this.deviceToken !== undefined && frame.deviceToken !== this.deviceToken))
          return refuse('UNAUTHORIZED', 'unknown device or token');
        const p = this.purchases.get(frame.purchaseId);
        if (!p || p.deviceId !== frame.deviceId) return refuse('NOT_FOUND', 'no such purchase');
        client.subscriptions.add(p.purchaseId);
        this.subscribesAcked++;
        this.log.push(`subscribed:${p.purchaseId}`);
        ws.send(encodeServerFrame({ type: 'subscribed', ...id, purchaseId: p.purchaseId }));
        if (this.behaviour.pushes) ws.send(this.pushFrame(this.statusBody(p.purchaseId), this.behaviour.signPushes));
        return;
      }
    }
  }

  private pushStatus(purchaseId: string): void {
    this.sendToSubscribers(purchaseId, this.pushFrame(this.statusBody(purchaseId), this.behaviour.signPushes));
  }

  private repeatAll(): void {
    if (!this.behaviour.pushes) return;
    for (const p of this.purchases.values()) if (this.subscribers(p.purchaseId) > 0) this.pushStatus(p.purchaseId);
  }

  private sendToSubscribers(purchaseId: string, text: string): number {
    let n = 0;
    for (const c of this.clients)
      if (c.subscriptions.has(purchaseId) && c.ws.readyState === c.ws.OPEN) {
        c.ws.send(text);
        n++;
      }
    return n;
  }

  // ---- HTTP side ------------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'authorization');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': `content-type, ${DEVICE_ID_HEADER}, ${DEVICE_TOKEN_HEADER}`,
        'access-control-max-age': '600',
      });
      return void res.end();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 1024 * 1024) chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '/').split('?')[0]!;
      const match = matchDeviceLinkRoute(req.method ?? '', path);
      const route = match?.route;
      this.requests.push({ method: req.method ?? '', path, route, headers: req.headers, body });
      this.log.push(`http:${route ?? 'unknown'}:${match?.purchaseId ?? ''}`);
      if (!match || !route) return this.reply(res, undefined, 404, errorBody('NOT_FOUND', 'no such endpoint'));
      if (this.behaviour.hang.has(route)) return; // answered never; close() cuts it
      const answer = () => {
        try {
          if (size > 1024 * 1024) throw new HttpFail(400, 'BAD_REQUEST', 'body too large');
          const fail = this.behaviour.failNext[route];
          if (fail) {
            delete this.behaviour.failNext[route];
            throw new HttpFail(fail.status, fail.code, fail.message ?? 'failed by test');
          }
          this.authenticate(req);
          const [status, reply] = this.handle(route, match.purchaseId, body);
          this.reply(res, route, status, reply);
        } catch (e) {
          if (e instanceof HttpFail) this.reply(res, route, e.status, errorBody(e.code, e.message));
          else this.reply(res, route, 500, errorBody('INTERNAL', (e as Error).message));
        }
      };
      const delay = this.behaviour.delayMs[route];
      if (delay) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (!res.destroyed) answer();
        }, delay);
        this.timers.add(t);
      } else answer();
    });
  }

  private authenticate(req: IncomingMessage): void {
    const id = req.headers[DEVICE_ID_HEADER];
    const token = req.headers[DEVICE_TOKEN_HEADER];
    if (id !== this.deviceId) throw new HttpFail(401, 'UNAUTHORIZED', 'unknown device');
    if (this.deviceToken !== undefined && token !== this.deviceToken) throw new HttpFail(401, 'UNAUTHORIZED', 'wrong device token');
  }

  private owned(id: string | undefined): FakePurchase {
    const p = id === undefined ? undefined : this.purchases.get(id);
    if (!p || p.deviceId !== this.deviceId) throw new HttpFail(404, 'NOT_FOUND', 'no such purchase');
    return p;
  }

  private newOrder(p: FakePurchase): DeviceOrder {
    const n = ++this.counter;
    return {
      purchaseId: p.purchaseId,
      transactionId: `DD${Date.now()}${n}`,
      tradeNo: `T${n}${randomNonce(10)}`,
      totalAmt: p.totalAmt,
      payUrl: `https://pay.example.test/qr/${p.purchaseId}/${n}`,
      expiresAt: this.now() + 5 * 60_000,
    };
  }

  private handle(route: Route, id: string | undefined, body: string): [number, unknown] {
    let json: Record<string, unknown> = {};
    if (body !== '') {
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        throw new HttpFail(400, 'BAD_REQUEST', 'body is not JSON');
      }
    }
    switch (route) {
      case 'start': {
        const start = parseStartPurchaseRequest(json);
        if (!start.ok) throw new HttpFail(400, 'BAD_REQUEST', start.detail);
        const { purchaseId, mode, charge, originalRequest } = start.value;
        const reply = (p: FakePurchase): StartPurchaseReply => ({ purchaseId: p.purchaseId, tradeStatus: p.tradeStatus, seq: p.seq });
        if (purchaseId !== undefined && this.purchases.has(purchaseId)) return [200, reply(this.owned(purchaseId))];
        return [201, reply(this.addPurchase({ ...(purchaseId !== undefined ? { purchaseId } : {}), mode, charge, originalRequest }))];
      }
      case 'order': {
        const p = this.owned(id);
        const answer = p.placeOrderAnswer;
        if (answer === 'already-owned') {
          p.alreadyOwned = true;
          return [200, { purchaseId: p.purchaseId, kind: 'already-owned' } satisfies PlaceOrderReply];
        }
        if (typeof answer === 'object') throw new HttpFail(409, 'ORDER_REFUSED', answer.refuse);
        if (p.tradeStatus === 'SUCCESS') throw new HttpFail(409, 'ALREADY_PAID', 'already paid');
        if (!p.order || p.order.expiresAt <= this.now()) this.setStatus(p.purchaseId, p.tradeStatus, { order: this.newOrder(p) });
        return [200, { purchaseId: p.purchaseId, kind: 'order', order: p.order! } satisfies PlaceOrderReply];
      }
      case 'refresh': {
        const p = this.owned(id);
        if (p.tradeStatus === 'SUCCESS') throw new HttpFail(409, 'ALREADY_PAID', 'already paid');
        this.setStatus(p.purchaseId, 'NOTPAY', { order: this.newOrder(p) });
        return [200, { purchaseId: p.purchaseId, order: p.order! } satisfies RefreshOrderReply];
      }
      case 'status': {
        const p = this.owned(id);
        return [200, this.statusBody(p.purchaseId)];
      }
      case 'cancel': {
        const p = this.owned(id);
        if (p.tradeStatus === 'SUCCESS') return [200, { purchaseId: p.purchaseId, cancelled: false } satisfies CancelReply];
        p.cancelled = true;
        return [200, { purchaseId: p.purchaseId, cancelled: true } satisfies CancelReply];
      }
      case 'select': {
        // The skill answers every element with a Charge for it; the platform opens the purchase.
        const sel = parseSelectElementRequest(json);
        if (!sel.ok) throw new HttpFail(400, 'BAD_REQUEST', sel.detail);
        this.selects.push(sel.value);
        const charge = {
          type: 'Connections.SendRequest',
          name: 'Charge',
          payload: {
            chargeInfo: { name: sel.value.token, items: [{ itemId: sel.value.token, itemName: sel.value.token, price: 200, count: 1, totalFee: 200 }] },
          },
        };
        const p = this.addPurchase({ mode: sel.value.mode, charge });
        return [
          200,
          {
            token: sel.value.token,
            outputSpeech: '这是付费内容，需要购买才能播放哦',
            directives: [charge],
            shouldEndSession: true,
            purchaseId: p.purchaseId,
            skillId: sel.value.skillId ?? 'fake-skill',
          } satisfies SelectElementReply,
        ];
      }
      case 'resume': {
        const p = this.owned(id);
        if (p.tradeStatus !== 'SUCCESS' && !p.alreadyOwned) throw new HttpFail(409, 'NOT_PAID', 'not paid');
        p.resumeCount++;
        return [
          200,
          {
            purchaseId: p.purchaseId,
            outputSpeech: '购买成功，现在为你播放。',
            directives: [
              {
                type: 'AudioPlayer.Play',
                playBehavior: 'REPLACE_ALL',
                audioItem: { stream: { url: `https://media.example.test/${p.purchaseId}.mp3`, token: p.purchaseId } },
              },
            ],
            shouldEndSession: true,
          } satisfies ResumeReply,
        ];
      }
    }
  }

  /** Write a JSON reply; `reply` given as a string is sent byte-exact. 2xx replies are signed. */
  private reply(res: ServerResponse, route: Route | undefined, status: number, reply: unknown): void {
    if (res.destroyed || res.headersSent) return;
    let text = typeof reply === 'string' ? reply : JSON.stringify(reply);
    if (route && status >= 200 && status < 300 && this.behaviour.transformReply) text = this.behaviour.transformReply(route, text);
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    let out = text;
    if (status >= 200 && status < 300) {
      const signed = this.sign(text, route ? this.behaviour.signReplies : 'valid');
      out = signed.body;
      if (signed.authorization !== undefined) headers.authorization = signed.authorization;
    }
    if (this.behaviour.chunked) {
      res.writeHead(status, headers);
      const bytes = Buffer.from(out);
      for (let i = 0; i < bytes.length; i += 1024) res.write(bytes.subarray(i, i + 1024));
      return void res.end();
    }
    res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(out)) });
    res.end(out);
  }
}

/** Poll `predicate` every 10 ms until it holds; reject after `timeoutMs`. */
export function waitUntil(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      let ok: boolean;
      try {
        ok = predicate();
      } catch (e) {
        return reject(e);
      }
      if (ok) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}
