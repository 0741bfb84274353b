/**
 * The control API for scripts and tests: `/sandbox/v1/...`, JSON, CORS open.
 * Every JSON route is typed against `ControlRoutes` (control-types.ts), the
 * table the typed client reads. See docs/sandbox.md.
 */
import { InvalidArgumentError } from '../protocol/errors.js';
import type { ControlReply, ControlRoute, IntentRequestBody, StartPurchaseRequest, TurnFields } from './control-types.js';
import { SANDBOX_EVENT_NAMES } from './control-types.js';
import { SandboxStateError } from './errors.js';
import { tradeStatusDesc, type DingDangOrder } from './order-book.js';
import type { Platform } from './platform.js';
import { DEFAULT_USER_ID, PAY_OUTCOMES, type PayOutcome } from './purchase-book.js';
import { sendJson, type RouteContext, type Router } from './router.js';

/** What the control API needs from the sandbox beyond the platform. */
export interface ControlApiHost {
  readonly platform: Platform;
  readonly url: string;
  readonly tskPublicKey: string;
  /** `POST /faults {"dropSocket": true}`: kill every device socket; how many were dropped. */
  dropSockets(): number;
}

export const orderJson = (o: DingDangOrder) => ({ ...o, tradeStatusDesc: tradeStatusDesc(o) });

function outcomeOf(v: unknown): PayOutcome {
  if (!PAY_OUTCOMES.includes(v as PayOutcome)) throw new InvalidArgumentError(`outcome must be one of ${PAY_OUTCOMES.join(', ')}`);
  return v as PayOutcome;
}

function str(v: unknown, name: string, required = false): string | undefined {
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v === '') throw new InvalidArgumentError(`${name} must be a non-empty string`);
  return v;
}

