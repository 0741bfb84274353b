/**
 * The sandbox's HTTP server on 127.0.0.1: the pay CGI, the control API for
 * scripts (`/sandbox/v1/...`, JSON), the phone's payment page (`/pay/:id`)
 * and the DingDang app page (`/app/:purchaseId`). See docs/sandbox.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import QRCode from 'qrcode';
import { DingDangPayError, InvalidArgumentError, RemoteError, TimeoutError, TransportError } from '../protocol/errors.js';
import { SandboxStateError } from './errors.js';
import { PayCgi, type PayCgiKind } from './paycgi.js';
import { Platform, PAY_OUTCOMES, type PayOutcome, type PlatformOptions } from './platform.js';
import { appPage, dashboardPage, notFoundPage, payPage } from './pages.js';
import { tradeStatusDesc, type DingDangOrder } from './order-book.js';
import type { SandboxConfig } from './config.js';
import { DeviceLink, type DeviceLinkOptions } from './device-link.js';

export interface SandboxOptions extends Omit<PlatformOptions, 'config' | 'baseUrl'> {
  config: SandboxConfig;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Max request body, bytes; default 1 MiB. */
  maxBodyBytes?: number;
  /** The device link (docs/device-protocol.md): push repeat, socket timeouts. */
  device?: DeviceLinkOptions;
}

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  url: URL;
  /** The raw request body (bounded). */
  body(): Promise<Buffer>;
  /** The body decoded as a JSON object ({} when empty); InvalidArgumentError otherwise. */
  json(): Promise<Record<string, unknown>>;
}

export type RouteHandler = (ctx: RouteContext) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  handler: RouteHandler;
}

export class HttpError extends DingDangPayError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('ERR_HTTP', message);
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/** Control-API error body `{ error: { code, reason?, message } }` with a fitting HTTP status. */
export function sendError(res: ServerResponse, e: unknown): void {
  let status = 500;
  const error: Record<string, unknown> = { code: 'ERR_INTERNAL', message: 'internal error' };
  if (e instanceof DingDangPayError) {
    error.code = e.code;
    error.message = e.message;
    if (e instanceof HttpError) status = e.status;
    else if (e instanceof InvalidArgumentError || e.code === 'ERR_VALIDATION') status = 400;
    else if (e instanceof SandboxStateError) {
      error.reason = e.reason;
      status = e.reason.startsWith('UNKNOWN_') ? 404 : 409;
    } else if (e instanceof RemoteError) {
      status = 502;
      if (e.retMsg !== undefined) error.retMsg = e.retMsg;
    } else if (e instanceof TimeoutError) status = 504;
    else if (e instanceof TransportError || e.code === 'ERR_SIGNATURE') status = 502;
    if ('reason' in e && typeof (e as { reason?: unknown }).reason === 'string') error.reason = (e as { reason: string }).reason;
  }
  if (!res.headersSent) sendJson(res, status, { error });
  else res.end();
}

function orderJson(o: DingDangOrder) {
  return { ...o, tradeStatusDesc: tradeStatusDesc(o) };
}

