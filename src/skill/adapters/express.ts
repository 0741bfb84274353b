/**
 * Express adapter of the skill kit (`dingdang-pay/skill/express`). The body
 * is read with `express.raw` — the exact bytes, never `express.json()` —
 * because the TSK-HMAC-SHA256-BASIC signature covers the raw body. Mount it
 * before any global body parser.
 *
 * ```ts
 * app.use(expressSkillRouter(skill, { path: '/skill' })); // before express.json()
 * // or per route:
 * app.post('/skill', ...expressSkillHandler(skill));
 * ```
 *
 * Refusals of the adapter itself (as the node:http adapter): 413 (body over
 * the skill's `maxBodyBytes`, the connection is closed), 400 (unreadable
 * body), 500 `ERR_RAW_BODY_UNAVAILABLE` (a body parser ran before the
 * adapter: the signed bytes are gone). Everything else is the skill's answer.
 */
import express, { type ErrorRequestHandler, type RequestHandler, type Response, type Router } from 'express';
import type { Skill, SkillHttpResponse } from '../skill.js';

function send(res: Response, reply: SkillHttpResponse): void {
  res
    .status(reply.status)
    .set(reply.headers)
    .end(Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength));
}

function plainError(res: Response, status: number, code: string, message: string, extra: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify({ error: { code, message } }));
  res
    .status(status)
    .set({ 'content-type': 'application/json;charset=UTF-8', 'content-length': String(body.length), ...extra })
    .end(body);
}

/** `[express.raw(...), handle, onError]` for the skill: spread into `app.post(path, ...)`. */
export function expressSkillHandler(skill: Skill): [RequestHandler, RequestHandler, ErrorRequestHandler] {
  const raw = express.raw({ type: () => true, limit: skill.maxBodyBytes });
  const handle: RequestHandler = (req, res, next) => {
    const body: unknown = req.body === undefined ? Buffer.alloc(0) : req.body; // undefined: the request had no body
    if (!Buffer.isBuffer(body)) return plainError(res, 500, 'ERR_RAW_BODY_UNAVAILABLE', 'the body was parsed before the skill adapter');
    skill.handle({ headers: req.headers, rawBody: body }).then((reply) => send(res, reply), next);
  };
  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    const type = (err as { type?: string })?.type;
    if (res.headersSent || type === 'request.aborted') return next(err);
    if (type === 'entity.too.large')
      return plainError(res, 413, 'ERR_SKILL_BODY_TOO_LARGE', `request body larger than ${skill.maxBodyBytes} bytes`, { connection: 'close' });
    plainError(res, 400, 'ERR_BAD_REQUEST', 'the request body could not be read', { connection: 'close' });
  };
  return [raw, handle, onError];
}

export interface ExpressSkillOptions {
  /** The skill's path; default `/`. */
  path?: string;
}

/** A Router serving the skill on one path, POST only. */
export function expressSkillRouter(skill: Skill, options: ExpressSkillOptions = {}): Router {
  const router = express.Router();
  router.post(options.path ?? '/', ...expressSkillHandler(skill));
  return router;
}