/** The optional who/where fields of a turn (`mode` checked). */
function turnFields(
  b: Record<string, unknown>,
  keys: ReadonlyArray<'skillId' | 'userId' | 'accessToken' | 'deviceId' | 'purchaseId'>,
): TurnFields & { purchaseId?: string } {
  const out: TurnFields & { purchaseId?: string } = {};
  for (const k of keys) {
    const v = str(b[k], k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

const TURN_KEYS = ['skillId', 'userId', 'accessToken', 'deviceId'] as const;

function modeOf(v: unknown): TurnFields['mode'] {
  if (v === undefined) return undefined;
  if (v === 'screen' || v === 'screenless') return v;
  throw new InvalidArgumentError('mode must be screen or screenless');
}

function withMode<T extends TurnFields>(input: T, mode: unknown): T {
  const m = modeOf(mode);
  if (m !== undefined) input.mode = m;
  return input;
}

/** Install the control API's routes on `router`. */
export function installControlApi(router: Router, host: ControlApiHost): void {
  const p = host.platform;
  /** A JSON route: the handler's result is the reply (200), checked against `ControlRoutes`. */
  const api = <R extends ControlRoute>(
    route: R,
    handler: (ctx: RouteContext, body: () => Promise<Record<string, unknown>>) => ControlReply<R> | Promise<ControlReply<R>>,
  ) => {
    const [method, path] = route.split(' ') as [string, string];
    router.route(method, new RegExp(`^/sandbox/v1${path.replace(/:[a-zA-Z]+/g, '([^/]+)')}$`), async (ctx) => {
      sendJson(ctx.res, 200, await handler(ctx, ctx.json));
    });
  };
  const order = (id: string) => {
    const o = p.book.get(id);
    if (!o) throw new SandboxStateError('UNKNOWN_ORDER', 'order not found');
    return o;
  };
  const pay = async (target: string, json: () => Promise<Record<string, unknown>>): Promise<ControlReply<'POST /orders/:id/pay'>> => {
    const o = await p.pay(target, outcomeOf((await json()).outcome));
    if (o) return orderJson(o);
    return p.purchase(target)?.state === 'cancelled' ? { purchaseId: target, cancelled: true } : { alreadyOwned: true };
  };

  api('GET /info', () => ({
    url: host.url,
    tskPublicKey: host.tskPublicKey,
    timeScale: p.scheduler.timeScale,
    retryScheduleMs: p.notifier.schedule,
    skills: p.skillList().map((s) => ({
      skillId: s.skillId,
      name: s.name,
      utterances: s.utterances,
      ...(s.invocationName !== undefined ? { invocationName: s.invocationName } : {}),
      accountLinking: s.accountLinking,
      ...(s.accountLinkingUrl !== undefined ? { accountLinkingUrl: s.accountLinkingUrl } : {}),
      deviceMaker: s.deviceMaker,
      responseTimeoutMs: s.responseTimeoutMs,
      strictSchema: s.strictSchema,
      deployment: s.deployment,
    })),
  }));
  api('GET /orders', () => ({ orders: p.book.list().map(orderJson) }));
  api('GET /orders/:id', ({ params }) => orderJson(order(params[0]!)));
  api('POST /orders/:id/pay', ({ params }, json) => pay(params[0]!, json));
  api('POST /orders/:id/expire', ({ params }) => orderJson(p.book.expire(params[0]!)));
  api('POST /orders/:id/notify', async ({ params }) => {
    const o = order(params[0]!);
    if (o.tradeStatus !== 'SUCCESS') throw new SandboxStateError('NOT_PAID', 'only a paid order is delivered');
    const reply = await p.notifier.duplicate(p.skill(o.skillId)!, o);
    return { reply: reply ?? null };
  });
  api('GET /refunds', () => ({ refunds: p.book.listRefunds() }));
  api('GET /notifications', () => ({ notifications: p.notifier.list() }));
  api('GET /calls', () => ({ calls: p.callLog() }));
  api('GET /inbound', () => ({ inbound: p.inboundLog() }));
  api('GET /sessions', () => ({ sessions: p.sessionList() }));
  api('GET /faults', () => p.faults.current);
  api('POST /faults', async (_ctx, json) => {
    const { dropSocket, ...settings } = await json();
    if (dropSocket !== undefined && dropSocket !== true) throw new InvalidArgumentError('dropSocket must be true');
    const state = p.faults.set(settings);
    return dropSocket === true ? { ...state, dropped: host.dropSockets() } : state;
  });
  api('DELETE /faults', () => p.faults.reset());
  api('POST /say', async (_ctx, json) => {
    const b = await json();
    return p.say(withMode({ text: str(b.text, 'text', true)!, ...turnFields(b, TURN_KEYS) }, b.mode));
  });
  api('POST /intent', async (_ctx, json) => {
    const b = await json();
    const input: IntentRequestBody = withMode({ intent: str(b.intent, 'intent', true)!, ...turnFields(b, TURN_KEYS) }, b.mode);
    if (b.slots !== undefined) {
      if (typeof b.slots !== 'object' || b.slots === null || Array.isArray(b.slots)) throw new InvalidArgumentError('slots must be an object');
      input.slots = b.slots as Record<string, string>;
    }
    const query = str(b.query, 'query');
    if (query !== undefined) input.query = query;
    return p.intent(input);
  });
  // Display.ElementSelected: the user picked an element on the screen / the player reached a paid item.
  api('POST /select', async (_ctx, json) => {
    const b = await json();
    return p.select(withMode({ token: str(b.token, 'token', true)!, ...turnFields(b, TURN_KEYS) }, b.mode));
  });
  // Simulated account linking (our own extension, docs/sandbox.md "Account linking").
  api('POST /link', async (_ctx, json) => {
    const b = await json();
    return p.link(str(b.skillId, 'skillId'), str(b.userId, 'userId') ?? DEFAULT_USER_ID);
  });
  api('POST /unlink', async (_ctx, json) => {
    const b = await json();
    const skillId = p.mustSkill(str(b.skillId, 'skillId')).skillId;
    const userId = str(b.userId, 'userId') ?? DEFAULT_USER_ID;
    return { skillId, userId, unlinked: p.unlink(skillId, userId) };
  });
  api('GET /links', () => ({ links: p.links.list() }));
  api('GET /purchases', () => ({ purchases: p.purchaseList() }));
  api('POST /purchases', async (_ctx, json) => {
    const b = await json();
    const input: StartPurchaseRequest = { mode: b.mode as 'screen', charge: b.charge as StartPurchaseRequest['charge'], originalRequest: b.originalRequest };
    Object.assign(input, turnFields(b, ['purchaseId', ...TURN_KEYS]));
    return p.startPurchase(input);
  });
  api('GET /purchases/:id', ({ params }) => {
    const pu = p.purchase(params[0]!);
    if (!pu) throw new SandboxStateError('UNKNOWN_PURCHASE', 'purchase not found');
    return { ...pu, status: p.status(pu.purchaseId) };
  });
  api('POST /purchases/:id/order', ({ params }) => p.placeOrder(params[0]!));
  api('POST /purchases/:id/refresh', ({ params }) => p.refreshOrder(params[0]!));
  api('GET /purchases/:id/status', ({ params }) => p.status(params[0]!));
  api('POST /purchases/:id/cancel', ({ params }) => {
    p.cancel(params[0]!);
    return p.status(params[0]!);
  });
  api('POST /purchases/:id/pay', ({ params }, json) => pay(params[0]!, json));
  api('POST /purchases/:id/resume', ({ params }) => p.resume(params[0]!));

  // Server-Sent Events: every status change, purchase, outbound call (skill calls with their return code),
  // failed skill call and pay-CGI request, live.
  router.route('GET', /^\/sandbox\/v1\/events$/, ({ req, res }) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': dingdang-pay sandbox events\n\n');
    const handlers = SANDBOX_EVENT_NAMES.map((event) => [event, (data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)] as const);
    for (const [e, h] of handlers) p.on(e, h);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    req.on('close', () => {
      clearInterval(keepAlive);
      for (const [e, h] of handlers) p.off(e, h);
    });
  });
}
