/**
 * Test support for the sandbox suites: a real little skill backend (HTTP on
 * 127.0.0.1:0) that verifies the platform's signatures and signs its replies,
 * a signed-POST client for the pay CGI, and the typed client of the control
 * API (`api`; `control` is the raw wire, for refusals and malformed input).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateTskKeyPair, loadPrivateKey, loadPublicKey, signRsa2, verifyHmac, verifyRsa2, type TskKeyPair } from '../../src/protocol/tsk-node.js';
import { validateJson } from '../../src/protocol/validate.js';
import { randomNonce } from '../../src/protocol/tsk.js';
import { parseSandboxConfig, type SkillConfigInput } from '../../src/sandbox/config.js';
import { Sandbox, type SandboxOptions } from '../../src/sandbox/sandbox.js';
import { SandboxClient } from '../../src/sandbox/client.js';
import type { PayReply } from '../../src/sandbox/control-types.js';
import type { DeviceOrderView, PlaceOrderOutcome } from '../../src/sandbox/purchase-book.js';
import { fixture } from './helpers.js';
import { DEVICE_TOKEN_HEADER } from '../../src/protocol/device-link.js';

export const SKILL_PRIVATE = fixture('tsk-test-private.pem');
export const SKILL_PUBLIC = fixture('tsk-test-public.pem');
export const SKILL_SECRET = 'test-skill-secret';
export const SKILL_ID = 'audiobook-test';

let platformPair: TskKeyPair | undefined;
/** One generated platform key pair shared by a test file. */
export function platformKeys(): TskKeyPair {
  return (platformPair ??= generateTskKeyPair());
}

export interface Received {
  path: string;
  raw: string;
  authorization: string | undefined;
  /** Did the platform's signature verify (RSA2 for pay calls, HMAC for skill requests)? */
  verified: boolean;
  verifyReason?: string;
  body: any;
  at: number;
}

export type DeliverBehaviour = 'SUCCESS' | 'FAIL' | 'hang' | 'unsigned' | 'http500';

