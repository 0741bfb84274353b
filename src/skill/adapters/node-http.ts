/**
 * The skill on Node's `http` / `https` server: read the raw body bytes
 * (limit and timeout), hand them to `skill.handle`, write its answer.
 *
 * ```ts
 * http.createServer(createNodeHttpHandler(skill, { path: '/skill' })).listen(8080);
 * // or
 * const { url, close } = await listen(skill, { port: 8080 });
 * ```
 *
 * Refusals of the adapter itself: 404 (other path), 405 (not POST), 413
 * (body over the skill's `maxBodyBytes`, the connection is closed), 408 (the
 * body did not arrive within `bodyTimeoutMs`). Everything else is the skill's answer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../../protocol/http-body.js';
import type { Skill, SkillHttpResponse } from '../skill.js';

export interface NodeHttpOptions {
  /** Only this URL path is served (query ignored); default: every path. */
  path?: string;
  /** Time to receive the whole body; default 10 s. */
  bodyTimeoutMs?: number;
}

export const DEFAULT_BODY_TIMEOUT_MS = 10_000;

function send(res: ServerResponse, reply: SkillHttpResponse): void {
  res.writeHead(reply.status, reply.headers);
  res.end(reply.body);
}

function plainError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify({ error: { code, message } }));
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': String(body.length), ...extra });
  res.end(body);
}

/** A `(req, res)` listener serving the skill (POST only). */
export function createNodeHttpHandler(skill: Skill, options: NodeHttpOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const timeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  return (req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
      if (options.path !== undefined && path !== options.path) {
        req.resume();
        return plainError(res, 404, 'ERR_NOT_FOUND', 'no skill at this path');
      }
      if (req.method !== 'POST') {
        req.resume();
        return plainError(res, 405, 'ERR_METHOD', 'POST only', { allow: 'POST' });
      }
      const body = await readBody(req, { limit: skill.maxBodyBytes, timeoutMs });
      if (!body.ok) {
        if (body.reason === 'aborted') return void res.destroy();
        // The rest of the body is not read: close the connection after the answer.
        res.setHeader('connection', 'close');
        res.on('finish', () => req.socket.destroy());
        if (body.reason === 'timeout') return plainError(res, 408, 'ERR_TIMEOUT', `body not received within ${timeoutMs} ms`);
        return plainError(res, 413, 'ERR_SKILL_BODY_TOO_LARGE', `request body larger than ${skill.maxBodyBytes} bytes`);
      }
      send(res, await skill.handle({ headers: req.headers, rawBody: body.body }));
    })().catch(() => {
      if (!res.headersSent) plainError(res, 500, 'ERR_INTERNAL', 'the skill failed to answer');
      else res.destroy();
    });
  };
}

export interface ListenOptions extends NodeHttpOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface ListeningSkill {
  server: Server;
  /** `http://host:port` + path (or `/`). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Start a `node:http` server for the skill. */
export function listen(skill: Skill, options: ListenOptions = {}): Promise<ListeningSkill> {
  const server = createServer(createNodeHttpHandler(skill, options));
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        server,
        port,
        url: `http://${shown}:${port}${options.path ?? '/'}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            server.closeAllConnections();
          }),
      });
    });
  });
}
