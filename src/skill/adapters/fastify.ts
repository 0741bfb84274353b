/**
 * Fastify plugin of the skill kit (`dingdang-pay/skill/fastify`). Inside its
 * own (encapsulated) context it replaces the body parsers with one
 * content-type parser that keeps the raw bytes (`parseAs: 'buffer'`), so the
 * app's other routes keep their JSON parsing and the signature is checked
 * over the exact bytes received.
 *
 * ```ts
 * await app.register(fastifySkillPlugin, { skill, path: '/skill' });
 * ```
 *
 * Refusals of the plugin itself: 413 (body over the skill's `maxBodyBytes`,
 * the connection is closed), 400 (unreadable body). Everything else is the
 * skill's answer. Needs no runtime import of fastify (types only).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Skill } from '../skill.js';

export interface FastifySkillOptions {
  skill: Skill;
  /** The skill's path; default `/`. */
  path?: string;
}

function plainError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply
    .code(status)
    .headers({ 'content-type': 'application/json;charset=UTF-8', connection: 'close' })
    .send(Buffer.from(JSON.stringify({ error: { code, message } })));
}

export const fastifySkillPlugin: FastifyPluginAsync<FastifySkillOptions> = async (app, options) => {
  const skill = options.skill;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.route({
    method: 'POST',
    url: options.path ?? '/',
    bodyLimit: skill.maxBodyBytes,
    errorHandler: (error, _request, reply) => {
      const code = (error as { code?: string }).code;
      if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
        return void plainError(reply, 413, 'ERR_SKILL_BODY_TOO_LARGE', `request body larger than ${skill.maxBodyBytes} bytes`);
      void plainError(reply, 400, 'ERR_BAD_REQUEST', 'the request body could not be read');
    },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const body = request.body;
      const r = await skill.handle({ headers: request.headers, rawBody: Buffer.isBuffer(body) ? body : Buffer.alloc(0) });
      return reply
        .code(r.status)
        .headers(r.headers)
        .send(Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength));
    },
  });
};
