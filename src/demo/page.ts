/**
 * The screen speaker's HTML page (plain HTML + CSS). The script
 * (`/speaker.js`, the bundle of web/speaker.ts) runs the device companion in
 * the page and draws its views into `#screen`.
 */

export interface SpeakerPageConfig {
  /** The platform (sandbox) base URL: the device talks to `/device/v1` there. */
  platformUrl: string;
  /** Bare Base64 TSKPublicKey: verifies every reply and push. */
  tskPublicKey: string;
  deviceId: string;
  /** This page's own endpoint that forwards utterances to the platform. */
  sayUrl: string;
  /** Suggested first utterance. */
  example: string;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const CSS = `
*{box-sizing:border-box}
body{margin:0;font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;background:#eef0f4;color:#1d2129}
header{padding:12px 20px;background:#1d2129;color:#fff;display:flex;gap:16px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0}header .muted{color:#aab}
main{display:grid;grid-template-columns:minmax(420px,1.3fr) minmax(300px,1fr) minmax(320px,380px);gap:16px;padding:16px;align-items:start}
@media (max-width:1100px){main{grid-template-columns:1fr}}
.panel{background:#fff;border-radius:14px;box-shadow:0 1px 4px #0002;padding:16px}
.panel h2{font-size:15px;margin:0 0 10px;color:#555;font-weight:600}
.device{background:#23262e;border-radius:28px;padding:18px;box-shadow:0 6px 18px #0004}
.device .label{color:#9aa;font-size:12px;margin:0 0 8px 6px;display:flex;justify-content:space-between}
#screen{background:#fbfbfd;border-radius:14px;min-height:420px;padding:22px;display:flex;flex-direction:column;gap:12px}
#screen h3{margin:0;font-size:22px}
.goods-name{font-size:24px;font-weight:700}
.desc{color:#666}
table.items{border-collapse:collapse;width:100%}table.items td{padding:6px 4px;border-bottom:1px solid #eee}
.amount{font-size:34px;font-weight:800;color:#e4393c}
.qr{display:flex;gap:20px;align-items:center}
.qr img{width:220px;height:220px;image-rendering:pixelated;border:1px solid #ddd;border-radius:8px;background:#fff}
.countdown{font-size:20px;font-variant-numeric:tabular-nums}
.phase{color:#07c160;font-weight:600}
.spinner{width:42px;height:42px;border:5px solid #ddd;border-top-color:#07c160;border-radius:50%;animation:spin 1s linear infinite}
@keyframes spin{to{transform:rotate(360deg)}}
.result{font-size:26px;font-weight:700}
.result.ok{color:#07c160}.result.bad{color:#e4393c}.result.neutral{color:#666}
.playing{background:linear-gradient(135deg,#1e3c72,#2a5298);color:#fff;border-radius:12px;padding:20px}
.playing .title{font-size:24px;font-weight:700}.playing audio{width:100%;margin-top:10px}
.eq{display:inline-flex;gap:3px;align-items:flex-end;height:18px;margin-right:8px}
.eq i{width:4px;background:#fff;animation:eq .9s ease-in-out infinite}.eq i:nth-child(2){animation-delay:.2s}.eq i:nth-child(3){animation-delay:.4s}
@keyframes eq{0%,100%{height:4px}50%{height:18px}}
#speech{margin-top:12px;background:#2f333d;color:#fff;border-radius:12px;padding:12px 14px;min-height:48px;font-size:16px}
#speech b{color:#7fd3a8;margin-right:6px}
#actions{display:flex;gap:10px;margin-top:12px;flex-wrap:wrap}
button{font:inherit;border:0;border-radius:10px;padding:10px 16px;cursor:pointer;background:#e6e8ee}
button:disabled{opacity:.5;cursor:default}
button.primary{background:#07c160;color:#fff}button.danger{background:#fa5151;color:#fff}
#say-form{display:flex;gap:8px}#utterance{flex:1;font:inherit;padding:10px 12px;border:1px solid #ccd;border-radius:10px}
.chips{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}.chips button{background:#eef6ff;color:#1d5bd8;padding:7px 12px;border-radius:999px}
#log{list-style:none;padding:0;margin:0;max-height:360px;overflow:auto;font-size:14px}
#log li{padding:6px 8px;border-radius:8px;margin:4px 0}
#log li.user{background:#eef6ff}#log li.device{background:#f1fbf5}#log li.skill{background:#f6f1ff}#log li.host{background:#f4f4f4}#log li.event{color:#888;font-size:12px}
#phone-frame{width:100%;height:470px;border:8px solid #23262e;border-radius:22px;background:#fff}
.hint{color:#888;font-size:13px;margin:6px 0}
.conn{font-size:12px}
`;

export function speakerPage(config: SpeakerPageConfig): string {
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>叮当音箱 · dingdang-pay demo</title><style>${CSS}</style></head>
<body>
<header><h1>叮当音箱 · dingdang-pay demo</h1><span class="muted">屏幕音箱 (screen speaker) · 设备伴侣运行在本页中 · platform ${esc(config.platformUrl)}</span></header>
<main>
  <section>
    <div class="device">
      <div class="label"><span>叮当音箱 · ${esc(config.deviceId)}</span><span class="conn" id="conn"></span></div>
      <div id="screen" data-kind="idle"><h3>你好，我是叮当</h3><p class="desc">试试说：“${esc(config.example)}”</p></div>
      <div id="speech" aria-live="polite"><b>叮当</b><span id="speech-text">你好，试试说：${esc(config.example)}</span></div>
    </div>
    <div id="actions"></div>
    <label class="hint"><input type="checkbox" id="aloud"> 朗读 · speak aloud (browser speech synthesis)</label>
  </section>
  <section class="panel">
    <h2>你说 · What you say</h2>
    <form id="say-form" autocomplete="off"><input id="utterance" placeholder="例如：${esc(config.example)}" aria-label="utterance"><button class="primary" id="say-button" type="submit">说 · Say</button></form>
    <div class="chips" id="chips">
      <button type="button" data-say="${esc(config.example)}">${esc(config.example)}</button>
      <button type="button" data-say="买">买</button>
      <button type="button" data-say="取消">取消</button>
      <button type="button" data-say="支付好了吗">支付好了吗</button>
      <button type="button" data-say="刷新二维码">刷新二维码</button>
      <button type="button" data-say="重试">重试</button>
      <button type="button" data-say="再说一遍">再说一遍</button>
    </div>
    <h2>对话 · Dialog</h2>
    <ol id="log"></ol>
  </section>
  <section class="panel">
    <h2>手机 · Phone</h2>
    <p class="hint" id="phone-hint">音箱显示二维码后，点“扫码”用手机（微信沙箱支付页）扫码支付。</p>
    <div style="display:flex;gap:8px;flex-wrap:wrap"><button class="primary" id="scan" disabled>扫码 · Scan QR</button>
    <a id="pay-link" target="_blank" rel="noopener" hidden>在新标签页打开支付页</a></div>
    <iframe id="phone-frame" name="phone" title="phone" src="about:blank"></iframe>
  </section>
</main>
<script id="speaker-config" type="application/json">${json}</script>
<script src="/speaker.js"></script>
</body></html>`;
}