export class Sandbox {
  readonly platform: Platform;
  readonly paycgi: PayCgi;
  readonly server: Server;
  readonly maxBodyBytes: number;
  /** The platform end of docs/device-protocol.md (HTTP /device/v1 + WebSocket stream). */
  readonly device: DeviceLink;
  private readonly routes: Route[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly closers: Array<() => void | Promise<void>> = [];
  private baseUrl = '';
  private closed = false;

  private constructor(readonly options: SandboxOptions) {
    const { config, host: _h, port: _p, maxBodyBytes, device, ...platformOptions } = options;
    this.platform = new Platform({ config, ...platformOptions });
    this.paycgi = new PayCgi(this.platform);
    this.maxBodyBytes = maxBodyBytes ?? 1024 * 1024;
    this.server = createServer((req, res) => void this.dispatch(req, res));
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 15_000;
    // Longer than clients' idle timeout (undici: 4 s), so the client always closes an idle
    // keep-alive connection first: no request is ever sent on a socket the server is closing.
    this.server.keepAliveTimeout = 10_000;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.installRoutes();
    this.device = new DeviceLink(this, device);
  }

  /** Create and listen (127.0.0.1, port 0 by default). */
  static async start(options: SandboxOptions): Promise<Sandbox> {
    const sb = new Sandbox(options);
    await new Promise<void>((resolve, reject) => {
      sb.server.once('error', reject);
      sb.server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        sb.server.off('error', reject);
        resolve();
      });
    });
    const addr = sb.server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    sb.baseUrl = `http://${host}:${addr.port}`;
    sb.platform.setBaseUrl(sb.baseUrl);
    return sb;
  }

  get url(): string {
    return this.baseUrl;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Bare Base64 SPKI of the platform key (`TSKPublicKey`). */
  get tskPublicKey(): string {
    return this.platform.config.tskPublicKey;
  }

  /** Add a route (used by the device link). `pattern` is matched against the path. */
  route(method: string, pattern: RegExp, handler: RouteHandler): void {
    this.routes.push({ method, pattern, handler });
  }

  /** Run `fn` on close (before the HTTP server closes). */
  onClose(fn: () => void | Promise<void>): void {
    this.closers.push(fn);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://sandbox');
    } catch {
      return sendJson(res, 400, { error: { code: 'ERR_HTTP', message: 'bad URL' } });
    }
    // The control API is for local scripts and pages on any origin (e.g. a speaker page served elsewhere).
    if (url.pathname.startsWith('/sandbox/v1/')) {
      res.setHeader('access-control-allow-origin', '*');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'access-control-allow-methods': 'GET, POST, DELETE',
          'access-control-allow-headers': 'content-type',
          'access-control-max-age': '600',
        });
        return void res.end();
      }
    }
    let bodyPromise: Promise<Buffer> | undefined;
    const body = () => (bodyPromise ??= readBody(req, this.maxBodyBytes));
    let methodMismatch = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(url.pathname);
      if (!m) continue;
      if (r.method !== req.method) {
        methodMismatch = true;
        continue;
      }
      const ctx: RouteContext = {
        req,
        res,
        url,
        params: m.slice(1).map((p) => decodeURIComponent(p ?? '')),
        body,
        json: async () => {
          const b = await body();
          if (b.length === 0) return {};
          let v: unknown;
          try {
            v = JSON.parse(b.toString('utf8'));
          } catch {
            throw new InvalidArgumentError('body is not JSON');
          }
          if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidArgumentError('body must be a JSON object');
          return v as Record<string, unknown>;
        },
      };
      try {
        await r.handler(ctx);
      } catch (e) {
        sendError(res, e);
      }
      return;
    }
    if (methodMismatch) return sendJson(res, 405, { error: { code: 'ERR_HTTP', message: `method ${req.method} not allowed` } });
    sendJson(res, 404, { error: { code: 'ERR_HTTP', message: `no route ${url.pathname.slice(0, 80)}` } });
  }

  private installRoutes(): void {
    const p = this.platform;

    // ── pay CGI ──
    for (const kind of ['orderquery', 'refund', 'refundquery'] as PayCgiKind[]) {
      this.route('POST', new RegExp(`^/paycgi/${kind}$`), async ({ req, res, body }) => {
        let raw: Buffer;
        try {
          raw = await body();
        } catch {
          raw = Buffer.alloc(0);
        }
        const out = this.paycgi.handle(kind, raw, req.headers.authorization);
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', authorization: out.authorization });
        res.end(out.body);
      });
    }

    // ── control API ──
    const api = (method: string, path: string, handler: RouteHandler) =>
      this.route(method, new RegExp(`^/sandbox/v1${path.replace(/:[a-zA-Z]+/g, '([^/]+)')}$`), handler);
    const outcomeOf = (v: unknown): PayOutcome => {
      if (!PAY_OUTCOMES.includes(v as PayOutcome)) throw new InvalidArgumentError(`outcome must be one of ${PAY_OUTCOMES.join(', ')}`);
      return v as PayOutcome;
    };
    const str = (v: unknown, name: string, required = false): string | undefined => {
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'string' || v === '') throw new InvalidArgumentError(`${name} must be a non-empty string`);
      return v;
    };

    api('GET', '/info', ({ res }) =>
      sendJson(res, 200, {
        url: this.url,
        tskPublicKey: this.tskPublicKey,
        timeScale: p.scheduler.timeScale,
        retryScheduleMs: p.notifier.schedule,
        skills: p.skillList().map((s) => ({
          skillId: s.skillId,
          name: s.name,
          utterances: s.utterances,
          ...(s.invocationName !== undefined ? { invocationName: s.invocationName } : {}),
          accountLinking: s.accountLinking,
          deviceMaker: s.deviceMaker,
          responseTimeoutMs: s.responseTimeoutMs,
          strictSchema: s.strictSchema,
        })),
      }),
    );
    api('GET', '/orders', ({ res }) => sendJson(res, 200, { orders: p.book.list().map(orderJson) }));
    api('GET', '/orders/:id', ({ res, params }) => {
      const o = p.book.get(params[0]!);
      if (!o) throw new SandboxStateError('UNKNOWN_ORDER', 'order not found');
      sendJson(res, 200, orderJson(o));
    });
    api('POST', '/orders/:id/pay', async ({ res, params, json }) => {
      const body = await json();
      const order = await p.pay(params[0]!, outcomeOf(body.outcome));
      sendJson(res, 200, order ? orderJson(order) : { alreadyOwned: true });
    });
    api('POST', '/orders/:id/expire', ({ res, params }) => sendJson(res, 200, orderJson(p.book.expire(params[0]!))));
    api('POST', '/orders/:id/notify', async ({ res, params }) => {
      const o = p.book.get(params[0]!);
      if (!o) throw new SandboxStateError('UNKNOWN_ORDER', 'order not found');
      if (o.tradeStatus !== 'SUCCESS') throw new SandboxStateError('NOT_PAID', 'only a paid order is delivered');
      const reply = await p.notifier.duplicate(p.skill(o.skillId)!, o);
      sendJson(res, 200, { reply: reply ?? null });
    });
    api('GET', '/refunds', ({ res }) => sendJson(res, 200, { refunds: p.book.listRefunds() }));
    api('GET', '/notifications', ({ res }) => sendJson(res, 200, { notifications: p.notifier.list() }));
    api('GET', '/calls', ({ res }) => sendJson(res, 200, { calls: p.callLog() }));
    api('GET', '/inbound', ({ res }) => sendJson(res, 200, { inbound: p.inboundLog() }));
    api('GET', '/sessions', ({ res }) => sendJson(res, 200, { sessions: p.sessionList() }));
    // Server-Sent Events: every status change, purchase, outbound call (skill calls with their return code),
    // failed skill call and pay-CGI request, live.
    api('GET', '/events', ({ req, res }) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': dingdang-pay sandbox events\n\n');
      const send = (event: string) => (data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      const handlers = {
        status: send('status'),
        purchase: send('purchase'),
        call: send('call'),
        skillError: send('skillError'),
        inbound: send('inbound'),
      } as const;
      for (const [e, h] of Object.entries(handlers)) p.on(e as 'status', h);
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      keepAlive.unref();
      req.on('close', () => {
        clearInterval(keepAlive);
        for (const [e, h] of Object.entries(handlers)) p.off(e as 'status', h);
      });
    });
    api('GET', '/faults', ({ res }) => sendJson(res, 200, p.faults.current));
    api('POST', '/faults', async ({ res, json }) => {
      const body = await json();
      // Actions (e.g. dropSocket) are handled by listeners registered by the device link.
      const { dropSocket, ...settings } = body;
      if (dropSocket !== undefined && dropSocket !== true) throw new InvalidArgumentError('dropSocket must be true');
      const state = p.faults.set(settings);
      let dropped = 0;
      if (dropSocket === true) for (const drop of this.dropHandlers) dropped += drop();
      sendJson(res, 200, dropSocket === true ? { ...state, dropped } : state);
    });
    api('DELETE', '/faults', ({ res }) => sendJson(res, 200, p.faults.reset()));
    api('POST', '/say', async ({ res, json }) => {
      const b = await json();
      const input: Parameters<Platform['say']>[0] = { text: str(b.text, 'text', true)! };
      for (const k of ['skillId', 'userId', 'accessToken', 'deviceId'] as const) {
        const v = str(b[k], k);
        if (v !== undefined) input[k] = v;
      }
      if (b.mode !== undefined) input.mode = b.mode === 'screenless' ? 'screenless' : b.mode === 'screen' ? 'screen' : invalid('mode must be screen or screenless');
      sendJson(res, 200, await p.say(input));
    });
    api('POST', '/intent', async ({ res, json }) => {
      const b = await json();
      const input: Parameters<Platform['intent']>[0] = { intent: str(b.intent, 'intent', true)! };
      for (const k of ['skillId', 'userId', 'accessToken', 'deviceId'] as const) {
        const v = str(b[k], k);
        if (v !== undefined) input[k] = v;
      }
      if (b.slots !== undefined) {
        if (typeof b.slots !== 'object' || b.slots === null || Array.isArray(b.slots)) throw new InvalidArgumentError('slots must be an object');
        input.slots = b.slots as Record<string, string>;
      }
      const query = str(b.query, 'query');
      if (query !== undefined) input.query = query;
      if (b.mode !== undefined) input.mode = b.mode === 'screenless' ? 'screenless' : b.mode === 'screen' ? 'screen' : invalid('mode must be screen or screenless');
      sendJson(res, 200, await p.intent(input));
    });
    // Display.ElementSelected: the user picked an element on the screen / the player reached a paid item.
    api('POST', '/select', async ({ res, json }) => {
      const b = await json();
      const input: Parameters<Platform['select']>[0] = { token: str(b.token, 'token', true)! };
      for (const k of ['skillId', 'userId', 'accessToken', 'deviceId'] as const) {
        const v = str(b[k], k);
        if (v !== undefined) input[k] = v;
      }
      if (b.mode !== undefined) input.mode = b.mode === 'screenless' ? 'screenless' : b.mode === 'screen' ? 'screen' : invalid('mode must be screen or screenless');
      sendJson(res, 200, await p.select(input));
    });
    api('GET', '/purchases', ({ res }) => sendJson(res, 200, { purchases: p.purchaseList() }));
    api('POST', '/purchases', async ({ res, json }) => {
      const b = await json();
      const input: Parameters<Platform['startPurchase']>[0] = { mode: b.mode as 'screen', charge: b.charge, originalRequest: b.originalRequest };
      for (const k of ['purchaseId', 'skillId', 'userId', 'accessToken', 'deviceId'] as const) {
        const v = str(b[k], k);
        if (v !== undefined) input[k] = v;
      }
      sendJson(res, 200, p.startPurchase(input));
    });
    api('GET', '/purchases/:id', ({ res, params }) => {
      const pu = p.purchase(params[0]!);
      if (!pu) throw new SandboxStateError('UNKNOWN_PURCHASE', 'purchase not found');
      sendJson(res, 200, { ...pu, status: p.status(pu.purchaseId) });
    });
    api('POST', '/purchases/:id/order', async ({ res, params }) => sendJson(res, 200, await p.placeOrder(params[0]!)));
    api('POST', '/purchases/:id/refresh', async ({ res, params }) => sendJson(res, 200, await p.refreshOrder(params[0]!)));
    api('GET', '/purchases/:id/status', ({ res, params }) => sendJson(res, 200, p.status(params[0]!)));
    api('POST', '/purchases/:id/cancel', ({ res, params }) => {
      p.cancel(params[0]!);
      sendJson(res, 200, p.status(params[0]!));
    });
    api('POST', '/purchases/:id/pay', async ({ res, params, json }) => {
      const body = await json();
      const order = await p.pay(params[0]!, outcomeOf(body.outcome));
      sendJson(res, 200, order ? orderJson(order) : { alreadyOwned: true });
    });
    api('POST', '/purchases/:id/resume', async ({ res, params }) => sendJson(res, 200, await p.resume(params[0]!)));

    // ── phone pages ──
    const html = (res: ServerResponse, status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(text);
    };
    const formAction = async (body: () => Promise<Buffer>): Promise<PayOutcome> => {
      const params = new URLSearchParams((await body()).toString('utf8'));
      const action = params.get('action');
      if (action !== 'success' && action !== 'fail' && action !== 'cancel') throw new InvalidArgumentError('action must be success, fail or cancel');
      return action;
    };
    this.route('GET', /^\/pay\/([^/]+)$/, ({ res, params, url }) => {
      const o = p.book.get(params[0]!);
      if (!o) return html(res, 404, notFoundPage(`order ${params[0]}`));
      const pu = o.purchaseId !== undefined ? p.purchase(o.purchaseId) : undefined;
      html(res, 200, payPage(o, p.skill(o.skillId)?.name ?? o.skillId, url.searchParams.get('m') ?? undefined, pu));
    });
    this.route('GET', /^\/pay\/([^/]+)\/qr\.svg$/, async ({ res, params }) => {
      const o = p.book.get(params[0]!);
      if (!o) throw new SandboxStateError('UNKNOWN_ORDER', 'order not found');
      const svg = await QRCode.toString(o.payUrl, { type: 'svg', margin: 1 });
      res.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' });
      res.end(svg);
    });
    this.route('POST', /^\/pay\/([^/]+)$/, async ({ res, params, body }) => {
      const tid = params[0]!;
      let message = '';
      try {
        const o = await p.pay(tid, await formAction(body));
        message = o ? tradeStatusDesc(o) : '';
      } catch (e) {
        if (e instanceof SandboxStateError && e.reason === 'UNKNOWN_ORDER') return html(res, 404, notFoundPage(`order ${tid}`));
        message = e instanceof Error ? e.message : 'error';
      }
      res.writeHead(303, { location: `/pay/${encodeURIComponent(tid)}?m=${encodeURIComponent(message)}` });
      res.end();
    });
    this.route('GET', /^\/app\/([^/]+)$/, ({ res, params, url }) => {
      const pu = p.purchase(params[0]!);
      if (!pu) return html(res, 404, notFoundPage(`purchase ${params[0]}`));
      html(res, 200, appPage(pu, pu.transactionId ? p.book.get(pu.transactionId) : undefined, url.searchParams.get('m') ?? undefined));
    });
    this.route('POST', /^\/app\/([^/]+)$/, async ({ res, params, body }) => {
      const id = params[0]!;
      if (!p.purchase(id)) return html(res, 404, notFoundPage(`purchase ${id}`));
      let message = '';
      try {
        const action = await formAction(body);
        if (action === 'cancel') {
          p.cancel(id);
          message = '已取消';
        } else {
          const o = await p.pay(id, action);
          message = o ? tradeStatusDesc(o) : '已拥有';
        }
      } catch (e) {
        message = e instanceof Error ? e.message : 'error';
      }
      res.writeHead(303, { location: `/app/${encodeURIComponent(id)}?m=${encodeURIComponent(message)}` });
      res.end();
    });
    this.route('GET', /^\/$/, ({ req, res }) => {
      if (!/text\/html/.test(req.headers.accept ?? ''))
        return sendJson(res, 200, { name: 'dingdang-pay sandbox', url: this.url, tskPublicKey: this.tskPublicKey, docs: 'docs/sandbox.md' });
      const orders = new Map(p.book.list().map((o) => [o.transactionId, o]));
      const skillCalls = p.callLog().filter((c) => c.kind === 'skill');
      html(res, 200, dashboardPage(this.url, this.tskPublicKey, p.purchaseList(), orders, p.faults.current, skillCalls));
    });
  }

  private readonly dropHandlers: Array<() => number> = [];

  /** Register what `POST /sandbox/v1/faults {"dropSocket": true}` does; returns how many sockets were dropped. */
  onDropSocket(fn: () => number): void {
    this.dropHandlers.push(fn);
  }

  /** Stop: timers, notifications, connections, then the server. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.closers) await fn();
    this.platform.close();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections?.();
    for (const s of this.sockets) s.destroy();
    await done;
  }
}

function invalid(message: string): never {
  throw new InvalidArgumentError(message);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, `body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Start a sandbox (alias of `Sandbox.start`). */
export function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  return Sandbox.start(options);
}
