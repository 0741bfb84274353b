/**
 * Timeouts and size limits for the Node HTTP servers the package starts (the
 * sandbox, the example skill, the demo's speaker page server) and for the
 * servers a partner builds around the adapters. Node only (not part of
 * browser.ts). Our own extension: DingDang says nothing about them.
 *
 * A client that sends its headers or its body slowly (slowloris) is cut off
 * by Node with `408` and a closed socket once `headersTimeoutMs` /
 * `requestTimeoutMs` have passed; an idle keep-alive connection is closed
 * after `keepAliveTimeoutMs`; headers larger than `maxHeaderSize` get `431`.
 * Node checks the first two every `connectionsCheckingInterval`, which is
 * derived here from the shortest of them (so a 200 ms timeout fires after
 * about 200–300 ms, not after Node's default 30 s check).
 */
import type { ServerOptions } from 'node:http';
import { InvalidArgumentError } from './errors.js';

export interface HttpLimits {
  /** Whole request head received within this; default 15 s. */
  headersTimeoutMs?: number;
  /** Whole request (head and body) received within this; default 30 s. */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this; default 10 s. */
  keepAliveTimeoutMs?: number;
  /** Largest request head, bytes; default 16 KiB (Node's own default). */
  maxHeaderSize?: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<Required<HttpLimits>> = Object.freeze({
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 30_000,
  // Longer than clients' idle timeout (undici: 4 s), so the client closes an idle keep-alive
  // connection first: no request is sent on a socket the server is closing.
  keepAliveTimeoutMs: 10_000,
  maxHeaderSize: 16 * 1024,
});

/** The limits with defaults filled in; throws `InvalidArgumentError` for a value that is not a positive integer. */
export function resolveHttpLimits(limits: HttpLimits = {}): Required<HttpLimits> {
  if (limits === null || typeof limits !== 'object') throw new InvalidArgumentError('http limits must be an object');
  const out = { ...DEFAULT_HTTP_LIMITS };
  for (const key of Object.keys(DEFAULT_HTTP_LIMITS) as Array<keyof HttpLimits>) {
    const v = limits[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new InvalidArgumentError(`${key} must be a positive integer, got ${String(v)}`);
    out[key] = v;
  }
  // Node refuses a headersTimeout above requestTimeout.
  if (out.headersTimeoutMs > out.requestTimeoutMs) out.headersTimeoutMs = out.requestTimeoutMs;
  return out;
}

/** Options for `http.createServer(options, listener)`. */
export function httpServerOptions(limits: HttpLimits = {}): ServerOptions {
  const l = resolveHttpLimits(limits);
  return {
    maxHeaderSize: l.maxHeaderSize,
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(20, Math.min(30_000, Math.floor(Math.min(l.headersTimeoutMs, l.requestTimeoutMs) / 4))),
  };
}
