/**
 * The pages a person opens: the phone's payment page (`/pay/:transactionId`,
 * what WeChat shows after scanning the QR code, with its QR code image), the
 * DingDang app page of a screenless purchase (`/app/:purchaseId`), the
 * account linking page (`/link/:skillId?userId=…`, simulated), and the
 * dashboard (`GET /` in a browser; JSON otherwise). The HTML is pages.ts.
 */
import QRCode from 'qrcode';
import { InvalidArgumentError } from '../protocol/errors.js';
import type { SandboxRoot } from './control-types.js';
import { SandboxStateError } from './errors.js';
import { tradeStatusDesc } from './order-book.js';
import { appPage, dashboardPage, linkPage, notFoundPage, payPage } from './pages.js';
import type { Platform } from './platform.js';
import { DEFAULT_USER_ID, type PayOutcome } from './purchase-book.js';
import { sendHtml, sendJson, type Router } from './router.js';

export interface PhonePagesHost {
  readonly platform: Platform;
  readonly url: string;
  readonly tskPublicKey: string;
}

/** The button pressed on a page (`action=success|fail|cancel`, form-encoded). */
async function formAction(body: () => Promise<Buffer>): Promise<PayOutcome> {
  const params = new URLSearchParams((await body()).toString('utf8'));
  const action = params.get('action');
  if (action !== 'success' && action !== 'fail' && action !== 'cancel') throw new InvalidArgumentError('action must be success, fail or cancel');
  return action;
}

export function installPhonePages(router: Router, host: PhonePagesHost): void {
  const p = host.platform;
  router.route('GET', /^\/pay\/([^/]+)$/, ({ res, params, url }) => {
    const o = p.book.get(params[0]!);
    if (!o) return sendHtml(res, 404, notFoundPage(`order ${params[0]}`));
    const pu = o.purchaseId !== undefined ? p.purchase(o.purchaseId) : undefined;
    sendHtml(res, 200, payPage(o, p.skill(o.skillId)?.name ?? o.skillId, url.searchParams.get('m') ?? undefined, pu));
  });
  router.route('GET', /^\/pay\/([^/]+)\/qr\.svg$/, async ({ res, params }) => {
    const o = p.book.get(params[0]!);
    if (!o) throw new SandboxStateError('UNKNOWN_ORDER', 'order not found');
    const svg = await QRCode.toString(o.payUrl, { type: 'svg', margin: 1 });
    res.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' });
    res.end(svg);
  });
  router.route('POST', /^\/pay\/([^/]+)$/, async ({ res, params, body }) => {
    const tid = params[0]!;
    let message: string;
    try {
      const o = await p.pay(tid, await formAction(body));
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
    sendHtml(res, 200, appPage(pu, pu.transactionId ? p.book.get(pu.transactionId) : undefined, url.searchParams.get('m') ?? undefined));
  });
  router.route('POST', /^\/app\/([^/]+)$/, async ({ res, params, body }) => {
    const id = params[0]!;
    if (!p.purchase(id)) return sendHtml(res, 404, notFoundPage(`purchase ${id}`));
    let message: string;
    try {
      const action = await formAction(body);
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
    sendHtml(res, 200, linkPage(skill.skillId, skill.name, userId, p.links.get(skill.skillId, userId) !== undefined, url.searchParams.get('m') ?? undefined));
  });
  router.route('POST', /^\/link\/([^/]+)$/, async ({ res, params, url, body }) => {
    const skill = p.skill(params[0]!);
    if (!skill || !skill.accountLinking) return sendHtml(res, 404, notFoundPage(`account linking of skill ${params[0]}`));
    const userId = linkUser(url);
    const action = new URLSearchParams((await body()).toString('utf8')).get('action');
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
  router.route('GET', /^\/$/, ({ req, res }) => {
    if (!/text\/html/.test(req.headers.accept ?? '')) {
      const root: SandboxRoot = { name: 'dingdang-pay sandbox', url: host.url, tskPublicKey: host.tskPublicKey, docs: 'docs/sandbox.md' };
      return sendJson(res, 200, root);
    }
    const orders = new Map(p.book.list().map((o) => [o.transactionId, o]));
    const skillCalls = p.callLog().filter((c) => c.kind === 'skill');
    sendHtml(res, 200, dashboardPage(host.url, host.tskPublicKey, p.purchaseList(), orders, p.faults.current, skillCalls));
  });
}
