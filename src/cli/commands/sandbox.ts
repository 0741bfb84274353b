import { TransportError } from '../../protocol/errors.js';
import { loadSandboxConfig } from '../../sandbox/config.js';
import { Sandbox } from '../../sandbox/sandbox.js';
import { DEVICE_STREAM_PATH } from '../../sandbox/device-link.js';
import { parseOptions, str, UsageError, write, type Command } from '../io.js';
import { ALLOW_LIST_OPTIONS, allowedHosts, allowedOrigins } from './shared.js';

export const DEFAULT_SANDBOX_PORT = 8710;

function number(text: string | undefined, flag: string, check: (n: number) => boolean, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`${flag} must be ${what}, got ${JSON.stringify(text)}`);
  return n;
}

export const sandbox: Command = {
  summary: 'run a local DingDang platform (pay CGI, notifications, device link) on 127.0.0.1',
  usage: `Usage: dingdang-pay sandbox --config FILE [--port N] [--time-scale F] [--pay-window S]
                             [--allowed-origin URL]... [--allowed-host NAME[:PORT]]...

Starts a local DingDang platform on 127.0.0.1. When it is ready it prints one
JSON line on stdout: { "url", "tskPublicKey" (bare Base64), "port", "skills",
"deviceStreamUrl", "controlUrl", "controlToken", "dashboardUrl", "deviceToken"
(when the config lists no devices) }. Stop it with Ctrl-C (SIGINT) or SIGTERM.

Safety: the control API needs "controlToken" (Authorization: Bearer <token>;
SandboxClient's token option); open the dashboard with "dashboardUrl" (it
sets the token as an HttpOnly cookie). Requests from other web origins, a
Host header other than 127.0.0.1 / localhost, and cross-site posts to the
pay pages are refused (docs/sandbox.md "Safety on a developer's machine");
--allowed-origin and --allowed-host let more in. Devices present "deviceToken" (X-DingDang-Device-Token / the subscribe
frame's deviceToken) unless the config lists devices.

Config (JSON):
  { "skills": [{ "skillId", "skillEndpoint", "skillSecret", "createOrderUrl",
                 "deliverUrl", "refundNotifyUrl"?, "skillPublicKey",
                 "utterances"?: [{ "intent", "samples": ["我要听{album}第{index}集"] }] }],
    "platformPrivateKey"?, "devices"?: [{ "deviceId", "deviceToken"? }] }
Keys are PEM text, bare Base64 or a file path (relative to the config file).
Without platformPrivateKey a fresh key pair is generated for this run.

Options:
  --config FILE     the sandbox config (required)
  --port N          TCP port on 127.0.0.1 (default ${DEFAULT_SANDBOX_PORT}; 0 picks a free port)
  --time-scale F    factor for delivery retries and refund processing (default 1;
                    0.001 runs WeChat's 15 s … 6 h schedule about 1000× faster)
  --pay-window S    seconds a payment URL stays valid (default 300)
  --allowed-origin URL
                    a web origin (http(s)://host[:port]) allowed on the control API
                    (CORS, still with the token) and to frame the pay pages;
                    repeatable, or comma-separated
  --allowed-host NAME[:PORT]
                    a Host header name accepted besides 127.0.0.1 / localhost / [::1]
                    (without :PORT: with the sandbox's port); repeatable, or comma-separated
  -h, --help        show this help

See docs/sandbox.md for the control API (/sandbox/v1), the pay pages and faults.`,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      config: { type: 'string' },
      port: { type: 'string' },
      'time-scale': { type: 'string' },
      'pay-window': { type: 'string' },
      ...ALLOW_LIST_OPTIONS,
    });
    if (values.help) return (write(io.stdout, this.usage), 0);
    const file = str(values.config);
    if (!file) throw new UsageError('--config FILE is required');
    const port = number(str(values.port), '--port', (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'an integer 0–65535') ?? DEFAULT_SANDBOX_PORT;
    const timeScale = number(str(values['time-scale']), '--time-scale', (n) => n > 0 && n <= 1000, 'a number > 0 and ≤ 1000');
    const payWindow = number(str(values['pay-window']), '--pay-window', (n) => Number.isInteger(n) && n >= 1 && n <= 86_400, 'whole seconds 1–86400');
    const origins = allowedOrigins(values['allowed-origin']);
    const hosts = allowedHosts(values['allowed-host']);
    const config = loadSandboxConfig(file);
    for (const w of config.warnings) write(io.stderr, `dingdang-pay sandbox: config ${w}`);
    let sb: Sandbox;
    try {
      sb = await Sandbox.start({
        config,
        port,
        ...(timeScale !== undefined ? { timeScale } : {}),
        ...(payWindow !== undefined ? { payWindowMs: payWindow * 1000 } : {}),
        allowedOrigins: origins,
        allowedHosts: hosts,
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new TransportError(`port ${port} on 127.0.0.1 is in use (try --port 0)`, { cause: e });
      if (code === 'EACCES') throw new TransportError(`not allowed to listen on port ${port}`, { cause: e });
      throw e;
    }
    const ready = {
      url: sb.url,
      tskPublicKey: sb.tskPublicKey,
      port: sb.port,
      skills: config.skills.map((s) => s.skillId),
      deviceStreamUrl: sb.url.replace(/^http/, 'ws') + DEVICE_STREAM_PATH,
      controlUrl: `${sb.url}/sandbox/v1`,
      // Our own: the per-run control token (Authorization: Bearer …) and the dashboard's address carrying it.
      controlToken: sb.controlToken,
      dashboardUrl: sb.dashboardUrl,
      // Our own: the per-run device token devices present when the config lists no devices (docs/device-protocol.md §1).
      ...(sb.deviceToken !== undefined ? { deviceToken: sb.deviceToken } : {}),
      generatedKey: config.generatedKey,
    };
    // Handlers first, so that a signal sent as soon as the ready line is read is caught.
    const stopped = new Promise<NodeJS.Signals>((resolve) => {
      const on = (s: NodeJS.Signals) => {
        process.off('SIGINT', on);
        process.off('SIGTERM', on);
        resolve(s);
      };
      process.on('SIGINT', on);
      process.on('SIGTERM', on);
    });
    write(io.stdout, JSON.stringify(ready));
    write(io.stderr, `dingdang-pay sandbox: listening on ${sb.url} (Ctrl-C to stop); dashboard ${sb.dashboardUrl}`);
    const signal = await stopped;
    await sb.close();
    write(io.stderr, `dingdang-pay sandbox: stopped (${signal})`);
    return 0;
  },
};
