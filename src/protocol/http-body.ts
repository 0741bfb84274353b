/**
 * Reading a request body on Node's `http` server, bounded: at most `limit`
 * bytes, within `timeoutMs` when given. Node only (not part of browser.ts).
 *
 * Past the limit the body is refused (`too-large`); with `drainBytes` the
 * rest is still read and dropped up to that many bytes more (so the client,
 * still sending, reads the refusal), then reading stops. A body declared
 * larger than the limit (`content-length`) is refused at once unless
 * `drainBytes` asks to drain it. After a refusal the request is paused: the
 * caller closes the connection once its answer is out.
 */
import type { IncomingMessage } from 'node:http';

export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' | 'timeout' | 'aborted' };

export interface ReadBodyOptions {
  /** Largest body accepted, bytes. */
  limit: number;
  /** Time to receive the whole body, ms; default: no limit. */
  timeoutMs?: number;
  /** Past the limit, bytes still read and dropped before reading stops; default 0 (stop at once). */
  drainBytes?: number;
}

/** The body as bytes (one chunk is handed over as is, without a copy), or why not. Never rejects. */
export function readBody(req: IncomingMessage, options: ReadBodyOptions): Promise<BodyResult> {
  const { limit } = options;
  const drain = options.drainBytes ?? 0;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (r: BodyResult) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      req.removeListener('data', onData);
      if (!r.ok) req.pause();
      resolve(r);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      if (!over) chunks.push(chunk);
      else if (size > limit + drain) finish({ ok: false, reason: 'too-large' });
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      if (drain === 0) return finish({ ok: false, reason: 'too-large' });
      over = true;
    }
    if (options.timeoutMs !== undefined) timer = setTimeout(() => finish({ ok: false, reason: 'timeout' }), options.timeoutMs);
    req.on('data', onData);
    req.on('end', () => finish(over ? { ok: false, reason: 'too-large' } : { ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
    req.on('error', () => finish({ ok: false, reason: 'aborted' }));
    req.on('aborted', () => finish({ ok: false, reason: 'aborted' }));
  });
}

/**
 * The request target as a URL, or undefined when `new URL()` refuses it
 * (e.g. `//`, `http://`): a server answers 400 instead of throwing.
 */
export function requestUrl(req: IncomingMessage, base = 'http://localhost'): URL | undefined {
  try {
    return new URL(req.url ?? '/', base);
  } catch {
    return undefined;
  }
}

/** `decodeURIComponent`, or undefined for a malformed escape (`%E0%A4%A`). */
export function decodePathPart(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}
