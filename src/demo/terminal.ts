/**
 * The screenless speaker in a terminal: each line on stdin is what the user
 * says; what the speaker says is printed (and spoken with espeak-ng when that
 * program is installed — never required). The device companion runs here in
 * Node with the `ws` transport against the sandbox; paying happens in the
 * DingDang app page the sandbox serves (its URL is printed), or with `/pay`.
 * The player is the companion's (src/device/player.ts): "▶ 正在播放：…" with
 * the list position, `/next` and `/prev`; no audio is played here, so an item
 * ends only with `/end` ("the episode ends"). Reaching a `pay: true` item asks
 * the platform, and the skill's Charge runs the screenless purchase; after
 * payment listening goes on from it. Display templates are not shown.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { createNodeTransport, DeviceCompanion } from '../device/node.js';
import { sleep } from '../protocol/sleep.js';
import { SandboxApiError } from '../sandbox/errors.js';
import { SpeakerHost } from './host.js';
import { EXAMPLE_UTTERANCE, platformSay } from './speaker-server.js';
import { deviceTokenOf, type DemoStack } from './stack.js';

export const TERMINAL_DEVICE_ID = 'demo-terminal';

/** The espeak-ng binary on PATH, if any. */
export function findEspeak(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.DINGDANG_NO_SPEECH === '1') return undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, 'espeak-ng');
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The terminal's streams (the CLI's `CliIO` fits). */
export interface TerminalIO {
  stdin: NodeJS.ReadableStream;
  stdout: { write(text: string): unknown };
}

export interface TerminalOptions {
  stack: DemoStack;
  io: TerminalIO;
  deviceId?: string;
  /** Speak with espeak-ng when found (default true). */
  speech?: boolean;
}

const HELP = `  说话：直接输入，回车。例如：${EXAMPLE_UTTERANCE} · 支付好了吗 · 取消 · 下一首
  命令：/pay [success|fail|cancel]  在“叮当APP”里下单并支付（默认 success）
        /next  下一首    /prev  上一首    /end   这一集播完了    /app   再显示叮当APP页面的地址
        /help  这段说明  /quit  退出（或 Ctrl-C）`;

