/**
 * The pages a person opens: the phone's payment page (`/pay/:transactionId`,
 * what WeChat shows after scanning the QR code, with its QR code image), the
 * DingDang app page of a screenless purchase (`/app/:purchaseId`), the
 * account linking page (`/link/:skillId?userId=…`, simulated), and the
 * dashboard (`GET /` in a browser; JSON otherwise). The HTML is pages.ts.
 *
 * Every form post must come from its own page (safety.ts, our own
 * extension): a same-origin check and the page's hidden `pageToken`; a
 * cross-site post is refused 403 before anything changes. The dashboard
 * needs the control token: `GET /?token=<token>` sets it as an HttpOnly,
 * SameSite=Strict cookie and redirects to `/`.
 */
import QRCode from 'qrcode';
import { InvalidArgumentError } from '../protocol/errors.js';
import type { SandboxRoot } from './control-types.js';
import { SandboxStateError } from './errors.js';
import { tradeStatusDesc } from './order-book.js';
import { appPage, dashboardLockedPage, dashboardPage, linkPage, notFoundPage, payPage } from './pages.js';
import type { Platform } from './platform.js';
import { DEFAULT_USER_ID, type PayOutcome } from './purchase-book.js';
import { sendHtml, sendJson, sendRefusal, type RouteContext, type Router } from './router.js';
import { PAGE_TOKEN_FIELD, type Safety } from './safety.js';
import { orderJson } from './control-api.js';

export interface PhonePagesHost {
  readonly platform: Platform;
  readonly url: string;
  readonly tskPublicKey: string;
}

/** The button pressed on a page (`action=success|fail|cancel`, form-encoded). */
function formAction(params: URLSearchParams): PayOutcome {
  const action = params.get('action');
  if (action !== 'success' && action !== 'fail' && action !== 'cancel') throw new InvalidArgumentError('action must be success, fail or cancel');
  return action;
}

