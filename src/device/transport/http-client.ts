/**
 * One HTTP call to the platform (docs/device-protocol.md §3): device headers,
 * a hard timeout, the caller's AbortSignal honoured, a bounded reply, and the
 * platform's TSK-RSA2 signature verified over the raw reply bytes before the
 * JSON is used. Uses the global `fetch` unless one is injected.
 */
import { DEVICE_ID_HEADER, DEVICE_TOKEN_HEADER, parseErrorBody, SignatureError } from '../../protocol/browser.js';
import { DeviceTransportError, PlatformError, RequestTimeoutError } from '../errors.js';
import type { SignatureChecker } from './signature-checker.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpClientOptions {
  /** `{platformUrl}/device/v1`, no trailing slash. */
  baseUrl: string;
  deviceId: string;
  deviceToken?: string;
  fetch?: FetchLike;
  requestTimeoutMs: number;
  maxReplyBytes: number;
  checker: SignatureChecker;
}

export interface SignedReply {
  /** The exact reply bytes that were verified. */
  raw: Uint8Array;
  /** Their decoded JSON object. */
  json: Record<string, unknown>;
  text: string;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export class HttpClient {
  private readonly fetchImpl: FetchLike;
  private readonly inflight = new Set<AbortController>();
  private closed = false;

  constructor(private readonly options: HttpClientOptions) {
    const injected = options.fetch;
    // Call the global fetch unbound-safe: browsers throw "Illegal invocation" otherwise.
    this.fetchImpl = injected ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Abort everything in flight; later calls fail with reason `closed`. */
  close(): void {
    this.closed = true;
    for (const c of this.inflight) c.abort();
    this.inflight.clear();
  }

  get pending(): number {
    return this.inflight.size;
  }

  async request(method: 'GET' | 'POST', path: string, body: unknown, signal?: AbortSignal): Promise<SignedReply> {
    const what = `${method} ${path}`;
    if (this.closed) throw new DeviceTransportError('closed', `${what}: transport is closed`);
    if (signal?.aborted) throw new DeviceTransportError('aborted', `${what}: aborted`, { cause: signal.reason });
    const { requestTimeoutMs, maxReplyBytes } = this.options;
    const controller = new AbortController();
    let cause: 'timeout' | 'aborted' | undefined;
    const onAbort = () => {
      cause ??= 'aborted';
      controller.abort();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      cause ??= 'timeout';
      controller.abort();
    }, requestTimeoutMs);
    this.inflight.add(controller);
    const headers: Record<string, string> = {
      accept: 'application/json',
      [DEVICE_ID_HEADER]: this.options.deviceId,
    };
    if (this.options.deviceToken !== undefined) headers[DEVICE_TOKEN_HEADER] = this.options.deviceToken;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json; charset=utf-8';
    }
    const failed = (e: unknown): Error => {
      if (cause === 'timeout') return new RequestTimeoutError(`${what}: no reply within ${requestTimeoutMs} ms`, requestTimeoutMs);
      if (cause === 'aborted') return new DeviceTransportError('aborted', `${what}: aborted`, { cause: signal?.reason });
      if (this.closed) return new DeviceTransportError('closed', `${what}: transport closed`);
      return new DeviceTransportError('network', `${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    };
    let status: number;
    let authorization: string | null;
    let raw: Uint8Array;
    try {
      const res = await this.fetchImpl(this.options.baseUrl + path, {
        method,
        headers,
        body: payload,
        signal: controller.signal,
        redirect: 'error',
        cache: 'no-store',
      });
      status = res.status;
      authorization = res.headers.get('authorization');
      const declared = Number(res.headers.get('content-length') ?? NaN);
      if (declared > maxReplyBytes) {
        controller.abort();
        throw new DeviceTransportError('bad-reply', `${what}: reply of ${declared} bytes exceeds ${maxReplyBytes}`);
      }
      raw = await readBounded(res, maxReplyBytes, what);
    } catch (e) {
      if (e instanceof DeviceTransportError) throw e;
      throw failed(e);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.inflight.delete(controller);
    }
    let text = '';
    let json: unknown;
    try {
      text = decoder.decode(raw);
      json = JSON.parse(text);
    } catch {
      // not UTF-8 or not JSON: json stays undefined
    }
    if (status < 200 || status > 299) {
      const { code, message } = parseErrorBody(json);
      throw new PlatformError(status, code, message || `HTTP ${status}`);
    }
    const verdict = await this.options.checker.verify(raw, authorization);
    if (!verdict.ok) throw new SignatureError(verdict.reason, `${what}: reply rejected: ${verdict.message}`);
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new DeviceTransportError('bad-reply', `${what}: reply is not a JSON object`, { rejection: 'malformed' });
    return { raw, json: json as Record<string, unknown>, text };
  }
}

/** Read a reply body, giving up (without buffering the rest) once it exceeds `max` bytes. */
async function readBounded(res: Response, max: number, what: string): Promise<Uint8Array> {
  const tooBig = () => new DeviceTransportError('bad-reply', `${what}: reply exceeds ${max} bytes`);
  const body = res.body;
  if (!body || typeof body.getReader !== 'function') {
    const all = new Uint8Array(await res.arrayBuffer());
    if (all.length > max) throw tooBig();
    return all;
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      void reader.cancel().catch(() => {});
      throw tooBig();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
