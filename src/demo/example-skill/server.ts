/**
 * The audiobook skill backend as one HTTP server, built on the partner kit,
 * orders and entitlements in SQLite:
 *
 *   POST /skill                      custom-skill endpoint (TSK-HMAC-SHA256-BASIC); with
 *                                    `deployment: 'scf'` the SCF wrapped form instead
 *   POST /dingdang/create-order      1 create order        (TSK-RSA2, signed replies)
 *   POST /dingdang/deliver           2 delivery notification
 *   POST /dingdang/refund-notify     6 refund result notification
 *   GET  /audio/<itemId>.wav?t=…     the (tiny, generated) episode audio; paid episodes
 *                                    only through a link signed for the owner, expiring
 *                                    (audio-links.ts, our own extension)
 *   GET  /metrics                    prom-client metrics of the partner kit (404 with a hint
 *                                    when prom-client is not installed; our own extension)
 *
 * The platform's TSKPublicKey may be given at start or later with
 * `configurePlatform` (the sandbox prints it only after it has read this
 * skill's record): until then the three pay routes answer a signed FAIL
 * "platform key not configured" and change nothing.
 *
 * `deployment: 'scf'` runs the custom-skill endpoint the way a Tencent Cloud
 * SCF function is run (SKILL-PROTOCOL §1): `/skill` is a local SCF stand-in
 * that takes the wrapped request `{ header: { Authorization }, body }` as the
 * platform's SCF gateway hands it to the function, calls the skill kit's
 * `createScfHandler` and writes back its wrapped answer `{ header, body }`.
 * How the function is reached locally (a JSON POST) is our own choice, the
 * same one the sandbox makes for `"deployment": "scf"` (docs/sandbox.md).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clampRetMsg, generateTskKeyPair, loadPrivateKey, NonceGuard, publicKeyToBase64, type KeyInput } from '../../protocol/index.js';
import {
  createPartnerHandlers,
  createReconciler,
  DEFAULT_PARTNER_PATHS,
  combineObservers,
  createPromObserver,
  nodeHttpHandler,
  PayClient,
  pinoObserver,
  SqlitePartnerStore,
  type PartnerHandler,
  type PartnerHandlers,
  type PartnerEvent,
  type PartnerObserver,
  type PinoLikeLogger,
  type PromRegistry,
  type Reconciler,
} from '../../partner/index.js';
import { audiobookCatalog, episodeByItemId } from './catalog.js';
import { createNodeHttpHandler, createScfHandler, type ScfEvent } from '../../skill/index.js';
import { readBody, requestUrl } from '../../protocol/http-body.js';
import { httpServerOptions, type HttpLimits } from '../../protocol/http-limits.js';
import { SignedReplyCache } from '../../protocol/reply-cache.js';
import { InvalidArgumentError } from '../../protocol/errors.js';
import { PartnerAccounts } from './accounts.js';
import { AUDIOBOOK_INTENTS, AUDIOBOOK_INVOCATION_NAME, createAudiobookSkill, type AudiobookSlotKind } from './skill.js';
import { checkAudioLink, DEFAULT_AUDIO_LINK_TTL_MS } from './audio-links.js';

/** Exactly the record the sandbox's config takes for a skill, plus `url`. */
export interface SkillRecord {
  url: string;
  skillId: string;
  skillSecret: string;
  skillPublicKey: string;
  skillEndpoint: string;
  createOrderUrl: string;
  deliverUrl: string;
  refundNotifyUrl: string;
  /** "打开有声书" opens the skill (a LaunchRequest). */
  invocationName: string;
  /** The intent design: sample utterances and slot kinds (the album a custom entity of the catalog's titles). */
  utterances: Array<{ intent: string; samples: string[]; slots: Record<string, AudiobookSlotKind> }>;
  /** Present only for an SCF deployment: the sandbox then calls `/skill` in the wrapped form. */
  deployment?: 'scf';
  /** The skill offers account linking (it may answer with a LinkAccount card). */
  accountLinking: true;
  /** The partner's token endpoint for (simulated) account linking: `POST { userId }` → `{ accessToken }`. */
  accountLinkingUrl: string;
}

