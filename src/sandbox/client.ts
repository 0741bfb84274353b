/**
 * The typed client of the sandbox's control API (`/sandbox/v1`): one method
 * per route, requests and replies typed from the same table the routes are
 * typed against (control-types.ts), a timeout on every call, and a typed
 * error for a refusal (`SandboxApiError`: HTTP status, the sandbox's error
 * code and reason).
 *
 * ```ts
 * // the token: the sandbox's `controlToken` (its ready line / `sandbox.controlToken`)
 * const sandbox = new SandboxClient({ baseUrl: 'http://127.0.0.1:8710', token });
 * const said = await sandbox.say({ text: '我要听万古神帝第35集', deviceId: 'speaker-1' });
 * if (said.purchaseId) await sandbox.payPurchase(said.purchaseId, 'success');
 * ```
 *
 * Browser-safe: `fetch` only (no Node built-ins), so a page can use it too.
 * A call that gets no reply within `timeoutMs` rejects with `TimeoutError`,
 * one that cannot reach the sandbox with `TransportError` (both protocol
 * errors), one the sandbox refuses with `SandboxApiError`.
 */
import { InvalidArgumentError, TimeoutError, TransportError } from '../protocol/errors.js';
import type {
  ControlBody,
  ControlReply,
  ControlRoute,
  FaultsRequest,
  IntentRequestBody,
  SandboxEvent,
  SandboxEventName,
  SayRequest,
  LinkRequest,
  SelectRequest,
  StartPurchaseRequest,
} from './control-types.js';
import { SANDBOX_EVENT_NAMES } from './control-types.js';
import { SandboxApiError, type ControlApiError } from './errors.js';
import type { PayOutcome } from './purchase-book.js';

export const DEFAULT_CLIENT_TIMEOUT_MS = 15_000;

export interface SandboxClientOptions {
  /** The sandbox's base URL, e.g. `http://127.0.0.1:8710` (the client adds `/sandbox/v1`). */
  baseUrl: string;
  /** Time for each call's reply, ms; default 15 000. */
  timeoutMs?: number;
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch;
  /**
   * The sandbox's control token (its ready line's `controlToken`, or
   * `Sandbox#controlToken`), sent as `Authorization: Bearer <token>` on every
   * call. Without it only `GET /info` answers (our own extension,
   * docs/sandbox.md "Safety on a developer's machine").
   */
  token?: string;
}

export interface CallOptions {
  /** This call's timeout, ms (default: the client's). */
  timeoutMs?: number;
  /** Abort the call (rejects with `TimeoutError('aborted')`). */
  signal?: AbortSignal;
}

export interface EventsOptions {
  /** Stops the stream (the iteration ends). */
  signal?: AbortSignal;
  /** Time for the stream to open, ms (default: the client's timeout); once open it runs until stopped. */
  timeoutMs?: number;
}

type Params = { id?: string };

/** A signal that aborts on `outer` or after `ms`; `dispose` clears the timer. */
function deadline(ms: number, outer?: AbortSignal): { signal: AbortSignal; timedOut: () => boolean; dispose: () => void } {
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, ms);
  const onAbort = () => ac.abort();
  if (outer?.aborted) ac.abort();
  else outer?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: ac.signal,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    },
  };
}

