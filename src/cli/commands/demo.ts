import { resolve } from 'node:path';
import { startDemoStack, DemoError, type DemoStack } from '../../demo/stack.js';
import { startSpeakerServer, EXAMPLE_UTTERANCE, type SpeakerServer } from '../../demo/speaker-server.js';
import { parseOptions, str, UsageError, write, type Command, type CliIO } from '../io.js';
import { ALLOW_LIST_OPTIONS, allowedHosts, allowedOrigins } from './shared.js';

export const DEFAULT_DEMO_PORT = 8700;

function port(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new UsageError(`${flag} must be an integer 0–65535, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Resolves on SIGINT / SIGTERM (handlers installed at once). */
function untilSignal(): { signal: Promise<NodeJS.Signals>; dispose: () => void } {
  let on!: (s: NodeJS.Signals) => void;
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    on = (s) => resolve(s);
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
  return {
    signal,
    dispose: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

async function listenSpeaker(stack: DemoStack, wanted: number | undefined, hosts: readonly string[]): Promise<SpeakerServer> {
  const sb = stack.sandbox;
  const opts = {
    platformUrl: sb.url,
    tskPublicKey: sb.tskPublicKey,
    controlToken: sb.controlToken,
    allowedHosts: hosts,
    ...(sb.deviceToken !== undefined ? { deviceToken: sb.deviceToken } : {}),
  };
  let speaker: SpeakerServer;
  try {
    speaker = await startSpeakerServer({ ...opts, port: wanted ?? DEFAULT_DEMO_PORT });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    if (wanted !== undefined) throw new DemoError(`port ${wanted} on 127.0.0.1 is in use (try --port 0)`, { cause: e });
    speaker = await startSpeakerServer({ ...opts, port: 0 }); // the default port is taken: any free one
  }
  // The speaker page's origins (with the allowed host names) are allowed by the sandbox besides its own and
  // --allowed-origin: on the control API, and to frame the pay pages (the phone panel).
  for (const o of speaker.origins) sb.allowOrigin(o);
  return speaker;
}

export const demo: Command = {
  summary: 'the whole purchase on one machine: sandbox + example audiobook skill + a speaker (browser or terminal)',
  usage: `Usage: dingdang-pay demo [--mode screen|screenless] [--port N] [--sandbox-port N] [--db FILE] [--pay-window S] [--config FILE] [--scf]
                          [--allowed-origin URL]... [--allowed-host NAME[:PORT]]...

Starts, on embedded defaults (SQLite, nothing to set up):
  * the example audiobook skill backend (partner kit, SQLite),
  * the sandbox DingDang platform configured with that skill,
  * a speaker:
      screen     (default) a web page running the device companion in the
                 browser: open the printed URL, type "${EXAMPLE_UTTERANCE}",
                 say "买", scan the QR code with the phone panel and pay;
      screenless this terminal: type what you say, read what the speaker says
                 (spoken aloud when espeak-ng is installed); pay in the
                 DingDang app page it prints, or type /pay.
Runs until Ctrl-C, then stops everything.

Options:
  --mode M           screen (default) or screenless
  --port N           port of the speaker page (default ${DEFAULT_DEMO_PORT}; 0 = any free port)
  --sandbox-port N   port of the sandbox platform (default 0 = any free port)
  --db FILE          keep the skill's SQLite database in FILE (default: a temp file,
                     removed on exit, so every run starts with nothing bought)
  --pay-window S     seconds a QR code / payment URL stays valid (default 300)
  --config FILE      a sandbox config naming your own skills (docs/sandbox.md) instead of
                     the example: the speaker then talks to them (say "打开<invocationName>")
  --scf              run the example skill as a Tencent Cloud SCF function: /skill takes
                     the wrapped form, its record says "deployment": "scf"
  --clip-seconds S   length of each episode's (generated) audio, seconds (default 30)
  --allowed-origin URL
                     a web origin (http(s)://host[:port]) the sandbox allows on its control
                     API (CORS, still with the token) and to frame its pay pages, besides
                     its own and the speaker page's; repeatable, or comma-separated
  --allowed-host NAME[:PORT]
                     a Host header name the sandbox and the speaker page server accept
                     besides 127.0.0.1 / localhost / [::1] (without :PORT: with each one's
                     own port); repeatable, or comma-separated
  -h, --help         show this help

Safety: docs/sandbox.md "Safety on a developer's machine".`,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      mode: { type: 'string' },
      port: { type: 'string' },
      'sandbox-port': { type: 'string' },
      db: { type: 'string' },
      'pay-window': { type: 'string' },
      config: { type: 'string' },
      scf: { type: 'boolean' },
      'clip-seconds': { type: 'string' },
      ...ALLOW_LIST_OPTIONS,
    });
    if (values.help) return (write(io.stdout, this.usage), 0);
    const mode = str(values.mode) ?? 'screen';
    if (mode !== 'screen' && mode !== 'screenless') throw new UsageError(`--mode must be screen or screenless, got ${JSON.stringify(mode)}`);
    const speakerPort = port(str(values.port), '--port');
    const sandboxPort = port(str(values['sandbox-port']), '--sandbox-port');
    const windowText = str(values['pay-window']);
    let payWindowMs: number | undefined;
    if (windowText !== undefined) {
      if (!/^\d+$/.test(windowText) || Number(windowText) < 5 || Number(windowText) > 86_400)
        throw new UsageError('--pay-window must be whole seconds 5–86400');
      payWindowMs = Number(windowText) * 1000;
    }
    const clipText = str(values['clip-seconds']);
    if (clipText !== undefined && !(/^\d+(\.\d+)?$/.test(clipText) && Number(clipText) >= 0.2 && Number(clipText) <= 600))
      throw new UsageError('--clip-seconds must be 0.2–600 seconds');
    const origins = allowedOrigins(values['allowed-origin']);
    const hosts = allowedHosts(values['allowed-host']);
    const db = str(values.db);
    const configFile = str(values.config);
    if (configFile !== undefined && db !== undefined) throw new UsageError("--db is the example skill's database: not with --config");
    if (configFile !== undefined && values.scf)
      throw new UsageError('--scf runs the example skill: not with --config (set "deployment": "scf" in its skill records)');

    const stop = untilSignal();
    let stack: DemoStack | undefined;
    let speaker: SpeakerServer | undefined;
    let terminal: { done: Promise<void>; close(): Promise<void> } | undefined;
    try {
      stack = await startDemoStack({
        ...(sandboxPort !== undefined ? { sandboxPort } : {}),
        ...(db !== undefined ? { dbFile: resolve(db) } : {}),
        ...(configFile !== undefined ? { configFile: resolve(configFile) } : {}),
        ...(values.scf ? { deployment: 'scf' as const } : {}),
        ...(clipText !== undefined ? { clipSeconds: Number(clipText) } : {}),
        // 1.5 s between "scanned" and the result, so a person sees the speaker's "confirm on your phone" step.
        sandbox: {
          ...(payWindowMs !== undefined ? { payWindowMs } : {}),
          timeScale: 0.01,
          processingMs: 1500,
          allowedOrigins: origins,
          allowedHosts: hosts,
        },
        log: (line) => write(io.stderr, line),
      });
      if (mode === 'screen') {
        speaker = await listenSpeaker(stack, speakerPort, hosts);
        printScreen(io, stack, speaker);
        const signal = await stop.signal;
        write(io.stderr, `dingdang-pay demo: stopping (${signal})`);
      } else {
        const { runTerminalSpeaker } = await import('../../demo/terminal.js');
        terminal = runTerminalSpeaker({ stack, io });
        const why = await Promise.race([stop.signal, terminal.done.then(() => 'end of input')]);
        write(io.stderr, `dingdang-pay demo: stopping (${why})`);
      }
      return 0;
    } finally {
      stop.dispose();
      await terminal?.close();
      await speaker?.close();
      await stack?.close();
      if (stack) write(io.stderr, 'dingdang-pay demo: stopped');
    }
  },
};

function printScreen(io: CliIO, stack: DemoStack, speaker: SpeakerServer): void {
  write(
    io.stdout,
    [
      '',
      '  dingdang-pay demo — screen speaker',
      '',
      `  ▶ Open the speaker:   ${speaker.url}`,
      `    Type:              ${EXAMPLE_UTTERANCE}   then   买`,
      '    Then click "扫码 · Scan QR" on the phone panel and pay (扫码支付).',
      '',
      `  Sandbox platform:    ${stack.sandbox.url}  (control API ${stack.sandbox.url}/sandbox/v1, token ${stack.sandbox.controlToken}, see docs)`,
      `  Sandbox dashboard:   ${stack.sandbox.dashboardUrl}`,
      stack.skill
        ? `  Example skill:       ${stack.skill.url}  (SQLite ${stack.dbFile ?? '—'})`
        : `  Skills:              ${stack.config.skills.map((s) => `${s.name} (${s.skillEndpoint})`).join(', ')}`,
      '',
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}