/** Path of the example's token endpoint (the sandbox's `accountLinkingUrl`, our own extension). */
export const ACCOUNT_LINK_PATH = '/account-link';

/** How the custom-skill endpoint is run: a web service (default) or an SCF function behind a local stand-in. */
export type AudiobookDeployment = 'http' | 'scf';

export interface AudiobookServerOptions {
  port?: number;
  host?: string;
  /** SQLite file; default ':memory:' (nothing survives a restart). */
  dbFile?: string;
  /** The platform's public key; may also be set later with `configurePlatform`. */
  tskPublicKey?: KeyInput;
  /** The platform's pay CGI base URL (the sandbox URL), for order queries. */
  payBaseUrl?: string;
  skillId?: string;
  skillSecret?: string;
  /** Default: a fresh RSA-2048 key pair. */
  skillPrivateKey?: KeyInput;
  /** Told about every delivery (the deliver hook). */
  onDeliver?: (info: { tradeNo: string; userToken: string; itemIds: string[]; attempt: number }) => void;
  log?: (line: string) => void;
  /** `http` (default): `/skill` takes the signed envelope as its body. `scf`: the SCF wrapped form. */
  deployment?: AudiobookDeployment;
  /** Length of every episode's audio, seconds (default 30; 0.2–600). */
  clipSeconds?: number;
  /** Signs the audio links (our own extension, audio-links.ts); default a random one per start (links die with the process). */
  audioSecret?: string;
  /** How long a paid episode's audio link works; default 6 h. */
  audioLinkTtlMs?: number;
  /** Clock of the audio links' expiry (epoch ms); default `Date.now`. */
  audioClock?: () => number;
  /**
   * The reconciler in the background once the platform is configured (orders
   * paid but never notified are delivered, refunds settled; docs/partner.md).
   * Default on: a pass every 30 s over orders older than a minute; `false`
   * turns it off.
   */
  reconcile?: false | { intervalMs?: number; minAgeMs?: number; backoffMs?: number };
  /** HTTP timeouts and head size (defaults: headers 15 s, request 30 s, keep-alive 10 s, 16 KiB). */
  http?: HttpLimits;
  /**
   * Logs and metrics of the partner kit (docs/partner.md "Observability";
   * our own extension). Default `'auto'`: pino JSON lines through `log`
   * (stderr by default) when pino is installed, and a prom-client Registry
   * served at `GET /metrics` when prom-client is installed. `false`: neither
   * (`/metrics` answers 404). Or your own pino logger and Registry (`false`
   * for one of them turns just that off).
   */
  observability?: 'auto' | false | { logger?: PinoLikeLogger | false; registry?: PromRegistry | false };
}

export interface AudiobookServer {
  record: SkillRecord;
  store: SqlitePartnerStore;
  /** Set (or replace) the platform's public key and pay URL. */
  configurePlatform(config: { tskPublicKey?: KeyInput; payBaseUrl?: string }): void;
  readonly platformConfigured: boolean;
  /** The background reconciler (once the platform's key and pay URL are known, unless `reconcile: false`). */
  readonly reconciler: Reconciler | undefined;
  /** The Registry served at `/metrics` (undefined: metrics off, prom-client not installed, or not loaded yet). */
  readonly metrics: PromRegistry | undefined;
  close(): Promise<void>;
}

/** `/metrics` without a Registry: why, in one line. */
export const METRICS_OFF_HINT = 'metrics off: install prom-client (npm install prom-client) and restart to serve /metrics';
export const METRICS_DISABLED_HINT = 'metrics off: started with observability: false';