/** The `{ error }` of a refusal, whatever came (fields of the wrong type dropped). */
function errorOf(body: unknown): Partial<ControlApiError> {
  const e = (body as { error?: unknown } | null | undefined)?.error;
  if (typeof e !== 'object' || e === null) return {};
  const out: Partial<ControlApiError> = {};
  for (const k of ['code', 'message', 'reason', 'retMsg'] as const) {
    const v = (e as Record<string, unknown>)[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/**
 * POST/GET JSON to any URL with a timeout; a non-2xx reply throws
 * `SandboxApiError` (with the `{ error }` body's code, reason, message). The
 * building block of `SandboxClient`, usable for a page's own forwarder of
 * `/sandbox/v1/say`.
 */
export async function requestJson(
  url: string,
  init: { method: string; body?: unknown; call?: string; timeoutMs?: number; signal?: AbortSignal; fetch?: typeof fetch; token?: string },
): Promise<unknown> {
  const call = init.call ?? `${init.method} ${url}`;
  const timeoutMs = init.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
  const d = deadline(timeoutMs, init.signal);
  try {
    let res: Response;
    try {
      const headers: Record<string, string> = {};
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
      res = await (init.fetch ?? fetch)(url, {
        method: init.method,
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        signal: d.signal,
      });
    } catch (e) {
      throw failure(call, e, d.timedOut(), timeoutMs);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw failure(call, e, d.timedOut(), timeoutMs);
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!res.ok) throw new SandboxApiError(call, res.status, errorOf(body));
    if (body === undefined) throw new TransportError(`sandbox ${call}: the reply is not JSON`);
    return body;
  } finally {
    d.dispose();
  }
}

function failure(call: string, e: unknown, timedOut: boolean, timeoutMs: number): Error {
  if (timedOut) return new TimeoutError(`sandbox ${call}: no reply within ${timeoutMs} ms`);
  if ((e as { name?: unknown })?.name === 'AbortError') return new TimeoutError(`sandbox ${call}: aborted`);
  return new TransportError(`sandbox ${call}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

export class SandboxClient {
  /** The sandbox's base URL (no trailing slash). */
  readonly baseUrl: string;
  readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch | undefined;
  private readonly token: string | undefined;

  constructor(options: SandboxClientOptions | string) {
    const o: SandboxClientOptions = typeof options === 'string' ? { baseUrl: options } : options;
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = o.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
    this.fetchFn = o.fetch;
    if (o.token !== undefined && (typeof o.token !== 'string' || o.token === '' || /[\s]/.test(o.token)))
      throw new InvalidArgumentError('token must be a non-empty string without spaces');
    this.token = o.token;
  }

  /** Any route of the control API, typed by the route table (`"POST /purchases/:id/pay"` …). */
  async call<R extends ControlRoute>(route: R, params: Params = {}, body?: ControlBody<R>, options: CallOptions = {}): Promise<ControlReply<R>> {
    const [method, pattern] = route.split(' ') as [string, string];
    const path = pattern.replace(/:id\b/, () => {
      if (params.id === undefined) throw new TypeError(`${route} needs an id`);
      return encodeURIComponent(params.id);
    });
    const init: Parameters<typeof requestJson>[1] = { method, call: `${method} /sandbox/v1${path}`, timeoutMs: options.timeoutMs ?? this.timeoutMs };
    if (body !== undefined) init.body = body;
    if (options.signal) init.signal = options.signal;
    if (this.fetchFn) init.fetch = this.fetchFn;
    if (this.token !== undefined) init.token = this.token;
    return (await requestJson(`${this.baseUrl}/sandbox/v1${path}`, init)) as ControlReply<R>;
  }

  // ── the platform ──
  info(o?: CallOptions) {
    return this.call('GET /info', {}, undefined, o);
  }

  // ── what the user says / picks (contract C replies) ──
  say(request: SayRequest, o?: CallOptions) {
    return this.call('POST /say', {}, request, o);
  }
  intent(request: IntentRequestBody, o?: CallOptions) {
    return this.call('POST /intent', {}, request, o);
  }
  select(request: SelectRequest, o?: CallOptions) {
    return this.call('POST /select', {}, request, o);
  }
  // ── simulated account linking (our own extension) ──
  link(request: LinkRequest = {}, o?: CallOptions) {
    return this.call('POST /link', {}, request, o);
  }
  unlink(request: LinkRequest = {}, o?: CallOptions) {
    return this.call('POST /unlink', {}, request, o);
  }
  async links(o?: CallOptions) {
    return (await this.call('GET /links', {}, undefined, o)).links;
  }
  async sessions(o?: CallOptions) {
    return (await this.call('GET /sessions', {}, undefined, o)).sessions;
  }

  // ── purchases ──
  async purchases(o?: CallOptions) {
    return (await this.call('GET /purchases', {}, undefined, o)).purchases;
  }
  startPurchase(request: StartPurchaseRequest, o?: CallOptions) {
    return this.call('POST /purchases', {}, request, o);
  }
  purchase(id: string, o?: CallOptions) {
    return this.call('GET /purchases/:id', { id }, undefined, o);
  }
  placeOrder(id: string, o?: CallOptions) {
    return this.call('POST /purchases/:id/order', { id }, undefined, o);
  }
  refreshOrder(id: string, o?: CallOptions) {
    return this.call('POST /purchases/:id/refresh', { id }, undefined, o);
  }
  purchaseStatus(id: string, o?: CallOptions) {
    return this.call('GET /purchases/:id/status', { id }, undefined, o);
  }
  cancelPurchase(id: string, o?: CallOptions) {
    return this.call('POST /purchases/:id/cancel', { id }, undefined, o);
  }
  /** Pay a purchase as the user would on the phone / in the app (screenless: orders first). */
  payPurchase(id: string, outcome: PayOutcome, o?: CallOptions) {
    return this.call('POST /purchases/:id/pay', { id }, { outcome }, o);
  }
  resume(id: string, o?: CallOptions) {
    return this.call('POST /purchases/:id/resume', { id }, undefined, o);
  }

  // ── orders, refunds, notifications, calls ──
  async orders(o?: CallOptions) {
    return (await this.call('GET /orders', {}, undefined, o)).orders;
  }
  order(transactionId: string, o?: CallOptions) {
    return this.call('GET /orders/:id', { id: transactionId }, undefined, o);
  }
  payOrder(transactionId: string, outcome: PayOutcome, o?: CallOptions) {
    return this.call('POST /orders/:id/pay', { id: transactionId }, { outcome }, o);
  }
  expireOrder(transactionId: string, o?: CallOptions) {
    return this.call('POST /orders/:id/expire', { id: transactionId }, undefined, o);
  }
  /** A manual copy of the delivery notification of a paid order; the backend's reply (null when none came). */
  async notifyOrder(transactionId: string, o?: CallOptions) {
    return (await this.call('POST /orders/:id/notify', { id: transactionId }, undefined, o)).reply;
  }
  async refunds(o?: CallOptions) {
    return (await this.call('GET /refunds', {}, undefined, o)).refunds;
  }
  async notifications(o?: CallOptions) {
    return (await this.call('GET /notifications', {}, undefined, o)).notifications;
  }
  async calls(o?: CallOptions) {
    return (await this.call('GET /calls', {}, undefined, o)).calls;
  }
  async inbound(o?: CallOptions) {
    return (await this.call('GET /inbound', {}, undefined, o)).inbound;
  }

  // ── faults ──
  faults(o?: CallOptions) {
    return this.call('GET /faults', {}, undefined, o);
  }
  setFaults(settings: FaultsRequest, o?: CallOptions) {
    return this.call('POST /faults', {}, settings, o);
  }
  clearFaults(o?: CallOptions) {
    return this.call('DELETE /faults', {}, undefined, o);
  }
  /** Kill every device socket now; how many were dropped. */
  async dropSockets(o?: CallOptions): Promise<number> {
    return (await this.call('POST /faults', {}, { dropSocket: true }, o)).dropped ?? 0;
  }

  /**
   * `GET /sandbox/v1/events` (Server-Sent Events) as an async iteration of
   * typed events; it ends when `signal` aborts or the loop breaks.
   */
  async *events(options: EventsOptions = {}): AsyncGenerator<SandboxEvent, void, undefined> {
    const call = 'GET /sandbox/v1/events';
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    if (options.signal?.aborted) return;
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const opening = setTimeout(() => {
      timedOut = true;
      stop.abort();
    }, timeoutMs);
    let res: Response;
    try {
      res = await (this.fetchFn ?? fetch)(`${this.baseUrl}/sandbox/v1/events`, {
        headers: { accept: 'text/event-stream', ...(this.token !== undefined ? { authorization: `Bearer ${this.token}` } : {}) },
        signal: stop.signal,
      });
    } catch (e) {
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted) return;
      throw failure(call, e, timedOut, timeoutMs);
    } finally {
      clearTimeout(opening);
    }
    try {
      if (!res.ok || !res.body) throw new SandboxApiError(call, res.status, errorOf(await res.json().catch(() => undefined)));
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (stop.signal.aborted) return;
          throw failure(call, e, false, timeoutMs);
        }
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, '\n');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseEventBlock(block);
          if (event) yield event;
        }
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      stop.abort();
    }
  }
}

/** One SSE block → a typed event (comments and unknown events dropped). */
function parseEventBlock(block: string): SandboxEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0 || !SANDBOX_EVENT_NAMES.includes(event as SandboxEventName)) return undefined;
  try {
    const parsed: unknown = JSON.parse(data.join('\n'));
    return { event, data: parsed } as SandboxEvent;
  } catch {
    return undefined;
  }
}
