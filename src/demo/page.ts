/**
 * The screen speaker's HTML page (plain HTML + CSS). The script
 * (`/speaker.js`, the bundle of web/speaker.ts) runs the device companion in
 * the page and draws its views into `#screen`: the view in `#view`, its touch
 * targets in `#actions`, a bar along the screen's bottom edge; and the live
 * statechart into `#statechart` (mermaid, `/mermaid.js`, loaded by the
 * script). `?screen=WxH`
 * (e.g. `?screen=1024x600`) picks another screen size (web/screen-size.ts).
 */

export interface SpeakerPageConfig {
  /** The platform (sandbox) base URL: the device talks to `/device/v1` there. */
  platformUrl: string;
  /** Bare Base64 TSKPublicKey: verifies every reply and push. */
  tskPublicKey: string;
  deviceId: string;
  /** The sandbox's per-run device token (docs/device-protocol.md §1); absent: the device sends none. */
  deviceToken?: string;
  /** This page's own endpoint that forwards utterances to the platform. */
  sayUrl: string;
  /** Suggested first utterance. */
  example: string;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const CSS = `
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;background:#eef0f4;color:#1d2129}
header{padding:12px 20px;background:#1d2129;color:#fff;display:flex;gap:16px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0}header .muted{color:#aab}
main{display:grid;grid-template-columns:auto minmax(300px,1fr) minmax(320px,380px);gap:16px;padding:16px;align-items:start}
/* a large speaker screen (?screen=1024x600): the device across the top, the dialog and the phone under it */
main.wide{grid-template-columns:minmax(300px,1fr) minmax(320px,380px)}main.wide>section:first-child{grid-column:1/-1}
@media (max-width:1100px){main,main.wide{grid-template-columns:1fr}}
.panel{background:#fff;border-radius:14px;box-shadow:0 1px 4px #0002;padding:16px}
.panel h2{font-size:15px;margin:0 0 10px;color:#555;font-weight:600}
.device{background:#23262e;border-radius:28px;padding:18px;box-shadow:0 6px 18px #0004;width:max-content;max-width:100%}
.device .label{color:#9aa;font-size:12px;margin:0 0 8px 6px;display:flex;justify-content:space-between}
/* The speaker's screen: 600×375 (16:10) unless the page asks for another size
   (?screen=1024x600, web/screen-size.ts sets --lw/--lh/--z/--sw): the layout keeps
   375 px of height and is zoomed to fill the panel. Nothing is drawn outside it:
   the view above, the touch targets in a bar along its bottom edge. */
#screen{position:relative;background:#fbfbfd;border-radius:14px;width:var(--lw,600px);height:var(--lh,375px);zoom:var(--z,1);display:flex;flex-direction:column;overflow:hidden}
#view{flex:1;min-height:0;padding:20px 24px;display:flex;flex-direction:column;gap:12px;overflow:hidden;position:relative}
#view h3{margin:0;font-size:22px}
#actions{flex:none;display:flex;gap:12px;justify-content:flex-end;padding:0 24px 16px}
#actions:empty{display:none}
#actions button{min-width:128px;height:52px;padding:0 24px;font-size:20px;font-weight:600;border-radius:12px}
#screen[data-kind="playing"] #actions button:not(.primary):not(.danger),#screen[data-kind="template"]:not([data-state="TextBodyTemplate"]) #actions button:not(.primary):not(.danger){background:#ffffff26;color:#fff}
.one-line{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
/* a number and its unit stay on one line: 第35集, 12期 */
.nw{white-space:nowrap}
/* at most two lines, broken only at spaces and punctuation (a Chinese title is never cut inside a word) */
.words{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;overflow:hidden;word-break:keep-all;overflow-wrap:break-word}
.desc{color:#666}
.kicker{font-size:17px;font-weight:600;color:#86909c;letter-spacing:.04em}
.price{font-weight:800;color:#e4393c;line-height:1.05;font-variant-numeric:tabular-nums;white-space:nowrap}.price .cur{font-size:.6em;margin-right:.05em}
/* goods card: what is for sale, what it is, what it costs */
.goods{flex:1;min-height:0;display:flex;flex-direction:column;gap:10px}
.goods .name{font-size:40px;font-weight:800;line-height:1.25}
.goods .what{font-size:21px;line-height:1.45;color:#4e5969;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;overflow:hidden}
.goods .price{font-size:64px;margin-top:auto}
table.items{border-collapse:collapse;width:100%;font-size:17px}table.items td{padding:4px 4px;border-bottom:1px solid #eee}
/* pay page: the QR code, the price and the time left */
.pay{flex:1;min-height:0;display:flex;gap:26px;align-items:center}
.pay #qr{width:236px;height:236px;image-rendering:pixelated;border:1px solid #ddd;border-radius:10px;background:#fff;flex:none}
.pay.confirming #qr{opacity:.4}
.pay .info{flex:1;min-width:0;display:flex;flex-direction:column;gap:8px}
.pay #phase{font-size:19px;font-weight:700;color:#07c160;line-height:1.35}
.pay .name{font-size:22px;font-weight:700;line-height:1.3}
.pay .price{font-size:54px}
.countdown{font-size:36px;font-weight:700;font-variant-numeric:tabular-nums;white-space:nowrap;color:#1d2129}
/* progress and results: one message in the middle of the screen */
.center{margin:auto;display:flex;flex-direction:column;align-items:center;text-align:center;gap:12px;max-width:100%;min-height:0}
.spinner{width:56px;height:56px;border:6px solid #ddd;border-top-color:#07c160;border-radius:50%;animation:spin 1s linear infinite;flex:none}
@keyframes spin{to{transform:rotate(360deg)}}
.center .t{font-size:30px;font-weight:700;line-height:1.3}
.center .what{font-size:20px;color:#4e5969;line-height:1.4;max-width:100%}
.center .detail{font-size:18px;color:#86909c;line-height:1.4;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;overflow:hidden}
.result{font-size:36px;font-weight:800;line-height:1.25}
.result.ok{color:#07c160}.result.bad{color:#e4393c}.result.neutral{color:#4e5969}
.outcome-icon{display:inline-flex;width:84px;height:84px;flex:none}.outcome-icon svg{width:100%;height:100%}
.outcome-icon.ok{color:#07c160}.outcome-icon.bad{color:#e4393c}
/* image placeholder: shown when there is no image or it cannot be loaded (no network on the speaker's side) */
.ph{display:flex;align-items:center;justify-content:center;text-align:center;padding:8px;background:linear-gradient(135deg,#5b6b8c,#3a4560);color:#dfe6f5;font-size:13px;line-height:1.4;overflow:hidden;word-break:keep-all;overflow-wrap:anywhere}
/* player */
#screen[data-kind="playing"]{background:linear-gradient(160deg,#1e2a48,#2a3f6e);color:#fff}#screen[data-kind="playing"] #view{padding:18px 20px 12px}
.player{display:flex;flex-direction:column;gap:14px;flex:1;min-height:0}
.player .top{display:flex;gap:18px;min-height:0}
.icon{display:inline-flex;width:1em;height:1em;vertical-align:-0.125em}.icon svg{width:100%;height:100%}
.player .art{width:170px;height:170px;flex:none;border-radius:12px;overflow:hidden;box-shadow:0 4px 14px #0006;background:#34406a}
.player .art img,.player .art .ph{width:100%;height:100%;object-fit:cover;display:flex}
.player .meta{flex:1;min-width:0;display:flex;flex-direction:column;gap:4px}
.player .np{font-size:13px;color:#b8c4e6;display:flex;align-items:center;gap:6px;height:18px}
.player .title{font-size:24px;font-weight:700;line-height:1.3;flex:none}
.player .subtitle{font-size:15px;color:#c9d3ee}
.player .pos{font-size:13px;color:#b8c4e6;font-variant-numeric:tabular-nums}
.player .bar{display:flex;align-items:center;gap:8px;font-size:12px;color:#b8c4e6;font-variant-numeric:tabular-nums;margin-top:2px}
.player .track{flex:1;height:4px;border-radius:2px;background:#ffffff33;overflow:hidden}.player .track i{display:block;height:100%;width:0;background:#fff}
.player .controls{display:flex;gap:14px;margin-top:auto}
.player .controls button{width:46px;height:46px;padding:0;border-radius:50%;background:#ffffff22;color:#fff;font-size:20px;display:flex;align-items:center;justify-content:center}
.player .controls button.main{background:#fff;color:#1e2a48}
.player .controls button.close{width:auto;min-width:104px;margin-left:auto;padding:0 22px;border-radius:23px;font-size:18px;font-weight:600}
.player .controls button:disabled{opacity:.35}
.player .notice{font-size:14px;color:#ffd38a;font-weight:600}
.player.locked .art{opacity:.45}
.player .no-art .big-icon{display:inline-flex;width:64px;height:64px;color:#ffffff66}.player .no-art svg{width:100%;height:100%}
.strip{display:flex;gap:8px;overflow-x:auto;overflow-y:hidden;margin:auto 0 0;padding:0 0 4px;scrollbar-width:thin;flex:none}
.strip li{list-style:none;flex:none;width:128px;padding:8px 10px;border-radius:10px;background:#ffffff14;font-size:13px;line-height:1.35;cursor:pointer}
.strip li .n{font-size:11px;color:#9fb0da}
.strip li.current{background:#fff;color:#1e2a48}.strip li.current .n{color:#5a6a95}
.strip li.locked{color:#c0c8dc}.strip li.current.locked{color:#1e2a48}
.lock{display:inline-flex;align-items:center;gap:3px;font-size:11px;padding:1px 6px;border-radius:6px;background:#ffb84d;color:#3b2600;font-weight:700;margin-top:3px;line-height:1.4}
/* the equaliser next to 正在播放: three bars rising and falling out of step (negative delays: all move from the first frame) */
.eq{display:inline-flex;gap:2px;align-items:flex-end;width:14px;height:13px;flex:none;color:#7fd3a8}
.eq i{flex:1;height:100%;border-radius:1px;background:currentColor;transform-origin:50% 100%;transform:scaleY(.35);animation:eq 1s ease-in-out infinite}
.eq i:nth-child(1){animation-duration:.9s;animation-delay:-.3s}.eq i:nth-child(2){animation-duration:1.2s;animation-delay:-.9s}.eq i:nth-child(3){animation-duration:.75s;animation-delay:-.5s}
@keyframes eq{0%,100%{transform:scaleY(.35)}50%{transform:scaleY(1)}}
@media (prefers-reduced-motion:reduce){.eq i{animation:none;transform:scaleY(.6)}}
/* Display.RenderTemplate */
/* the template's backdrop (image, shade) fills the whole screen, under the touch bar too */
#screen[data-kind="template"]{background:#20242c;color:#fff}#screen[data-kind="template"] #view{padding:0;position:static}#screen[data-kind="template"] #actions{position:relative;z-index:3}
.tpl{width:100%;flex:1;min-height:0;display:flex;flex-direction:column;padding:24px 28px;gap:10px;overflow:hidden}
.tpl .bg{position:absolute;inset:0;width:100%;height:100%;object-fit:cover;z-index:0}
.tpl .bg.ph{font-size:14px;align-items:flex-start;justify-content:flex-end;padding:14px 18px;color:#ffffff99}
.tpl .shade{position:absolute;inset:0;background:linear-gradient(180deg,#0000 25%,#000c 100%);z-index:1}
.tpl>.t,.tpl>.d{position:relative;z-index:2}
.tpl .t{font-size:26px;font-weight:700;line-height:1.3}
.tpl .d{font-size:19px;line-height:1.55;color:#e8ebf2;display:-webkit-box;-webkit-box-orient:vertical;overflow:hidden}
.tpl.news{justify-content:flex-end}.tpl.news .d{-webkit-line-clamp:3}
.tpl.news1{justify-content:flex-end}.tpl.news1 .t{font-size:30px}.tpl.news1 .d{font-size:22px;-webkit-line-clamp:2}
#screen[data-state="TextBodyTemplate"]{background:linear-gradient(160deg,#f7f8fb,#e9edf5);color:#1d2129}
.tpl.text{justify-content:center}
.tpl.text .t{font-size:28px;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;overflow:hidden;white-space:normal;word-break:keep-all;overflow-wrap:anywhere}
.tpl.text .d{color:#4e5969;-webkit-line-clamp:7}
#screen[data-state="HorizontialListTemplate"]{background:linear-gradient(160deg,#262b36,#1a1d24)}
.tpl.list{padding:20px 0 16px;justify-content:center}
.cards{display:flex;gap:14px;overflow-x:auto;overflow-y:hidden;padding:0 24px 6px;scroll-padding:0 24px;scroll-snap-type:x mandatory;scrollbar-width:thin;margin:0}
.cards li{list-style:none;flex:none;width:172px;scroll-snap-align:start}
.cards .img{width:172px;height:172px;border-radius:12px;overflow:hidden;background:#3a4560}
.cards .img img,.cards .img .ph{width:100%;height:100%;object-fit:cover;display:flex}
.cards .ct{font-size:16px;font-weight:600;margin-top:8px}
.cards .cd{font-size:13px;color:#aab3c5;line-height:1.4;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;overflow:hidden}
/* account linking */
.link-account{margin:auto;text-align:center;display:flex;flex-direction:column;gap:14px;align-items:center}
.link-account .big-icon{display:inline-flex;width:64px;height:64px;padding:14px;border-radius:50%;background:#e8f7ef;color:#07c160}.big-icon svg{width:100%;height:100%}
/* reply card: an answer with speech only */
.reply{margin:auto 0;display:flex;flex-direction:column;gap:14px;padding:0 8px}
.reply .q{color:#86909c;font-size:16px}
.reply .a{font-size:26px;font-weight:600;line-height:1.45;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:6;overflow:hidden}
.link-account .t{font-size:24px;font-weight:700}
#speech{margin-top:12px;background:#2f333d;color:#fff;border-radius:12px;padding:12px 14px;min-height:48px;font-size:16px;width:var(--sw,600px);max-width:100%}
#speech b{color:#7fd3a8;margin-right:6px}
#mic svg{width:16px;height:16px}
#mic{display:inline-flex;align-items:center;gap:3px;margin-left:10px;color:#7fd3a8;font-weight:600;animation:pulse 1.2s ease-in-out infinite}
@keyframes pulse{50%{opacity:.35}}
#ret-code{display:block;margin-top:4px;font-size:12px;color:#8a90a0}
button{font:inherit;border:0;border-radius:10px;padding:10px 16px;cursor:pointer;background:#e6e8ee}
button:disabled{opacity:.5;cursor:default}
button.primary{background:#07c160;color:#fff}button.danger{background:#fa5151;color:#fff}
#say-form{display:flex;gap:8px}#utterance{flex:1;font:inherit;padding:10px 12px;border:1px solid #ccd;border-radius:10px}
.chips{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}.chips button{background:#eef6ff;color:#1d5bd8;padding:7px 12px;border-radius:999px}
#log{list-style:none;padding:0;margin:0;max-height:360px;overflow:auto;font-size:14px}
#log li{padding:6px 8px;border-radius:8px;margin:4px 0}
#log li.user{background:#eef6ff}#log li.device{background:#f1fbf5}#log li.skill{background:#f6f1ff}#log li.host,#log li.platform{background:#f4f4f4}#log li.event{color:#888;font-size:12px}
#phone-frame{width:100%;height:470px;border:8px solid #23262e;border-radius:22px;background:#fff}
.hint{color:#888;font-size:13px;margin:6px 0}
.conn{font-size:12px}
/* the dialog column: what you say, the dialog, the live statechart */
.column{display:flex;flex-direction:column;gap:16px;min-width:0}
/* the live statechart: the purchase machine drawn by mermaid, the current state lit (web/statechart-panel.ts) */
.chart-head{display:flex;justify-content:space-between;align-items:center;gap:8px;margin-bottom:10px}.chart-head h2{margin:0}
#chart-expand{padding:4px 10px;font-size:12px;border-radius:8px;background:#eef0f4;color:#4e5969;white-space:nowrap}
#chart-tabs{display:flex;background:#eef0f4;border-radius:10px;padding:3px;gap:3px;margin-bottom:8px}
#chart-tabs button{flex:1;min-width:0;padding:5px 6px;font-size:12.5px;border-radius:8px;background:none;color:#4e5969;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#chart-tabs button[aria-selected="true"]{background:#fff;color:#1d2129;font-weight:600;box-shadow:0 1px 3px #0002}
.chart-wrap{position:relative}
.chart{height:460px;overflow:auto;border:1px solid #e5e8ef;border-radius:10px;background:#fbfcfe;padding:44px 8px 8px;font-size:13px;color:#86909c;overscroll-behavior:contain}
#chart-now{position:absolute;top:8px;left:8px;max-width:calc(100% - 124px);padding:3px 10px;border-radius:999px;background:#1d2129;color:#fff;font-size:12.5px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;box-shadow:0 1px 4px #0003}
#chart-now::before{content:"";display:inline-block;width:8px;height:8px;border-radius:50%;background:#07c160;margin-right:6px;vertical-align:0}
#statechart[data-state=""] #chart-now,#statechart:not([data-state]) #chart-now{background:#fff;color:#86909c;font-weight:400}
#statechart[data-state=""] #chart-now::before,#statechart:not([data-state]) #chart-now::before{background:#c9cfdb}
.chart-wrap .zoom{position:absolute;top:8px;right:8px;display:flex;border-radius:8px;overflow:hidden;box-shadow:0 1px 4px #0003}
.chart-wrap .zoom button{padding:3px 0;min-width:30px;font-size:13px;border-radius:0;background:#fff;color:#4e5969}.chart-wrap .zoom button+button{border-left:1px solid #e5e8ef}
.chart-wrap .zoom #chart-fit{padding:3px 8px;font-size:12px}
.chart-pane svg{display:block;margin:0 auto}
.chart svg g.node>rect,.chart svg g.node>path,.chart svg g.statediagram-cluster rect.outer{transition:fill .25s,stroke .25s}
.chart svg g.node.lit>rect.label-container,.chart svg g.node.lit>path{fill:#07c160!important;stroke:#048a44!important;stroke-width:3px!important;filter:drop-shadow(0 0 6px #07c16099)}
.chart svg g.node.lit .nodeLabel,.chart svg g.node.lit .nodeLabel p{color:#fff!important;font-weight:700}
.chart svg g.node.trail>rect.label-container,.chart svg g.node.trail>path{fill:#dcf5e7!important;stroke:#07c160!important;stroke-width:2px!important;stroke-dasharray:5 3}
.chart svg g.statediagram-cluster.within rect.outer{stroke:#07c160!important;stroke-width:2.5px!important}
.chart svg g.statediagram-cluster.lit rect.outer{stroke:#07c160!important;stroke-width:4px!important;fill:#e8f8ef!important}
.chart svg path.taken{stroke:#07c160!important;stroke-width:3.5px!important}
.chart svg .edgeLabel.taken .labelBkg,.chart svg .edgeLabel.taken p{background:#07c160!important;color:#fff!important}
.legend{display:flex;gap:4px 14px;flex-wrap:wrap;font-size:12px;color:#86909c;margin:8px 0 0}.legend span{white-space:nowrap}
.legend i{display:inline-block;width:14px;height:10px;border-radius:3px;margin-right:5px;vertical-align:-1px}
.legend i.lit{background:#07c160}.legend i.trail{background:#dcf5e7;border:1px dashed #07c160}.legend i.taken{height:3px;vertical-align:3px;background:#07c160}
#statechart.expanded{position:fixed;inset:4vh 4vw;z-index:20;display:flex;flex-direction:column;box-shadow:0 0 0 100vmax #0008}
#statechart.expanded .chart-wrap{flex:1;min-height:0;display:flex;flex-direction:column}#statechart.expanded .chart{flex:1;height:auto}
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
      <div class="label"><span>叮当音箱 · ${esc(config.deviceId)} · <span id="screen-size">600×375</span></span><span class="conn" id="conn"></span></div>
      <div id="screen" data-kind="idle" data-size="600x375"><div id="view"><h3>你好，我是叮当</h3><p class="desc">试试说：“${esc(config.example)}”</p></div><div id="actions" role="toolbar" aria-label="触摸操作"></div></div>
      <div id="speech" aria-live="polite"><b>叮当</b><span id="speech-text">你好，试试说：${esc(config.example)}</span><span id="mic" hidden><svg viewBox="0 0 24 24" fill="currentColor" aria-hidden="true"><path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11z"/></svg>请说…</span><small id="ret-code" hidden></small></div>
    </div>
    <audio id="audio" preload="auto" hidden></audio>
    <label class="hint"><input type="checkbox" id="aloud"> 朗读 · speak aloud (browser speech synthesis)</label>
  </section>
  <div class="column">
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
      <button type="button" data-say="下一首">下一首</button>
      <button type="button" data-say="上一首">上一首</button>
    </div>
    <h2>对话 · Dialog</h2>
    <ol id="log"></ol>
  </section>
  <section class="panel" id="statechart" aria-label="状态图 · Statechart">
    <div class="chart-head"><h2>状态图 · Statechart</h2><button type="button" id="chart-expand" title="在页面上展开状态图">展开 · Expand</button></div>
    <div id="chart-tabs" role="tablist"></div>
    <div class="chart-wrap">
      <div id="chart" class="chart">状态图加载中…</div>
      <span id="chart-now">空闲 · idle</span>
      <div class="zoom"><button type="button" id="chart-zoom-out" title="缩小 · zoom out" aria-label="缩小">−</button><button type="button" id="chart-fit" title="整张图 · fit">适应</button><button type="button" id="chart-zoom-in" title="放大 · zoom in" aria-label="放大">+</button></div>
    </div>
    <p class="legend"><span><i class="lit"></i>当前状态</span><span><i class="trail"></i>上一个状态</span><span><i class="taken"></i>刚走过的转换</span></p>
  </section>
  </div>
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
