/**
 * Safety on a developer's machine (our own extension; DingDang's platform is
 * not a local server and defines none of this). The sandbox listens on
 * 127.0.0.1 next to the developer's browser, so every web page the developer
 * visits could otherwise reach it. What this module decides, per request:
 *
 * * **Host** (DNS rebinding): the `Host` header must name the sandbox as
 *   `127.0.0.1:<port>`, `localhost:<port>`, `[::1]:<port>`, the address it
 *   listens on, or a name given in `allowedHosts` (with or without the
 *   port). Anything else: 421 `HOST_NOT_ALLOWED`, HTTP and WebSocket alike.
 * * **Origin** (control API): a request carrying an `Origin` that is not the
 *   sandbox's own nor one of `allowedOrigins` is refused 403
 *   `ORIGIN_NOT_ALLOWED` before anything runs; an allowed origin gets CORS
 *   for itself (never `*`). No `Origin` (curl, Node) is fine.
 * * **Control token**: one random token per run (or `controlToken` given),
 *   sent as `Authorization: Bearer <token>` or carried by the dashboard's
 *   cookie (`dingdang-sandbox-token`, HttpOnly, SameSite=Strict, set by
 *   `GET /?token=<token>`). Missing → 401 `TOKEN_REQUIRED`, wrong → 401
 *   `WRONG_TOKEN`.
 * * **Phone pages** (`POST /pay/…`, `/app/…`, `/link/…`): a same-origin
 *   check (`Sec-Fetch-Site`, `Origin`) and a per-page token in a hidden
 *   field, an HMAC of the page's id under a per-run secret; either failing →
 *   403, nothing changes.
 * * **Framing** (clickjacking of the pay page's buttons): every response
 *   carries `Content-Security-Policy: frame-ancestors 'self' <allowed
 *   origins>`, so only the sandbox's own pages and the allowed origins (the
 *   demo's speaker page, whose phone panel frames the pay page) may frame it.
 *
 * Node only (the sandbox's server side).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { InvalidArgumentError } from '../protocol/errors.js';

/** The dashboard's cookie name (carries the control token, HttpOnly, SameSite=Strict). */
export const CONTROL_TOKEN_COOKIE = 'dingdang-sandbox-token';
/** The phone pages' hidden form field (the per-page token). */
export const PAGE_TOKEN_FIELD = 'pageToken';

export type RefusalReason = 'HOST_NOT_ALLOWED' | 'ORIGIN_NOT_ALLOWED' | 'TOKEN_REQUIRED' | 'WRONG_TOKEN' | 'CROSS_SITE' | 'PAGE_TOKEN';

/** A refusal: HTTP status and the `{ error }` body's code / reason. */
export interface Refusal {
  status: number;
  code: 'ERR_FORBIDDEN' | 'ERR_UNAUTHORIZED';
  reason: RefusalReason;
  message: string;
}

const REFUSALS: Record<RefusalReason, Omit<Refusal, 'reason'>> = {
  HOST_NOT_ALLOWED: { status: 421, code: 'ERR_FORBIDDEN', message: 'Host header does not name this sandbox' },
  ORIGIN_NOT_ALLOWED: { status: 403, code: 'ERR_FORBIDDEN', message: 'origin not allowed' },
  TOKEN_REQUIRED: { status: 401, code: 'ERR_UNAUTHORIZED', message: 'control token required (Authorization: Bearer …)' },
  WRONG_TOKEN: { status: 401, code: 'ERR_UNAUTHORIZED', message: 'wrong control token' },
  CROSS_SITE: { status: 403, code: 'ERR_FORBIDDEN', message: 'cross-site form post refused' },
  PAGE_TOKEN: { status: 403, code: 'ERR_FORBIDDEN', message: 'missing or wrong page token' },
};

export function refusal(reason: RefusalReason): Refusal {
  return { reason, ...REFUSALS[reason] };
}

export interface SafetyOptions {
  /** The control token; default a fresh random one per run. */
  controlToken?: string;
  /** Web origins (`http://host:port`) allowed on the control API besides the sandbox's own. */
  allowedOrigins?: readonly string[];
  /** Host names (optionally `name:port`) accepted in `Host` besides the loopback ones. */
  allowedHosts?: readonly string[];
}