/** The logger and Registry `observability` asks for; a package that is not installed is left out. */
async function observabilityOf(
  option: AudiobookServerOptions['observability'],
  log: (line: string) => void,
): Promise<{ observer: PartnerObserver | undefined; registry: PromRegistry | undefined }> {
  if (option === false) return { observer: undefined, registry: undefined };
  const own = typeof option === 'object' && option !== null ? option : {};
  // Both packages load side by side.
  const promClient = own.registry === undefined ? import('prom-client').catch(() => undefined) : Promise.resolve(undefined);
  let logger = own.logger;
  if (logger === undefined) {
    // pino is an optional peer: its JSON lines go where the example's other lines go.
    const mod = await import('pino').catch(() => undefined);
    if (mod) logger = mod.pino({ name: 'audiobook' }, { write: (line: string) => log(line.replace(/\n$/, '')) });
  }
  let registry = own.registry;
  let client;
  if (registry === undefined) {
    client = await promClient;
    if (client) registry = new client.Registry();
  }
  const metrics = registry ? await createPromObserver({ registry, ...(client ? { client } : {}) }) : undefined;
  return {
    observer: logger || metrics ? combineObservers(logger ? pinoObserver(logger) : undefined, metrics) : undefined,
    registry: registry || undefined,
  };
}

/** Most events kept while the optional packages load (the first requests of a fresh server). */
const EARLY_EVENTS_MAX = 1000;

/**
 * The observer at once, its adapters once the optional packages have loaded:
 * the server starts without waiting for them, and the events of that moment
 * are kept and told in order when they are ready.
 */
function lateObservability(option: AudiobookServerOptions['observability'], log: (line: string) => void) {
  if (option === false) return { observer: undefined, ready: Promise.resolve({ observer: undefined, registry: undefined }) };
  let early: PartnerEvent[] | undefined = [];
  let target: PartnerObserver | undefined;
  const ready = observabilityOf(option, log)
    .catch((e: unknown) => {
      log(`[audiobook] logs and metrics off: ${(e as Error)?.message ?? String(e)}`);
      return { observer: undefined, registry: undefined };
    })
    .then((o) => {
      target = o.observer;
      const kept = early ?? [];
      early = undefined;
      for (const e of kept) emitTo(target, e);
      return o;
    });
  const observer: PartnerObserver = (e) => {
    if (early) {
      if (early.length < EARLY_EVENTS_MAX) early.push(e);
    } else emitTo(target, e);
  };
  return { observer, ready };
}

function emitTo(observer: PartnerObserver | undefined, e: PartnerEvent): void {
  try {
    observer?.(e);
  } catch {
    /* logs and metrics must not change an answer */
  }
}

/** One second of a quiet 440 Hz tone, 8 kHz 16-bit mono WAV: enough for a player to show "playing". */
/** Length of the generated episode clip by default (seconds). */
export const DEFAULT_CLIP_SECONDS = 30;

/**
 * The episode audio: a generated clip (no network, no files) — a calm
 * pentatonic melody with soft note edges, 8 kHz mono 16-bit WAV, `seconds`
 * long (the demo's "now playing" has something real to show progress over).
 */
export function episodeWav(seconds = DEFAULT_CLIP_SECONDS): Buffer {
  const rate = 8000;
  const n = Math.max(1, Math.round(rate * seconds));
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(n * 2, 40);
  const notes = [392, 440, 523.25, 587.33, 659.25, 587.33, 523.25, 440, 392, 329.63, 392, 440]; // G A C D E …
  const noteLen = Math.round(rate * 0.5);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(i / noteLen);
    const t = (i % noteLen) / noteLen;
    const f = notes[k % notes.length]!;
    const envelope = Math.min(1, t * 12) * Math.min(1, (1 - t) * 6); // soft attack and release
    const fade = Math.min(1, i / (rate * 0.3), (n - i) / (rate * 0.3));
    const v = 2600 * envelope * fade * (Math.sin((2 * Math.PI * f * i) / rate) + 0.25 * Math.sin((4 * Math.PI * f * i) / rate));
    buf.writeInt16LE(Math.round(v), 44 + i * 2);
  }
  return buf;
}

function jsonReply(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(body.length) });
  res.end(body);
}

/**
 * A local SCF stand-in (our own extension; the platform invokes SCF functions
 * internally): POST the wrapped request as JSON, get the function's wrapped
 * answer as JSON with HTTP 200. A POST that is not a JSON object is not an
 * invocation at all: HTTP 400 (the sandbox reports 100405 for it).
 */
