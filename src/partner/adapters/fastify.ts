/**
 * Fastify plugin. Inside its own (encapsulated) context it replaces the body
 * parsers with one content-type parser that keeps the raw bytes
 * (`parseAs: 'buffer'`), so the app's other routes keep their JSON parsing
 * and the signature is checked over the exact bytes received. Oversized or
 * unreadable bodies still get a signed FAIL.
 *
 * ```ts
 * await app.register(fastifyPartnerPlugin, { handlers });            // default paths
 * await app.register(fastifyPartnerPlugin, { handlers, prefix: '/pay' });
 * ```
 *
 * `dingdang-pay/partner/fastify`. Needs no runtime import of fastify (types only).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { PartnerHandlers } from '../handlers.js';
import type { PartnerHandler, PartnerResponse } from '../make-handler.js';
import { declaredWithin, DEFAULT_PARTNER_PATHS, type PartnerPaths } from './node-http.js';

export interface FastifyPartnerOptions {
  handlers: Pick<PartnerHandlers, 'createOrder' | 'deliver' | 'refundNotify'>;
  paths?: Partial<PartnerPaths>;
}

function send(reply: FastifyReply, r: PartnerResponse): FastifyReply {
  return reply.code(r.status).headers(r.headers).send(r.body);
}

function route(app: FastifyInstance, path: string, handler: PartnerHandler): void {
  app.route({
    method: 'POST',
    url: path,
    bodyLimit: handler.maxBodyBytes,
    // Refused by its headers alone (peer past its budget, bad Authorization): answered before the body is read.
    onRequest: (request, reply, done) => {
      // Only a body declared within the limit: an oversized or undeclared one meets bodyLimit (body too large).
      const early = declaredWithin(request.headers, handler.maxBodyBytes) ? handler.precheck?.({ headers: request.headers, peer: request.ip }) : undefined;
      if (!early) return done();
      void send(reply, early);
    },
    errorHandler: (error, _request, reply) => {
      const code = (error as { code?: string }).code;
      const r = handler.reject(code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body too large' : 'bad request');
      void send(reply.header('connection', 'close'), r);
    },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const body = request.body;
      const rawBody = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
      return send(reply, await handler({ headers: request.headers, rawBody, peer: request.ip }));
    },
  });
}

export const fastifyPartnerPlugin: FastifyPluginAsync<FastifyPartnerOptions> = async (app, options) => {
  const paths = { ...DEFAULT_PARTNER_PATHS, ...options.paths };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  route(app, paths.createOrder, options.handlers.createOrder);
  route(app, paths.deliver, options.handlers.deliver);
  route(app, paths.refundNotify, options.handlers.refundNotify);
};