/** `scheme://host[:port]` exactly as a browser sends it in `Origin`; InvalidArgumentError otherwise. */
export function normalizeOrigin(origin: string): string {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    throw new InvalidArgumentError(`allowedOrigins: not an origin: ${origin.slice(0, 80)}`);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin === 'null')
    throw new InvalidArgumentError(`allowedOrigins: not an http(s) origin: ${origin.slice(0, 80)}`);
  return u.origin;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  const raw = req.headers.cookie;
  if (!raw) return undefined;
  for (const part of raw.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export class Safety {
  readonly controlToken: string;
  private readonly pageSecret = randomBytes(32);
  private readonly origins = new Set<string>();
  private readonly ownOrigins = new Set<string>();
  private readonly hosts = new Set<string>();
  private readonly extraHosts: string[];

  constructor(options: SafetyOptions = {}) {
    const t = options.controlToken;
    if (t !== undefined && (typeof t !== 'string' || !/^[\x21-\x7e]{16,256}$/.test(t)))
      throw new InvalidArgumentError('controlToken must be 16–256 printable ASCII characters without spaces');
    this.controlToken = t ?? randomBytes(24).toString('base64url');
    for (const o of options.allowedOrigins ?? []) this.origins.add(normalizeOrigin(o));
    this.extraHosts = (options.allowedHosts ?? []).map((h) => {
      if (typeof h !== 'string' || h === '' || /[\s/]/.test(h)) throw new InvalidArgumentError('allowedHosts: host names, optionally with :port');
      return h.toLowerCase();
    });
  }

  /** Called once listening: the loopback names, the bound address and the configured names, each with the port. */
  listening(port: number, boundHost: string): void {
    const names = new Set(['127.0.0.1', 'localhost', '[::1]', boundHost.toLowerCase()]);
    for (const h of this.extraHosts) {
      if (/:\d+$/.test(h) && !h.endsWith(']')) this.hosts.add(h);
      else names.add(h);
    }
    for (const n of names) {
      this.hosts.add(`${n}:${port}`);
      if (n !== '0.0.0.0' && n !== '[::]') this.ownOrigins.add(`http://${n}:${port}`);
    }
  }

  refuse(reason: RefusalReason): Refusal {
    return refusal(reason);
  }

  /** Allow one more web origin on the control API and to frame the pages (e.g. the demo speaker page's). */
  allowOrigin(origin: string): void {
    this.origins.add(normalizeOrigin(origin));
  }

  /**
   * The `Content-Security-Policy` of the sandbox's responses: who may frame
   * its pages — the page's own origin and the allowed origins, in the order
   * they were allowed. No `X-Frame-Options`: it names at most one origin
   * (`SAMEORIGIN`, or the obsolete `ALLOW-FROM`), so it cannot say the same
   * once an origin is allowed, and a browser that knows `frame-ancestors`
   * ignores it anyway.
   */
  framePolicy(): string {
    return ["frame-ancestors 'self'", ...this.origins].join(' ');
  }

  hostAllowed(req: IncomingMessage): boolean {
    const h = req.headers.host;
    return typeof h === 'string' && this.hosts.has(h.toLowerCase());
  }

  /** Is `origin` the sandbox's own? */
  isOwnOrigin(origin: string): boolean {
    return this.ownOrigins.has(origin.toLowerCase());
  }

  originAllowed(origin: string): boolean {
    return this.isOwnOrigin(origin) || this.origins.has(origin.toLowerCase());
  }

  /** The control token a request carries (Bearer header first, then the dashboard cookie). */
  private presented(req: IncomingMessage): string | undefined {
    const auth = req.headers.authorization;
    if (typeof auth === 'string') {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      return m ? m[1]! : '';
    }
    return cookie(req, CONTROL_TOKEN_COOKIE);
  }

  /** undefined when the request carries the control token, else why not. */
  checkToken(req: IncomingMessage): Refusal | undefined {
    const t = this.presented(req);
    if (t === undefined) return refusal('TOKEN_REQUIRED');
    return this.tokenMatches(t) ? undefined : refusal('WRONG_TOKEN');
  }

  tokenMatches(t: string): boolean {
    return same(t, this.controlToken);
  }

  /** The `Set-Cookie` value for the dashboard. */
  cookieHeader(): string {
    return `${CONTROL_TOKEN_COOKIE}=${this.controlToken}; HttpOnly; SameSite=Strict; Path=/`;
  }

  /**
   * A form post from a browser must come from the sandbox's own pages:
   * `Sec-Fetch-Site` (when sent) is `same-origin`, `Origin` (when sent) is
   * the sandbox's own. Clients that send neither (curl, Node) pass this check
   * and still need the page token.
   */
  sameOriginPost(req: IncomingMessage): boolean {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') return false;
    const origin = req.headers.origin;
    if (origin !== undefined && !this.isOwnOrigin(origin)) return false;
    return true;
  }

  /** The per-page token of a phone page (`kind` = pay / app / link, `id` its order / purchase / skill+user). */
  pageToken(kind: string, id: string): string {
    return createHmac('sha256', this.pageSecret).update(`${kind}\n${id}`).digest('base64url');
  }

  pageTokenOk(kind: string, id: string, value: string | null): boolean {
    return typeof value === 'string' && same(value, this.pageToken(kind, id));
  }
}