function scfStandIn(main: (event: ScfEvent) => Promise<unknown>, maxBodyBytes: number): (req: IncomingMessage, res: ServerResponse) => void {
  // The inner body travels JSON-escaped inside the wrapper: room for the escaping and the header.
  const limit = maxBodyBytes * 2 + 16 * 1024;
  return (req, res) => {
    void (async () => {
      if (req.method !== 'POST') {
        req.resume();
        return jsonReply(res, 405, { error: { code: 'ERR_METHOD', message: 'POST only' } });
      }
      const read = await readBody(req, { limit, timeoutMs: 10_000 });
      if (!read.ok) {
        if (read.reason === 'aborted') return void res.destroy();
        res.setHeader('connection', 'close');
        res.on('finish', () => req.socket.destroy());
        return jsonReply(res, read.reason === 'timeout' ? 408 : 413, { error: { code: 'ERR_SCF_EVENT', message: `SCF event ${read.reason}` } });
      }
      let event: unknown;
      try {
        event = JSON.parse(read.body.toString('utf8'));
      } catch {
        event = undefined;
      }
      if (!event || typeof event !== 'object' || Array.isArray(event))
        return jsonReply(res, 400, { error: { code: 'ERR_SCF_EVENT', message: 'the SCF event is not a JSON object' } });
      jsonReply(res, 200, await main(event));
    })().catch(() => {
      if (!res.headersSent) jsonReply(res, 500, { error: { code: 'ERR_INTERNAL', message: 'the SCF function failed' } });
      else res.destroy();
    });
  };
}