export function runTerminalSpeaker(options: TerminalOptions): { done: Promise<void>; close(): Promise<void> } {
  const { stack, io } = options;
  const out = (line: string) => io.stdout.write(line + '\n');
  const deviceId = options.deviceId ?? TERMINAL_DEVICE_ID;
  const platformUrl = stack.sandbox.url;
  const companion = new DeviceCompanion({
    transport: createNodeTransport({ platformUrl, tskPublicKey: stack.sandbox.tskPublicKey, deviceId, ...deviceTokenOf(stack.sandbox) }),
    mode: 'screenless',
  });
  const host = new SpeakerHost(companion, (text) => platformSay(stack.client, text, deviceId, 'screenless'));

  // Speech: one espeak-ng at a time, in order; nothing when it is not installed.
  const espeak = options.speech === false ? undefined : findEspeak();
  let voice: Promise<void> = Promise.resolve();
  const speakAloud = (text: string) => {
    if (!espeak) return;
    voice = voice.then(
      () =>
        new Promise<void>((resolve) => {
          const child = spawn(espeak, ['-v', 'cmn', text], { stdio: 'ignore' });
          child.on('error', () => resolve());
          child.on('exit', () => resolve());
        }),
    );
  };

  let purchaseId: string | undefined;
  host.on('speak', (e) => {
    out(`叮当：${e.text}`);
    speakAloud(e.text);
  });
  host.on('play', (p) => {
    out(`  ▶ 正在播放：${p.title}${p.subtitle ? ` — ${p.subtitle}` : ''}  （${p.position}）`);
    if (p.url) out(`    ${p.url}`);
    const locked = p.items.filter((i) => i.locked).length;
    if (p.cause === 'start' && p.items.length > 1)
      out(`    播放列表 ${p.items.length} 首${locked ? `，其中 ${locked} 首需购买` : ''} · /next 下一首 · /prev 上一首`);
  });
  host.on('locked', (e) => out(`  🔒 ${e.item.title}（${e.position}）需购买`));
  host.on('playerStopped', (e) => out(`  ■ 停在 ${e.item.title}（${e.position}）· 说“继续播放”再试`));
  host.on('playlistEnd', () => out('  ■ 播放列表放完了'));
  host.on('listen', (e) => {
    if (e.open) out('  🎤 请说…');
  });
  host.on('linkAccount', (e) => out(`  🔗 ${e.text}`));
  host.on('platformError', (e) => out(`  · 平台返回码 ${e.code}${e.reason ? `：${e.reason}` : ''}`));
  host.on('purchase', (e) => {
    purchaseId = e.purchaseId;
    if (purchaseId) out(`  📱 叮当APP (phone): ${platformUrl}/app/${purchaseId}   — or type /pay`);
  });
  host.on('end', (r) => out(`  · purchase ${r.outcome}${r.paid ? ' (paid)' : ''}${r.alreadyOwned ? ' (already owned)' : ''}`));
  host.on('failure', (e) => out(`  ! ${e.message}`));
  companion.on('state', (s) => out(`  · ${s.state}`));
  companion.on('rejected', (r) => out(`  ! rejected push: ${r.reason}`));

  out('');
  out('  dingdang-pay demo — screenless speaker (this terminal)');
  out(`  Sandbox platform: ${platformUrl}   Example skill: ${stack.skill?.url ?? '—'}`);
  out(espeak ? `  Speaking with ${espeak}` : '  (install espeak-ng to hear the speaker; text only for now)');
  out(HELP);
  out('');

  const pay = async (outcome: string) => {
    if (!purchaseId) return out('  ! no purchase yet: say what you want first');
    if (!['success', 'fail', 'cancel'].includes(outcome)) return out('  ! /pay success | fail | cancel');
    try {
      const paid = await stack.client.payPurchase(purchaseId, outcome as 'success' | 'fail' | 'cancel');
      out(`  📱 APP: ${'tradeStatusDesc' in paid ? paid.tradeStatusDesc : 'cancelled' in paid ? '已取消' : '已拥有'}`);
    } catch (e) {
      out(`  ! ${e instanceof SandboxApiError ? `HTTP ${e.status} ${e.message}` : (e as Error).message}`);
    }
  };

  const rl = createInterface({ input: io.stdin, crlfDelay: Infinity, terminal: false });
  let chain: Promise<unknown> = Promise.resolve();
  let closed = false;
  const done = new Promise<void>((resolve) => {
    rl.on('line', (line) => {
      const text = line.trim();
      if (!text) return;
      chain = chain.then(async () => {
        try {
          if (text === '/quit' || text === '/exit') return rl.close();
          if (text === '/help') return out(HELP);
          if (text === '/next' || text === '/prev') {
            const moved = text === '/next' ? host.next() : host.previous();
            // (next on the last item ends the list: the playlistEnd line says so)
            if (!moved && host.player.items.length === 0) out('  ! nothing is playing');
            else if (!moved && text === '/prev') out('  · 已经是第一首了');
            return;
          }
          if (text === '/end') {
            if (host.player.state !== 'playing') return out('  ! nothing is playing');
            out(`  · ${host.player.current?.title ?? ''} 播完了`);
            return host.ended();
          }
          if (text === '/app') return out(purchaseId ? `  📱 ${platformUrl}/app/${purchaseId}` : '  ! no purchase yet');
          if (text.startsWith('/pay')) return await pay(text.slice(4).trim() || 'success');
          if (text.startsWith('/')) return out(`  ! unknown command ${text}; /help`);
          out(`你：${text}`);
          await host.hear(text);
        } catch (e) {
          out(`  ! ${(e as Error).message}`);
        }
      });
    });
    // End of input: let the lines already read finish and a running purchase end (bounded), then stop.
    rl.on('close', () => void chain.then(() => Promise.race([host.purchase, new Promise((r) => setTimeout(r, 60_000).unref())])).then(() => resolve()));
  });

  return {
    done,
    async close() {
      if (closed) return;
      closed = true;
      rl.close();
      host.stop();
      await Promise.race([voice, sleep(2000)]);
    },
  };
}