export function installPhonePages(router: Router, host: PhonePagesHost, safety: Safety): void {
  const p = host.platform;
  /**
   * The form of a page's post, when it came from that page (same origin, the
   * page's token); undefined after answering 403 (nothing changed).
   */
  const fromPage = async ({ req, res, body }: RouteContext, kind: string, id: string): Promise<URLSearchParams | undefined> => {
    if (!safety.sameOriginPost(req)) return void sendRefusal(res, safety.refuse('CROSS_SITE'));
    const form = new URLSearchParams((await body()).toString('utf8'));
    if (!safety.pageTokenOk(kind, id, form.get(PAGE_TOKEN_FIELD))) return void sendRefusal(res, safety.refuse('PAGE_TOKEN'));
    return form;
  };
  router.route('GET', /^\/pay\/([^/]+)$/, ({ res, params, url }) => {
    const o = p.book.get(params[0]!);
    if (!o) return sendHtml(res, 404, notFoundPage(`order ${params[0]}`));
    const pu = o.purchaseId !== undefined ? p.purchase(o.purchaseId) : undefined;
    sendHtml(res, 200, payPage(o, p.skill(o.skillId)?.name ?? o.skillId, url.searchParams.get('m') ?? undefined, pu, safety.pageToken('pay', o.transactionId)));
  });
  // The pay / app pages' status poll (our own; the same order JSON as the control API's, for whoever has the page).
  router.route('GET', /^\/pay\/([^/]+)\/status$/, ({ res, params }) => {
    const o = p.book.get(params[0]!);
    if (!o) throw new SandboxStateError('UNKNOWN_ORDER', 'order not found');
    sendJson(res, 200, orderJson(o));
  });
  router.route('GET', /^\/pay\/([^/]+)\/qr\.svg$/, async ({ res, params }) => {
    const o = p.book.get(params[0]!);
    if (!o) throw new SandboxStateError('UNKNOWN_ORDER', 'order not found');
    const svg = await QRCode.toString(o.payUrl, { type: 'svg', margin: 1 });
    res.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' });
    res.end(svg);
  });
  router.route('POST', /^\/pay\/([^/]+)$/, async (ctx) => {
    const { res, params } = ctx;
    const tid = params[0]!;
    const form = await fromPage(ctx, 'pay', tid);
    if (!form) return;
    let message: string;
    try {
      const o = await p.pay(tid, formAction(form));
      message = o ? tradeStatusDesc(o) : '';
    } catch (e) {
      if (e instanceof SandboxStateError && e.reason === 'UNKNOWN_ORDER') return sendHtml(res, 404, notFoundPage(`order ${tid}`));
      message = e instanceof Error ? e.message : 'error';
    }
    res.writeHead(303, { location: `/pay/${encodeURIComponent(tid)}?m=${encodeURIComponent(message)}` });
    res.end();
  });
  router.route('GET', /^\/app\/([^/]+)$/, ({ res, params, url }) => {
    const pu = p.purchase(params[0]!);
    if (!pu) return sendHtml(res, 404, notFoundPage(`purchase ${params[0]}`));
    sendHtml(
      res,
      200,
      appPage(pu, pu.transactionId ? p.book.get(pu.transactionId) : undefined, url.searchParams.get('m') ?? undefined, safety.pageToken('app', pu.purchaseId)),
    );
  });
  router.route('POST', /^\/app\/([^/]+)$/, async (ctx) => {
    const { res, params } = ctx;
    const id = params[0]!;
    if (!p.purchase(id)) return sendHtml(res, 404, notFoundPage(`purchase ${id}`));
    const form = await fromPage(ctx, 'app', id);
    if (!form) return;
    let message: string;
    try {
      const action = formAction(form);
      if (action === 'cancel') {
        p.cancel(id);
        message = '已取消';
      } else {
        const o = await p.pay(id, action);
        message = o ? tradeStatusDesc(o) : '已拥有';
      }
    } catch (e) {
      message = e instanceof Error ? e.message : 'error';
    }
    res.writeHead(303, { location: `/app/${encodeURIComponent(id)}?m=${encodeURIComponent(message)}` });
    res.end();
  });
  // Simulated account linking (our own extension, docs/sandbox.md "Account linking").
  const linkUser = (url: URL) => {
    const u = url.searchParams.get('userId');
    if (u !== null && (u === '' || u.length > 256)) throw new InvalidArgumentError('userId must be a non-empty string of at most 256 characters');
    return u ?? DEFAULT_USER_ID;
  };
  router.route('GET', /^\/link\/([^/]+)$/, ({ res, params, url }) => {
    const skill = p.skill(params[0]!);
    if (!skill || !skill.accountLinking) return sendHtml(res, 404, notFoundPage(`account linking of skill ${params[0]}`));
    const userId = linkUser(url);
    const linked = p.links.get(skill.skillId, userId) !== undefined;
    sendHtml(
      res,
      200,
      linkPage(skill.skillId, skill.name, userId, linked, url.searchParams.get('m') ?? undefined, safety.pageToken('link', `${skill.skillId}\n${userId}`)),
    );
  });
  router.route('POST', /^\/link\/([^/]+)$/, async (ctx) => {
    const { res, params, url } = ctx;
    const skill = p.skill(params[0]!);
    if (!skill || !skill.accountLinking) return sendHtml(res, 404, notFoundPage(`account linking of skill ${params[0]}`));
    const userId = linkUser(url);
    const form = await fromPage(ctx, 'link', `${skill.skillId}\n${userId}`);
    if (!form) return;
    const action = form.get('action');
    if (action !== 'link' && action !== 'unlink') throw new InvalidArgumentError('action must be link or unlink');
    let message: string;
    try {
      if (action === 'link') {
        await p.link(skill.skillId, userId);
        message = '已关联';
      } else message = p.unlink(skill.skillId, userId) ? '已解除关联' : '未关联';
    } catch (e) {
      message = e instanceof Error ? e.message : 'error';
    }
    res.writeHead(303, { location: `/link/${encodeURIComponent(skill.skillId)}?userId=${encodeURIComponent(userId)}&m=${encodeURIComponent(message)}` });
    res.end();
  });
  router.route('GET', /^\/$/, ({ req, res, url }) => {
    const token = url.searchParams.get('token');
    if (token !== null) {
      // The printed dashboard URL: the token becomes an HttpOnly, SameSite=Strict cookie (no script reads it, no other site sends it).
      if (!safety.tokenMatches(token)) return sendHtml(res, 401, dashboardLockedPage());
      res.writeHead(303, { location: '/', 'set-cookie': safety.cookieHeader(), 'cache-control': 'no-store' });
      return void res.end();
    }
    if (!/text\/html/.test(req.headers.accept ?? '')) {
      const root: SandboxRoot = { name: 'dingdang-pay sandbox', url: host.url, tskPublicKey: host.tskPublicKey, docs: 'docs/sandbox.md' };
      return sendJson(res, 200, root);
    }
    if (safety.checkToken(req)) return sendHtml(res, 401, dashboardLockedPage());
    const orders = new Map(p.book.list().map((o) => [o.transactionId, o]));
    const skillCalls = p.callLog().filter((c) => c.kind === 'skill');
    sendHtml(res, 200, dashboardPage(host.url, host.tskPublicKey, p.purchaseList(), orders, p.faults.current, skillCalls));
  });
}
