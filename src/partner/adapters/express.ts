/**
 * Express adapter (`dingdang-pay/partner/express`). The body is read with
 * `express.raw` — the exact bytes, never `express.json()` — because the
 * signature covers the raw body. An oversized body (refused by `express.raw`)
 * still gets a signed FAIL.
 *
 * ```ts
 * app.use(expressPartnerRouter(handlers));           // mount before express.json()
 * // or per route:
 * app.post('/dingdang/deliver', ...expressHandler(handlers.deliver));
 * ```
 */
import express, { type ErrorRequestHandler, type RequestHandler, type Router } from 'express';
import type { PartnerHandlers } from '../handlers.js';
import type { PartnerHandler } from '../make-handler.js';
import { declaredWithin, DEFAULT_PARTNER_PATHS, type PartnerPaths } from './node-http.js';

export { DEFAULT_PARTNER_PATHS };

/**
 * `[precheck, express.raw(...), handle, onError]` for one handler: spread into
 * `app.post(path, ...)`. The precheck answers a request that its headers
 * alone refuse (a peer past its budget of failed checks, a missing or
 * malformed Authorization) before the body is read. The peer is `req.ip`
 * (set Express's `trust proxy` behind a reverse proxy).
 */
export function expressHandler(handler: PartnerHandler): [RequestHandler, RequestHandler, RequestHandler, ErrorRequestHandler] {
  const precheck: RequestHandler = (req, res, next) => {
    // Only a body declared within the limit: an oversized or undeclared one goes to express.raw (413 → body too large).
    const early = declaredWithin(req.headers, handler.maxBodyBytes)
      ? handler.precheck?.({ headers: req.headers, peer: req.ip ?? req.socket.remoteAddress })
      : undefined;
    if (!early) return next();
    res.status(early.status).set(early.headers).end(early.body);
  };
  const raw = express.raw({ type: () => true, limit: handler.maxBodyBytes });
  const handle: RequestHandler = (req, res, next) => {
    const body: unknown = req.body === undefined ? Buffer.alloc(0) : req.body; // undefined: the request had no body
    if (!Buffer.isBuffer(body)) {
      // Someone parsed the body before us (a global express.json()): the signed bytes are gone.
      const reply = handler.reject('raw body unavailable');
      res.status(reply.status).set(reply.headers).end(reply.body);
      return;
    }
    handler({ headers: req.headers, rawBody: body, peer: req.ip ?? req.socket.remoteAddress }).then((reply) => {
      res.status(reply.status).set(reply.headers).end(reply.body);
    }, next);
  };
  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    const type = (err as { type?: string })?.type;
    if (res.headersSent) return next(err);
    const reply =
      type === 'entity.too.large'
        ? handler.reject('body too large')
        : type === 'request.aborted'
          ? undefined
          : handler.reject(type === 'encoding.unsupported' || type === 'charset.unsupported' ? 'bad encoding' : 'bad request');
    // The client hung up mid-body: nobody to answer, nothing worth a stack trace in the log.
    if (!reply) return void res.destroy();
    res
      .status(reply.status)
      .set({ ...reply.headers, connection: 'close' })
      .end(reply.body);
  };
  return [precheck, raw, handle, onError];
}

/** A Router with the three interfaces on their (default or given) paths, POST only. */
export function expressPartnerRouter(
  handlers: Pick<PartnerHandlers, 'createOrder' | 'deliver' | 'refundNotify'>,
  options: { paths?: Partial<PartnerPaths> } = {},
): Router {
  const paths = { ...DEFAULT_PARTNER_PATHS, ...options.paths };
  const router = express.Router();
  router.post(paths.createOrder, ...expressHandler(handlers.createOrder));
  router.post(paths.deliver, ...expressHandler(handlers.deliver));
  router.post(paths.refundNotify, ...expressHandler(handlers.refundNotify));
  return router;
}
