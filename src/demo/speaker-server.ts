/**
 * The screen speaker's web server (127.0.0.1): the page, its script, the
 * purchase statechart it draws (`/statechart.json`, src/demo/statechart.ts,
 * and the installed mermaid's browser build as `/mermaid.js`), and
 * `POST /api/say`, which forwards what the user typed to the platform
 * (`POST {platform}/sandbox/v1/say`, with this speaker's deviceId) and
 * returns the skill's answer. Everything about payment happens in the page:
 * the device companion there talks to the platform directly (another origin:
 * CORS per docs/device-protocol.md).
 *
 * Safety on a developer's machine (our own): a request whose Host header is
 * not 127.0.0.1 / localhost / [::1] with this server's port (or one of
 * `allowedHosts`) is refused 421 (DNS rebinding), and `/api/say` takes only
 * same-origin posts (`Sec-Fetch-Site` / `Origin`), so no other page can
 * talk through it with the sandbox's control token.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { speakerBundle } from './bundle.js';
import { speakerPage } from './page.js';
import { mermaidScriptPath, statechart } from './statechart.js';
import { SandboxClient } from '../sandbox/client.js';
import type { DeviceMode } from '../sandbox/purchase-book.js';
import { readBody, requestUrl } from '../protocol/http-body.js';
import { httpServerOptions, type HttpLimits } from '../protocol/http-limits.js';
import { parseSayReply, type PlatformReply } from './host.js';

export interface SpeakerServerOptions {
  platformUrl: string;
  tskPublicKey: string;
  /** The sandbox's control token (`/api/say` forwards with it); `Sandbox#controlToken` / the ready line's `controlToken`. */
  controlToken?: string;
  /** The sandbox's per-run device token, handed to the page's device companion (docs/device-protocol.md §1). */
  deviceToken?: string;
  /** Host names accepted in `Host` besides the loopback ones. */
  allowedHosts?: readonly string[];
  deviceId?: string;
  port?: number;
  host?: string;
  example?: string;
  /** HTTP timeouts and head size (defaults: headers 15 s, request 30 s, keep-alive 10 s, 16 KiB). */
  http?: HttpLimits;
}

export interface SpeakerServer {
  url: string;
  /**
   * The page's web origins (`http://127.0.0.1:<port>`, `http://localhost:<port>`, and `http://<name>` of each
   * allowed host): what the sandbox allows on its control API and to frame its pay pages.
   */
  origins: string[];
  port: number;
  deviceId: string;
  close(): Promise<void>;
}

export const DEFAULT_DEVICE_ID = 'demo-speaker';
export const EXAMPLE_UTTERANCE = '我要听万古神帝第35集';

/** Largest `/api/say` body, bytes. */
const SAY_BODY_LIMIT = 16 * 1024;

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}

/**
 * The sandbox's `/sandbox/v1/say` for one speaker, through the typed client;
 * the reply read by the host's `parseSayReply` (contract C, docs/sandbox.md).
 */
export async function platformSay(platform: string | SandboxClient, text: string, deviceId: string, mode: DeviceMode): Promise<PlatformReply> {
  const client = typeof platform === 'string' ? new SandboxClient(platform) : platform;
  return parseSayReply(await client.say({ text, deviceId, mode }));
}

export async function startSpeakerServer(options: SpeakerServerOptions): Promise<SpeakerServer> {
  const deviceId = options.deviceId ?? DEFAULT_DEVICE_ID;
  const example = options.example ?? EXAMPLE_UTTERANCE;
  const js = await speakerBundle();
  const mermaid = mermaidScriptPath();
  let mermaidJs: Promise<Buffer> | undefined;
  const client = new SandboxClient({ baseUrl: options.platformUrl, ...(options.controlToken !== undefined ? { token: options.controlToken } : {}) });
  const sockets = new Set<Socket>();
  let hosts = new Set<string>();
  const ownOrigin = (o: string) => [...hosts].some((h) => o.toLowerCase() === `http://${h}`);
  const server: Server = createServer(httpServerOptions(options.http), (req, res) => {
    if (!hosts.has((req.headers.host ?? '').toLowerCase())) {
      res.writeHead(421, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
      return void res.end(JSON.stringify({ error: { code: 'ERR_FORBIDDEN', reason: 'HOST_NOT_ALLOWED', message: 'Host header does not name this server' } }));
    }
    const url = requestUrl(req, 'http://speaker');
    if (!url) return void res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request target');
    if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(
        speakerPage({
          platformUrl: options.platformUrl,
          tskPublicKey: options.tskPublicKey,
          deviceId,
          sayUrl: '/api/say',
          example,
          ...(options.deviceToken !== undefined ? { deviceToken: options.deviceToken } : {}),
        }),
      );
      return;
    }
    if (req.method === 'GET' && url.pathname === '/speaker.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(js);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/statechart.json') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(statechart());
      return;
    }
    if (req.method === 'GET' && url.pathname === '/mermaid.js') {
      // The installed mermaid's browser build (5 MB): its own script, read once, kept by the browser for an hour.
      mermaidJs ??= mermaid ? readFile(mermaid) : Promise.reject(new Error('mermaid is not installed'));
      mermaidJs.then(
        (body) => {
          res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=3600' });
          res.end(body);
        },
        () => json(res, 404, { error: { message: 'the statechart is drawn by mermaid, an optional peer: npm install mermaid' } }),
      );
      return;
    }
    if (url.pathname === '/api/say') {
      if (req.method !== 'POST') return json(res, 405, { error: { message: 'POST only' } });
      const site = req.headers['sec-fetch-site'];
      const origin = req.headers.origin;
      if ((site !== undefined && site !== 'same-origin') || (origin !== undefined && !ownOrigin(origin)))
        return json(res, 403, { error: { code: 'ERR_FORBIDDEN', reason: 'CROSS_SITE', message: 'cross-site request refused' } });
      void (async () => {
        let text: unknown;
        try {
          const body = await readBody(req, { limit: SAY_BODY_LIMIT });
          if (!body.ok) {
            res.setHeader('connection', 'close');
            throw new Error(body.reason);
          }
          text = (JSON.parse(body.body.toString('utf8')) as { text?: unknown }).text;
        } catch {
          return json(res, 400, { error: { message: 'body must be JSON { "text": "…" }' } });
        }
        if (typeof text !== 'string' || text.trim() === '' || text.length > 200) return json(res, 400, { error: { message: 'text must be 1–200 characters' } });
        try {
          json(res, 200, await platformSay(client, text, deviceId, 'screen'));
        } catch (e) {
          json(res, 502, { error: { message: (e as Error).message } });
        }
      })();
      return;
    }
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    json(res, 404, { error: { message: `no route ${url.pathname.slice(0, 80)}` } });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const names = ['127.0.0.1', 'localhost', '[::1]'];
  const extra = (options.allowedHosts ?? []).map((h) => (/:\d+$/.test(h) ? h : `${h}:${port}`).toLowerCase());
  hosts = new Set([...names.map((n) => `${n}:${port}`), ...extra]);
  return {
    url: `http://127.0.0.1:${port}/`,
    origins: [`http://127.0.0.1:${port}`, `http://localhost:${port}`, ...extra.map((h) => `http://${h}`)],
    port,
    deviceId,
    close: async () => {
      const done = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}
