/**
 * The sandbox's HTTP routing: routes matched on the path in the order they
 * were added, a bounded body reader, JSON and HTML replies, and the control
 * API's error replies (the status table of errors.ts). Before any route
 * runs, the safety checks of safety.ts: the Host header on every request;
 * on `/sandbox/v1/` the origin allow-list (CORS only for allowed origins)
 * and the control token (every route but `GET /sandbox/v1/info`). Every
 * response carries the framing policy (`frame-ancestors`, safety.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../protocol/errors.js';
import { decodePathPart, readBody } from '../protocol/http-body.js';
import { controlErrorOf, HttpError } from './errors.js';
import type { Refusal, Safety } from './safety.js';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  url: URL;
  /** The raw request body (bounded). */
  body: () => Promise<Buffer>;
  /** The body decoded as a JSON object ({} when empty); InvalidArgumentError otherwise. */
  json: () => Promise<Record<string, unknown>>;
}

export type RouteHandler = (ctx: RouteContext) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  handler: RouteHandler;
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

export function sendHtml(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

/** A safety refusal (safety.ts) as a JSON error body; the connection closes after it. */
export function sendRefusal(res: ServerResponse, r: Refusal, headers: Record<string, string> = {}): void {
  sendJson(res, r.status, { error: { code: r.code, reason: r.reason, message: r.message } }, { connection: 'close', ...headers });
}

/** Control-API routes that need no token: read-only, public (the URL and the TSKPublicKey). */
const OPEN_CONTROL_ROUTES = new Set(['GET /sandbox/v1/info']);

/** Control-API error body `{ error: { code, reason?, message, retMsg? } }` with its HTTP status. */
export function sendError(res: ServerResponse, e: unknown): void {
  const { status, error } = controlErrorOf(e);
  if (!res.headersSent) sendJson(res, status, { error });
  else res.end();
}

function parseJsonObject(b: Buffer): Record<string, unknown> {
  if (b.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(b.toString('utf8'));
  } catch {
    throw new InvalidArgumentError('body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidArgumentError('body must be a JSON object');
  return v as Record<string, unknown>;
}

export class Router {
  private readonly routes: Route[] = [];

  constructor(
    /** Max request body, bytes. */
    readonly maxBodyBytes: number,
    /** Host / origin / token checks (safety.ts); none: every request is served (tests of the router alone). */
    private readonly safety?: Safety,
  ) {}

  /** Add a route. `pattern` is matched against the path; its groups are the `params`. */
  route(method: string, pattern: RegExp, handler: RouteHandler): void {
    this.routes.push({ method, pattern, handler });
  }

  /** Serve one request (the `http.Server` listener). */
  async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://sandbox');
    } catch {
      return sendJson(res, 400, { error: { code: 'ERR_HTTP', message: 'bad URL' } });
    }
    const safety = this.safety;
    // Who may frame what the sandbox serves (its HTML pages above all: the pay page's buttons), safety.ts.
    if (safety) res.setHeader('content-security-policy', safety.framePolicy());
    if (safety && !safety.hostAllowed(req)) return sendRefusal(res, safety.refuse('HOST_NOT_ALLOWED'));
    if (url.pathname.startsWith('/sandbox/v1/')) {
      const origin = req.headers.origin;
      if (safety && origin !== undefined) {
        if (!safety.originAllowed(origin)) return sendRefusal(res, safety.refuse('ORIGIN_NOT_ALLOWED'));
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('vary', 'Origin');
      } else if (!safety) res.setHeader('access-control-allow-origin', '*');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'access-control-allow-methods': 'GET, POST, DELETE',
          'access-control-allow-headers': 'content-type, authorization',
          'access-control-max-age': '600',
        });
        return void res.end();
      }
      if (safety && !OPEN_CONTROL_ROUTES.has(`${req.method} ${url.pathname}`)) {
        const refused = safety.checkToken(req);
        if (refused) return sendRefusal(res, refused, { 'www-authenticate': 'Bearer realm="dingdang-pay sandbox"' });
      }
    }
    let bodyPromise: Promise<Buffer> | undefined;
    const body = () => (bodyPromise ??= this.readBody(req, res));
    let methodMismatch = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(url.pathname);
      if (!m) continue;
      if (r.method !== req.method) {
        methodMismatch = true;
        continue;
      }
      const params = m.slice(1).map((p) => decodePathPart(p ?? ''));
      if (params.some((p) => p === undefined)) return sendJson(res, 400, { error: { code: 'ERR_HTTP', message: 'malformed percent-escape in the path' } });
      const ctx: RouteContext = {
        req,
        res,
        url,
        params: params as string[],
        body,
        json: async () => parseJsonObject(await body()),
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

  private async readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer> {
    const r = await readBody(req, { limit: this.maxBodyBytes });
    if (r.ok) return r.body;
    // The rest of the body is not read: the connection closes after the answer.
    res.setHeader('connection', 'close');
    res.on('finish', () => req.socket.destroy());
    if (r.reason === 'too-large') throw new HttpError(413, `body larger than ${this.maxBodyBytes} bytes`);
    throw new HttpError(400, 'the request body did not arrive');
  }
}
