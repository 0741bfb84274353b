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
 * Refused before the body is read (the handler's `precheck`: a peer past its
 * budget, a missing or malformed Authorization): the body is drained as for a
 * 404, or the connection closed after the answer when the body is declared
 * larger than the handler takes or not declared at all.
 */
function refuseUnread(req: IncomingMessage, res: ServerResponse, reply: PartnerResponse, limit: number): void {
  const declared = Number(req.headers['content-length']);
  if (!(declared <= limit)) {
    res.setHeader('connection', 'close');
    res.on('finish', () => req.socket.destroy());
  } else req.resume();
  writePartnerResponse(res, reply);
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
      // Refused by the headers alone: answered at once, the body never read.
      const early = handler.precheck?.({ headers: req.headers, peer });
      if (early) return refuseUnread(req, res, early, handler.maxBodyBytes);
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