export async function startAudiobookSkill(options: AudiobookServerOptions = {}): Promise<AudiobookServer> {
  if (options.deployment !== undefined && options.deployment !== 'http' && options.deployment !== 'scf')
    throw new InvalidArgumentError(`deployment must be "http" or "scf", got ${JSON.stringify(options.deployment)}`);
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const skillId = options.skillId ?? 'audiobookDemo';
  const skillSecret = options.skillSecret ?? randomBytes(24).toString('hex'); // hex: a secret never starts with '-', which a command line would read as an option;
  const skillPrivateKey = options.skillPrivateKey ? loadPrivateKey(options.skillPrivateKey) : generateTskKeyPair().privateKey;
  const { observer, ready: observability } = lateObservability(options.observability, log);
  let registry: PromRegistry | undefined;
  void observability.then((o) => (registry = o.registry));
  const store = new SqlitePartnerStore({ filename: options.dbFile ?? ':memory:' });
  await store.init();

  let baseUrl = '';
  const nonceGuard = new NonceGuard();
  let handlers: PartnerHandlers | undefined;
  let payClient: PayClient | undefined;
  let reconciler: Reconciler | undefined;
  let tskPublicKey: KeyInput | undefined;
  let payBaseUrl = options.payBaseUrl;

  const configurePlatform = (config: { tskPublicKey?: KeyInput; payBaseUrl?: string }) => {
    if (config.tskPublicKey !== undefined) tskPublicKey = config.tskPublicKey;
    if (config.payBaseUrl !== undefined) payBaseUrl = config.payBaseUrl;
    if (tskPublicKey === undefined) return;
    const next = createPartnerHandlers({
      skillId,
      tskPublicKey,
      skillPrivateKey,
      store,
      nonceGuard,
      catalog: audiobookCatalog,
      // Idempotent by tradeNo: this demo only logs; the entitlement is recorded by the store.
      deliver: ({ order, idempotencyKey, attempt }) => {
        const itemIds = order.details.map((d) => d.itemId);
        log(`[audiobook] deliver ${idempotencyKey} (attempt ${attempt}): ${itemIds.join(',')} → ${order.userToken}`);
        options.onDeliver?.({ tradeNo: idempotencyKey, userToken: order.userToken, itemIds, attempt });
      },
      onError: (e, info) => log(`[audiobook] ${info.kind} refused: ${info.retMsg} (${(e as Error)?.message ?? e})`),
      ...(observer ? { observer } : {}),
    });
    handlers = next;
    payClient = payBaseUrl ? new PayClient({ skillId, skillPrivateKey, tskPublicKey, baseUrl: payBaseUrl, timeoutMs: 3000 }) : undefined;
    // What the notifications did not settle, settled through the pay interfaces (the seed: delivery is not guaranteed).
    void reconciler?.stop();
    reconciler =
      payClient && options.reconcile !== false
        ? createReconciler({
            store,
            pay: payClient,
            handlers: next,
            intervalMs: options.reconcile?.intervalMs ?? 30_000,
            ...(options.reconcile?.minAgeMs !== undefined ? { minAgeMs: options.reconcile.minAgeMs } : {}),
            ...(options.reconcile?.backoffMs !== undefined ? { backoffMs: options.reconcile.backoffMs } : {}),
            ...(observer ? { observer } : {}),
            onError: (e, info) => log(`[audiobook] reconcile ${info.kind}${info.id ? ` ${info.id}` : ''}: ${(e as Error)?.message ?? e}`),
          })
        : undefined;
    reconciler?.start();
  };
  if (options.tskPublicKey !== undefined) configurePlatform({ tskPublicKey: options.tskPublicKey });

  const accounts = new PartnerAccounts();
  const audioSecret = options.audioSecret ?? randomBytes(32).toString('hex');
  const audioClock = options.audioClock ?? Date.now;
  const linkTtl = options.audioLinkTtlMs ?? DEFAULT_AUDIO_LINK_TTL_MS;
  if (typeof linkTtl !== 'number' || !Number.isFinite(linkTtl) || linkTtl < 1000) throw new InvalidArgumentError('audioLinkTtlMs must be at least 1000 ms');
  const skill = createAudiobookSkill({
    accounts,
    skillId,
    skillSecret,
    audioSecret,
    audioLinkTtlMs: linkTtl,
    audioClock,
    store,
    publicUrl: () => baseUrl,
    // The Charge response beat the delivery notification: ask the platform, and deliver a paid order
    // through the same exactly-once path as the notification (it checks the answer against the order).
    confirmPaid: async (tradeNo) => {
      const h = handlers;
      if (!payClient || !h) return false;
      const r = await h.deliverFromOrderQuery(await payClient.orderQuery({ tradeNo }));
      return r.retCode === 'SUCCESS';
    },
  });

  /** Until the platform key is known: a signed FAIL, nothing stored. */
  const notConfiguredReplies = new SignedReplyCache(skillPrivateKey);
  const notConfigured: PartnerHandler = Object.assign(async () => notConfigured.reject('platform key not configured'), {
    maxBodyBytes: 64 * 1024,
    // Signed once per second per retMsg (the same bytes a fresh signature gives; src/protocol/reply-cache.ts).
    reject: (retMsg: string) => {
      const { body, authorization } = notConfiguredReplies.get(JSON.stringify({ retCode: 'FAIL', retMsg: clampRetMsg(retMsg) }));
      return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', authorization, 'content-length': String(body.length) }, body };
    },
  });
  const pay = (pick: (h: PartnerHandlers) => PartnerHandler) => (req: IncomingMessage, res: ServerResponse) =>
    nodeHttpHandler(handlers ? pick(handlers) : notConfigured)(req, res);
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    [DEFAULT_PARTNER_PATHS.createOrder]: pay((h) => h.createOrder),
    [DEFAULT_PARTNER_PATHS.deliver]: pay((h) => h.deliver),
    [DEFAULT_PARTNER_PATHS.refundNotify]: pay((h) => h.refundNotify),
  };
  const clip = options.clipSeconds ?? DEFAULT_CLIP_SECONDS;
  if (typeof clip !== 'number' || !(clip >= 0.2 && clip <= 600)) throw new InvalidArgumentError('clipSeconds must be 0.2–600 seconds');
  const wav = episodeWav(clip);
  const scf = options.deployment === 'scf';
  const skillEndpoint = scf ? scfStandIn(createScfHandler(skill), skill.maxBodyBytes) : createNodeHttpHandler(skill);

  /** Free: its token. Paid: a link signed for its user, unexpired, and the user still owns it (a refund ends it). */
  const serveAudio = async (itemId: string, query: URLSearchParams, res: ServerResponse) => {
    const refuse = (status: number, why: string) => res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(why);
    const ep = episodeByItemId(itemId);
    if (!ep) return refuse(403, 'bad link');
    const link = checkAudioLink(audioSecret, ep.itemId, ep.free, query, audioClock());
    if (!link.ok) return refuse(403, link.reason);
    if (link.user !== undefined) {
      let owns: boolean;
      try {
        owns = await store.ownsItem(skillId, link.user, ep.itemId);
      } catch {
        return refuse(503, 'try again');
      }
      if (!owns) return refuse(403, 'not owned');
    }
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': String(wav.length) }).end(wav);
  };

  const server = createServer(httpServerOptions(options.http), (req, res) => {
    const url = requestUrl(req, 'http://x');
    if (!url) return void res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request target');
    const route = routes[url.pathname];
    if (route) return route(req, res);
    if (url.pathname === '/skill') return skillEndpoint(req, res);
    if (url.pathname === ACCOUNT_LINK_PATH) return void linkToken(accounts, req, res);
    const audio = /^\/audio\/([a-z]+\d{3})\.wav$/.exec(url.pathname);
    if (audio && req.method === 'GET') return void serveAudio(audio[1]!, url.searchParams, res);
    if (url.pathname === '/metrics' && req.method === 'GET')
      return void observability.then((o) => serveMetrics(o.registry, options.observability === false, res));
    if (url.pathname === '/' && req.method === 'GET') {
      const body = JSON.stringify({ skill: 'audiobook', skillId, platformConfigured: handlers !== undefined });
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }
    res.writeHead(404).end();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  baseUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`;

  const record: SkillRecord = {
    url: baseUrl,
    skillId,
    skillSecret,
    skillPublicKey: publicKeyToBase64(skillPrivateKey),
    skillEndpoint: `${baseUrl}/skill`,
    createOrderUrl: `${baseUrl}${DEFAULT_PARTNER_PATHS.createOrder}`,
    deliverUrl: `${baseUrl}${DEFAULT_PARTNER_PATHS.deliver}`,
    refundNotifyUrl: `${baseUrl}${DEFAULT_PARTNER_PATHS.refundNotify}`,
    invocationName: AUDIOBOOK_INVOCATION_NAME,
    utterances: AUDIOBOOK_INTENTS.map((i) => ({ intent: i.intent, samples: [...i.samples], slots: { ...i.slots } })),
    accountLinking: true,
    accountLinkingUrl: `${baseUrl}${ACCOUNT_LINK_PATH}`,
    ...(scf ? { deployment: 'scf' as const } : {}),
  };

  return {
    record,
    store,
    configurePlatform,
    get platformConfigured() {
      return handlers !== undefined;
    },
    get reconciler() {
      return reconciler;
    },
    get metrics() {
      return registry;
    },
    async close() {
      await observability;
      await reconciler?.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
    },
  };
}

/**
 * The token endpoint the platform calls when a user links their account
 * (`accountLinkingUrl`: `POST { userId }` → `{ accessToken }`; our own
 * extension of the sandbox, unsigned as the sandbox sends it). A real
 * partner runs its OAuth flow here and authenticates the caller.
 */
async function linkToken(accounts: PartnerAccounts, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (req.method !== 'POST') return void json(405, { error: 'POST { userId }' });
  const r = await readBody(req, { limit: 4096, timeoutMs: 5000 });
  if (!r.ok) return void json(400, { error: `body ${r.reason}` });
  let userId: unknown;
  try {
    userId = (JSON.parse(r.body.toString('utf8')) as { userId?: unknown } | null)?.userId;
  } catch {
    return void json(400, { error: 'body is not JSON { userId }' });
  }
  if (typeof userId !== 'string' || userId === '' || userId.length > 256) return void json(400, { error: 'userId must be a string of 1-256 characters' });
  json(200, { accessToken: accounts.issueToken(userId) });
}

/** `GET /metrics`: the Registry in prom-client's text format, or 404 with a one-line hint. */
async function serveMetrics(registry: PromRegistry | undefined, disabled: boolean, res: ServerResponse): Promise<void> {
  if (!registry)
    return void res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end((disabled ? METRICS_DISABLED_HINT : METRICS_OFF_HINT) + '\n');
  try {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(body);
  } catch {
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics failed\n');
  }
}