export interface Backend {
  url: string;
  received: Received[];
  /** Answers of /deliver, consumed in order; when empty: SUCCESS. */
  deliverPlan: DeliverBehaviour[];
  /** Answers of /create: 'SUCCESS' (default), 'UNSIGNED' (a SUCCESS reply without signature) or an error retMsg such as ALREADY_OWNED. */
  createPlan: string[];
  owned: Set<string>;
  /** How many unanswered ('hang') requests the platform gave up on (closed its connection). */
  hungUp: number;
  of(path: string): Received[];
  close(): Promise<void>;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The example audiobook's behaviour, minimal: episode 35 costs 200 fen. */
export async function startBackend(tskPublicKeyText: string): Promise<Backend> {
  // Keys parsed once: the backend answers thousands of calls in the chaos suites.
  const tskPublicKey = loadPublicKey(tskPublicKeyText);
  const skillKey = loadPrivateKey(SKILL_PRIVATE);
  const received: Received[] = [];
  let counter = 0;
  const b: Backend = {
    url: '',
    received,
    deliverPlan: [],
    createPlan: [],
    owned: new Set(),
    hungUp: 0,
    of: (path) => received.filter((r) => r.path === path),
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
  const server: Server = createServer(async (req, res) => {
    const raw = await readAll(req);
    const path = req.url ?? '/';
    const authorization = req.headers.authorization;
    const v = path === '/skill' ? verifyHmac(raw, authorization, SKILL_SECRET) : verifyRsa2(raw, authorization, tskPublicKey);
    let body: any;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    const rec: Received = { path, raw: raw.toString('utf8'), authorization, verified: v.ok, body, at: Date.now() };
    if (!v.ok) rec.verifyReason = v.reason;
    received.push(rec);
    const reply = (value: unknown, sign = true) => {
      const text = JSON.stringify(value);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (sign) headers.authorization = signRsa2(text, skillKey);
      res.writeHead(200, headers);
      res.end(text);
    };
    if (path === '/skill') {
      // The real custom-skill protocol (SKILL-PROTOCOL §2–§4); answers are not signed.
      const speak = (text: string, extra: Record<string, unknown> = {}) =>
        reply({ version: '1.0', response: { outputSpeech: { type: 'PlainText', text }, ...extra } }, false);
      if (!v.ok) return speak('bad signature');
      const request = body.request;
      const slot = (name: string): string | undefined => request.intent?.slots?.[name]?.values?.[0]?.value?.value;
      if (request.type === 'Connections.Response') {
        b.owned.add(body.context.System.user.userId);
        return speak('购买成功，开始播放万古神帝第35集', {
          directives: [{ type: 'AudioPlayer.Play', playlist: [{ stream: { url: 'http://x/35.mp3', token: 'ep35' }, info: { title: '万古神帝 第35集' } }] }],
          shouldEndSession: true,
        });
      }
      if (request.type === 'SessionEndedRequest') return speak('再见');
      if (request.type === 'IntentRequest' && request.intent.name === 'play') {
        if (b.owned.has(body.context.System.user.userId)) return speak('开始播放', { directives: [], shouldEndSession: true });
        const album = slot('album') ?? '';
        const index = slot('index') ?? '1';
        return speak('这是付费内容，需要购买才能播放哦', {
          directives: [
            {
              type: 'Connections.SendRequest',
              name: 'Charge',
              payload: {
                chargeInfo: {
                  name: `${album}第${index}集`,
                  // album "坏账" makes an invalid line (totalFee ≠ price × count)
                  items: [{ itemId: `ep${index}`, itemName: '单集', price: 100, count: 2, totalFee: album === '坏账' ? 199 : 200 }],
                },
              },
            },
          ],
          shouldEndSession: true,
        });
      }
      return speak('我没听懂', { shouldEndSession: true });
    }
    if (!v.ok) return reply({ retCode: 'FAIL', retMsg: `signature ${v.reason}` });
    if (path === '/create') {
      const parsed = validateJson('createOrderRequest', raw);
      if (!parsed.ok) return reply({ retCode: 'FAIL', retMsg: 'invalid request' });
      const plan = b.createPlan.shift() ?? 'SUCCESS';
      if (plan === 'UNSIGNED') return reply({ retCode: 'SUCCESS', tradeNo: `T${Date.now()}${++counter}` }, false);
      if (plan !== 'SUCCESS') return reply({ retCode: 'FAIL', retMsg: plan });
      return reply({ retCode: 'SUCCESS', tradeNo: `T${Date.now()}${++counter}` });
    }
    if (path === '/deliver') {
      const plan = b.deliverPlan.shift() ?? 'SUCCESS';
      if (plan === 'hang') return void res.on('close', () => b.hungUp++); // never answers: the platform times out
      if (plan === 'http500') {
        res.writeHead(500);
        return res.end('oops');
      }
      if (plan === 'unsigned') return reply({ retCode: 'SUCCESS' }, false);
      return reply(plan === 'SUCCESS' ? { retCode: 'SUCCESS' } : { retCode: 'FAIL', retMsg: 'try later' });
    }
    if (path === '/refund-notify') return reply({ retCode: 'SUCCESS' });
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  b.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return b;
}

export function skillInput(backendUrl: string, extra: Partial<SkillConfigInput> = {}): SkillConfigInput {
  return {
    skillId: SKILL_ID,
    skillEndpoint: `${backendUrl}/skill`,
    skillSecret: SKILL_SECRET,
    createOrderUrl: `${backendUrl}/create`,
    deliverUrl: `${backendUrl}/deliver`,
    refundNotifyUrl: `${backendUrl}/refund-notify`,
    skillPublicKey: SKILL_PUBLIC,
    ...extra,
  };
}

/** Backend + sandbox wired together. */
export async function startPair(options: Partial<Omit<SandboxOptions, 'config'>> & { skill?: Partial<SkillConfigInput> } = {}) {
  const keys = platformKeys();
  const backend = await startBackend(keys.publicKeyBase64);
  const { skill, ...rest } = options;
  const config = parseSandboxConfig({ skills: [skillInput(backend.url, skill)], platformPrivateKey: keys.privateKeyPem });
  const sandbox = trust(await Sandbox.start({ config, timeScale: 0.0001, processingMs: 0, callTimeoutMs: 1500, ...rest }));
  return {
    backend,
    sandbox,
    keys,
    close: async () => {
      await sandbox.close();
      await backend.close();
    },
  };
}

export interface SignedReply {
  status: number;
  raw: string;
  authorization: string | null;
  json: any;
  /** Did the reply's TSK-RSA2 signature verify with the platform key? */
  verified: boolean;
}

/** POST a body (object or exact text) signed with the skill key (or as given). */
export async function postSigned(
  url: string,
  body: unknown,
  opts: { key?: string; datetime?: string; authorization?: string | null; now?: number; verifyWith?: string } = {},
): Promise<SignedReply> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const auth =
    opts.authorization === undefined
      ? signRsa2(raw, opts.key ?? SKILL_PRIVATE, opts.datetime ? { datetime: opts.datetime } : opts.now ? { now: opts.now } : {})
      : opts.authorization;
  if (auth !== null) headers.authorization = auth;
  const res = await fetch(url, { method: 'POST', headers, body: raw, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  const authorization = res.headers.get('authorization');
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const verified = verifyRsa2(text, authorization, opts.verifyWith ?? platformKeys().publicKeyBase64).ok;
  return { status: res.status, raw: text, authorization, json, verified };
}

export const nonce = () => randomNonce();

/** Poll `check` until it returns a truthy value or `ms` passes. */
export async function until<T>(check: () => T | Promise<T>, ms = 3000, what = 'condition'): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Control tokens of the sandboxes this test file started, by URL (`trust` records them; `api` / `control` send them). */
const tokens = new Map<string, string>();
const deviceTokens = new Map<string, string>();

/**
 * Remember a sandbox's control token (and device token) so that `api(url)` /
 * `control(url, …)` / `deviceHeaders(url)` / `deviceTokenFor(url)` carry
 * them; returns the sandbox.
 */
export function trust<S extends Pick<Sandbox, 'url' | 'controlToken' | 'deviceToken'>>(sandbox: S): S {
  tokens.set(sandbox.url, sandbox.controlToken);
  if (sandbox.deviceToken !== undefined) deviceTokens.set(sandbox.url, sandbox.deviceToken);
  return sandbox;
}

/** The device token of a trusted sandbox (undefined when it issues none). */
export function deviceTokenFor(base: string): string | undefined {
  return deviceTokens.get(base.replace(/\/+$/, ''));
}

/** `{ 'x-dingdang-device-token': … }` for raw device-link requests to a trusted sandbox ({} when it issues none). */
export function deviceHeaders(base: string): Record<string, string> {
  const t = deviceTokenFor(base);
  return t === undefined ? {} : { [DEVICE_TOKEN_HEADER]: t };
}

/** `{ deviceToken }` for a subscribe frame or a transport talking to a trusted sandbox. */
export function deviceAuthFor(base: string): { deviceToken?: string } {
  const t = deviceTokenFor(base);
  return t === undefined ? {} : { deviceToken: t };
}

/** The hidden per-page token of a phone page's form (safety.ts); fails the test when there is none. */
export function pageTokenOf(html: string): string {
  const m = /name="pageToken" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('the page has no pageToken field');
  return m[1]!;
}

/** Press a button on a phone page as the browser does: load the page, post its form with the page token. */
export async function pressPage(pageUrl: string, action: string, extra: Record<string, string> = {}): Promise<Response> {
  const html = await (await fetch(pageUrl, { signal: AbortSignal.timeout(15_000) })).text();
  const body = new URLSearchParams({ action, pageToken: pageTokenOf(html) }).toString();
  return fetch(pageUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...extra },
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
  });
}

/** The `authorization` header of a trusted sandbox's control API ({} when the URL is not one). */
export function controlHeaders(base: string): Record<string, string> {
  const t = tokens.get(base.replace(/\/+$/, ''));
  return t === undefined ? {} : { authorization: `Bearer ${t}` };
}

/** `{ deviceToken }` of a sandbox that issues one (no device list): spread into a device transport's options. */
export function deviceAuth(sandbox: Pick<Sandbox, 'deviceToken'>): { deviceToken?: string } {
  return sandbox.deviceToken !== undefined ? { deviceToken: sandbox.deviceToken } : {};
}

/** The typed client of a sandbox's control API (5 s per call), with its token when the sandbox is trusted. */
export function api(base: string): SandboxClient {
  const t = tokens.get(base.replace(/\/+$/, ''));
  return new SandboxClient({ baseUrl: base, timeoutMs: 5000, ...(t !== undefined ? { token: t } : {}) });
}

/** The trade status of a pay call's reply (`ALREADY_OWNED` when the user owned the goods). */
export function tradeStatusOf(reply: PayReply): string {
  return 'tradeStatus' in reply ? reply.tradeStatus : 'ALREADY_OWNED';
}

/** The order a placed purchase got (fails the test when the user already owned the goods). */
export function orderOf(placed: PlaceOrderOutcome): DeviceOrderView {
  if (placed.kind !== 'order') throw new Error(`expected an order, got ${placed.kind}`);
  return placed.order;
}

/**
 * The control API on the wire, untyped: status and body as they came, for
 * the tests of malformed input and refusals (everything else uses `api`).
 */
export async function control(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { ...controlHeaders(base) };
  const init: RequestInit = { method, signal: AbortSignal.timeout(5000), headers };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${base}/sandbox/v1${path}`, init);
  return { status: res.status, json: await res.json() };
}

/** Resolve with `p`, or reject after `ms` (the timer is cleared either way). */
export function within<T>(p: Promise<T>, ms: number, what = 'promise'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}
