/**
 * Plain-HTML pages of the sandbox: the phone's payment page (what WeChat
 * shows after scanning the QR code) and the DingDang app page of a
 * screenless purchase. No framework; a few lines of inline script keep the
 * status and the countdown fresh.
 */
import { formatFen } from '../protocol/money.js';
import type { DingDangOrder } from './order-book.js';
import { tradeStatusDesc } from './order-book.js';
import type { Purchase } from './purchase-book.js';
import type { CallRecord } from './outbound.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:420px;margin:0 auto;padding:16px;background:#f4f5f7}
.card{background:#fff;border-radius:12px;padding:16px;margin-bottom:12px;box-shadow:0 1px 3px #0002}
h1{font-size:20px}.amt{font-size:32px;font-weight:700;margin:8px 0}
button{width:100%;padding:14px;margin-top:10px;font-size:17px;border:0;border-radius:8px;cursor:pointer}
.pay{background:#07c160;color:#fff}.fail{background:#fa5151;color:#fff}.cancel{background:#ddd}
.muted{color:#888;font-size:13px}li{margin:4px 0}.code{color:#fa5151}.ok{color:#07c160}
.row{display:flex;gap:8px}.row button{flex:1;padding:10px;font-size:15px}`;

function page(title: string, body: string, script = ''): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}${script ? `<script>${script}</script>` : ''}</body></html>`;
}

/** The per-page token's hidden field (safety.ts): the form post proves it came from this page. */
function pageTokenField(token: string): string {
  return `<input type="hidden" name="pageToken" value="${escapeHtml(token)}">`;
}

function lines(order: { details: Array<{ itemId: string; quantity: number; amount: number }> }): string {
  return order.details.map((d) => `<li>${escapeHtml(d.itemId)} × ${d.quantity} — ${formatFen(d.amount)}</li>`).join('');
}

const POLL = (statusUrl: string) => `
var s=document.getElementById('status'),c=document.getElementById('countdown'),exp=Number(c&&c.dataset.expires);
function tick(){if(!c)return;if(s&&s.dataset.status!=='NOTPAY'){c.style.display='none';return;}var left=Math.max(0,Math.ceil((exp-Date.now())/1000));c.textContent=left>0?('剩余 '+String(Math.floor(left/60)).padStart(2,'0')+':'+String(left%60).padStart(2,'0')):'已过期';}
setInterval(tick,1000);tick();
setInterval(function(){fetch(${JSON.stringify(statusUrl)}).then(function(r){return r.json()}).then(function(o){
 if(o&&o.tradeStatus){s.textContent=o.tradeStatusDesc||o.tradeStatus;s.dataset.status=o.tradeStatus;if(o.expiresAt){exp=o.expiresAt;}}
 var f=document.getElementById('actions');if(f&&o&&o.tradeStatus!=='NOTPAY')f.style.display='none';}).catch(function(){})},1000);`;

/** WeChat's payment page for a scanned QR code. Item names come from the purchase's Charge when known. */
export function payPage(order: DingDangOrder, skillName: string, message: string | undefined, purchase: Purchase | undefined, pageToken: string): string {
  const open = order.tradeStatus === 'NOTPAY' && !order.expired;
  const info = purchase?.charge.payload.chargeInfo;
  const items = info ? info.items.map((i) => `<li>${escapeHtml(i.itemName)} × ${i.count} — ${formatFen(i.totalFee)}</li>`).join('') : lines(order);
  const actions = open
    ? `<form id="actions" method="post" action="/pay/${encodeURIComponent(order.transactionId)}">${pageTokenField(pageToken)}
<button class="pay" name="action" value="success" id="pay-success">扫码支付 · Scan &amp; pay</button>
<div class="row"><button class="cancel" name="action" value="cancel" id="pay-cancel">取消 · Cancel</button>
<button class="fail" name="action" value="fail" id="pay-fail">支付失败 · Fail</button></div></form>`
    : '';
  return page(
    `支付 ${order.transactionId}`,
    `<div class="card"><div class="muted">微信支付 (sandbox) · ${escapeHtml(skillName)}</div>
${info ? `<h1>${escapeHtml(info.name)}</h1>` : ''}<div class="amt" id="amount">${formatFen(order.totalAmt)}</div>
<div>状态 Status: <b id="status" data-status="${order.tradeStatus}">${escapeHtml(tradeStatusDesc(order))}</b></div>
<div id="countdown" class="muted" data-expires="${order.expiresAt}"${open ? '' : ' style="display:none"'}></div>
${message && message !== tradeStatusDesc(order) ? `<p id="message">${escapeHtml(message)}</p>` : ''}${actions}<ul>${items}</ul>
<div class="muted">订单 ${escapeHtml(order.transactionId)} · 商户单号 ${escapeHtml(order.tradeNo)}</div></div>`,
    POLL(`/pay/${encodeURIComponent(order.transactionId)}/status`),
  );
}

/** The DingDang app page of a screenless purchase: goods, then order & pay. */
export function appPage(purchase: Purchase, order: DingDangOrder | undefined, message: string | undefined, pageToken: string): string {
  const info = purchase.charge.payload.chargeInfo;
  const items = info.items.map((i) => `<li>${escapeHtml(i.itemName)} × ${i.count} — ${formatFen(i.totalFee)}</li>`).join('');
  const total = info.items.reduce((s, i) => s + i.totalFee, 0);
  const open = purchase.state === 'goods' || (order !== undefined && order.tradeStatus === 'NOTPAY' && !order.expired);
  const actions = open
    ? `<form id="actions" method="post" action="/app/${encodeURIComponent(purchase.purchaseId)}">${pageTokenField(pageToken)}
<button class="pay" name="action" value="success" id="app-pay">下单并支付 · Order &amp; pay</button>
<div class="row"><button class="cancel" name="action" value="cancel" id="app-cancel">取消 · Cancel</button>
<button class="fail" name="action" value="fail" id="app-fail">支付失败 · Fail</button></div></form>`
    : '';
  const status = order ? tradeStatusDesc(order) : purchase.state === 'already-owned' ? '已拥有' : purchase.state === 'cancelled' ? '已取消' : '待下单';
  return page(
    `叮当 · ${info.name}`,
    `<div class="card"><div class="muted">叮当APP (sandbox)</div><h1>${escapeHtml(info.name)}</h1>
${info.description ? `<p>${escapeHtml(info.description)}</p>` : ''}<div class="amt">${formatFen(total)}</div>
<div>状态 Status: <b id="status" data-status="${order?.tradeStatus ?? purchase.state}">${escapeHtml(status)}</b></div>
<div id="countdown" class="muted" data-expires="${order?.expiresAt ?? ''}"></div>
${message ? `<p id="message">${escapeHtml(message)}</p>` : ''}${actions}<ul>${items}</ul></div>`,
    order ? POLL(`/pay/${encodeURIComponent(order.transactionId)}/status`) : '',
  );
}

/**
 * `/link/<skillId>?userId=…`: simulated account linking (our own extension;
 * on the platform the user links in the DingDang app): "关联账号" with the
 * skill's name, a button to link (again: a fresh token) and, when linked, one
 * to unlink.
 */
export function linkPage(skillId: string, skillName: string, userId: string, linked: boolean, message: string | undefined, pageToken: string): string {
  const action = `/link/${encodeURIComponent(skillId)}?userId=${encodeURIComponent(userId)}`;
  return page(
    `关联账号 · ${skillName}`,
    `<div class="card"><div class="muted">叮当APP (sandbox)</div><h1>关联账号</h1>
<p>将你的叮当账号与 <b id="skill-name">${escapeHtml(skillName)}</b> 的账号关联。</p>
<div class="muted">userId: ${escapeHtml(userId)}</div>
<div>状态 Status: <b id="status" data-linked="${linked}">${linked ? '已关联' : '未关联'}</b></div>
${message ? `<p id="message">${escapeHtml(message)}</p>` : ''}</div>
<form id="actions" method="post" action="${escapeHtml(action)}">${pageTokenField(pageToken)}
<button class="pay" name="action" value="link" id="link">${linked ? '重新关联 · Link again' : '关联账号 · Link account'}</button>
${linked ? '<button class="cancel" name="action" value="unlink" id="unlink">解除关联 · Unlink</button>' : ''}</form>`,
  );
}

/** `GET /` in a browser without the dashboard cookie: where the token comes from. */
export function dashboardLockedPage(): string {
  return page(
    'dingdang-pay sandbox',
    `<div class="card"><h1>dingdang-pay sandbox</h1><p id="locked">The dashboard needs this run's token: open the dashboard URL the sandbox printed
(<code>dashboardUrl</code> in its ready line, <code>/?token=…</code>). docs/sandbox.md "Safety on a developer's machine".</p></div>`,
  );
}

export function notFoundPage(what: string): string {
  return page('not found', `<div class="card"><h1>未找到</h1><p>${escapeHtml(what)}</p></div>`);
}

/** `GET /` in a browser: purchases with links to their pages, refreshed every 2 s. */
export function dashboardPage(
  url: string,
  tskPublicKey: string,
  purchases: Purchase[],
  orders: Map<string, DingDangOrder>,
  faults: object,
  skillCalls: CallRecord[] = [],
): string {
  const calls = skillCalls
    .slice(-100)
    .reverse()
    .map((c) => {
      const verdict =
        c.outcome === 'ok'
          ? '<span class="ok">ok</span>'
          : `<b class="code" data-code="${c.code ?? ''}">${escapeHtml(String(c.code ?? 'error'))}</b> ${escapeHtml(c.reason ?? c.error ?? '')}`;
      const when = new Date(c.at).toISOString().slice(11, 23);
      return `<li data-outcome="${c.outcome}">${when} · ${escapeHtml(c.skillId)} · ${escapeHtml(c.requestType ?? '')} · ${escapeHtml(c.deviceId ?? '')}${c.durationMs !== undefined ? ` · ${c.durationMs} ms` : ''}<br>${verdict}</li>`;
    })
    .join('');
  const rows = purchases
    .slice()
    .reverse()
    .map((p) => {
      const o = p.transactionId ? orders.get(p.transactionId) : undefined;
      const link = o
        ? `<a href="/pay/${encodeURIComponent(o.transactionId)}">${escapeHtml(o.transactionId)}</a> · ${escapeHtml(tradeStatusDesc(o))}`
        : p.mode === 'screenless'
          ? `<a href="/app/${encodeURIComponent(p.purchaseId)}">叮当APP</a>`
          : '—';
      return `<li><b>${escapeHtml(p.charge.payload.chargeInfo.name)}</b> · ${escapeHtml(p.mode)} · ${escapeHtml(p.state)} · seq ${p.seq}<br>${link}</li>`;
    })
    .join('');
  return page(
    'dingdang-pay sandbox',
    `<div class="card"><h1>dingdang-pay sandbox</h1><div class="muted">${escapeHtml(url)} · control API <a href="/sandbox/v1/info">/sandbox/v1</a> · docs/sandbox.md</div>
<p class="muted" style="word-break:break-all">TSKPublicKey ${escapeHtml(tskPublicKey)}</p></div>
<div class="card"><h1>Purchases</h1><ul id="purchases">${rows || '<li class="muted">none yet</li>'}</ul></div>
<div class="card"><h1>Skill calls</h1><div class="muted">newest first; a failed call shows the platform return code</div><ul id="skill-calls">${calls || '<li class="muted">none yet</li>'}</ul></div>
<div class="card"><h1>Faults</h1><pre id="faults">${escapeHtml(JSON.stringify(faults, null, 1))}</pre></div>`,
    'setTimeout(function(){location.reload()},2000);',
  );
}
