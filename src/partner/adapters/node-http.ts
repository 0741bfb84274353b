/**
 * Adapter for Node's `http` / `https` servers. Reads the raw body bytes
 * (never a parsed object) up to the handler's limit, hands them to the
 * framework-agnostic handler and writes its signed reply byte for byte.
 *
 * ```ts
 * http.createServer(partnerRequestListener(handlers)).listen(8080);
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../../protocol/http-body.js';
import type { PartnerHandlers } from '../handlers.js';
import type { PartnerHandler, PartnerResponse } from '../make-handler.js';

/** Default URL paths of the three interfaces (register the full URLs on the platform). */
export const DEFAULT_PARTNER_PATHS = {
  createOrder: '/dingdang/create-order',
  deliver: '/dingdang/deliver',
  refundNotify: '/dingdang/refund-notify',
} as const;

export type PartnerPaths = { createOrder: string; deliver: string; refundNotify: string };

/** Past this many discarded bytes of an oversized body the connection is closed instead of drained. */
const DRAIN_LIMIT = 1024 * 1024;

export function writePartnerResponse(res: ServerResponse, reply: PartnerResponse): void {
  res.writeHead(reply.status, reply.headers);
  res.end(reply.body);
}

export interface NodeHttpPartnerOptions {
  /**
   * The client's address, for the per-peer budget of failed checks (our own
   * extension; peer-budget.ts). Default: the socket's remote address. Behind a
   * reverse proxy, read the address it forwards (only from a proxy you trust).
   */
  peerOf?: (req: IncomingMessage) => string | undefined;
}

/**
 * A body declared no larger than the handler takes (a request without
 * `content-length` or over the limit goes the long way: read up to the
 * limit, or drained, so the client still sending reads the refusal).
 */
export function declaredWithin(headers: IncomingMessage['headers'], limit: number): boolean {
  const declared = Number(headers['content-length']);
  return declared >= 0 && declared <= limit;
}

/** One handler as a `(req, res)` listener. Only POST is accepted. */
export function nodeHttpHandler(handler: PartnerHandler, options: NodeHttpPartnerOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const peerOf = options.peerOf ?? ((req: IncomingMessage) => req.socket.remoteAddress);
  const readAndHandle = async (req: IncomingMessage, res: ServerResponse, peer: string | undefined) => {
    const raw = await readBody(req, { limit: handler.maxBodyBytes, drainBytes: DRAIN_LIMIT });
    if (!raw.ok) {
      if (raw.reason === 'aborted') return void res.destroy();
      const reply = handler.reject('body too large');
      res.setHeader('connection', 'close');
      writePartnerResponse(res, reply);
      res.on('finish', () => req.socket.destroy());
      return;
    }
    writePartnerResponse(res, await handler({ headers: req.headers, rawBody: raw.body, peer }));
  };
  return (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('method not allowed\n');
      req.resume();
      return;
    }
    let peer: string | undefined;
    try {
      peer = peerOf(req);
      // Refused by the headers alone (body declared within the limit): answered at once, the body never read.
      const early = declaredWithin(req.headers, handler.maxBodyBytes) ? handler.precheck?.({ headers: req.headers, peer }) : undefined;
      if (early) {
        req.resume(); // drained like a 404's body: at most maxBodyBytes
        return writePartnerResponse(res, early);
      }
    } catch {
      return void (res.headersSent ? res.destroy() : res.writeHead(500).end());
    }
    readAndHandle(req, res, peer).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  };
}

/**
 * The three handlers on their paths as one listener. Other paths get 404, or
 * go to `next` when given (to mount inside another Node server).
 */
export function partnerRequestListener(
  handlers: Pick<PartnerHandlers, 'createOrder' | 'deliver' | 'refundNotify'>,
  options: NodeHttpPartnerOptions & { paths?: Partial<PartnerPaths>; next?: (req: IncomingMessage, res: ServerResponse) => void } = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const paths = { ...DEFAULT_PARTNER_PATHS, ...options.paths };
  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>([
    [paths.createOrder, nodeHttpHandler(handlers.createOrder, options)],
    [paths.deliver, nodeHttpHandler(handlers.deliver, options)],
    [paths.refundNotify, nodeHttpHandler(handlers.refundNotify, options)],
  ]);
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routes.get(path);
    if (route) return route(req, res);
    if (options.next) return options.next(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
}
