/**
 * The sandbox: one HTTP server on 127.0.0.1 serving the pay CGI
 * (paycgi.ts), the control API for scripts (`/sandbox/v1/...`,
 * control-api.ts), the phone's pages (phone-pages.ts) and the device link
 * (device-link.ts), around one platform core (platform.ts). This file is the
 * lifecycle: start, wiring, close. See docs/sandbox.md.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { httpServerOptions, type HttpLimits } from '../protocol/http-limits.js';
import type { SandboxConfig } from './config.js';
import { installControlApi } from './control-api.js';
import { DeviceLink, type DeviceLinkOptions } from './device-link.js';
import type { DeviceLinkHost } from './device-link-host.js';
import { installPayCgi, PayCgi } from './paycgi.js';
import { installPhonePages } from './phone-pages.js';
import { Platform, type PlatformOptions } from './platform.js';
import { Router, type RouteHandler } from './router.js';
import { Safety } from './safety.js';
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../protocol/errors.js';
import { SandboxClient, type SandboxClientOptions } from './client.js';

export interface SandboxOptions extends Omit<PlatformOptions, 'config' | 'baseUrl'> {
  config: SandboxConfig;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Max request body, bytes; default 1 MiB. */
  maxBodyBytes?: number;
  /** The device link (docs/device-protocol.md): push repeat, socket timeouts. */
  device?: DeviceLinkOptions;
  /** HTTP timeouts and head size (defaults: headers 15 s, request 30 s, keep-alive 10 s, 16 KiB). */
  http?: HttpLimits;
  /**
   * The control API's token (`Authorization: Bearer …`, docs/sandbox.md
   * "Safety on a developer's machine"); default a fresh random one per run.
   * Our own extension.
   */
  controlToken?: string;
  /**
   * Web origins allowed on the control API (CORS) besides the sandbox's own,
   * e.g. the demo speaker page's `http://127.0.0.1:8080`. Any other `Origin`
   * is refused 403. The same origins may frame the sandbox's pages
   * (`Content-Security-Policy: frame-ancestors 'self' <origins>`). More can
   * be added later with `allowOrigin`.
   */
  allowedOrigins?: readonly string[];
  /**
   * The device token devices present on the device link when the config
   * lists no devices (docs/device-protocol.md §1; our own extension);
   * default a fresh random one per run.
   */
  deviceToken?: string;
  /** Host names accepted in the `Host` header besides 127.0.0.1 / localhost / [::1] (optionally `name:port`). */
  allowedHosts?: readonly string[];
}

export class Sandbox implements DeviceLinkHost {
  readonly platform: Platform;
  readonly paycgi: PayCgi;
  readonly server: Server;
  readonly maxBodyBytes: number;
  /** The platform end of docs/device-protocol.md (HTTP /device/v1 + WebSocket stream). */
  readonly device: DeviceLink;
  private readonly router: Router;
  private readonly safety: Safety;
  /**
   * The device token of this run (docs/device-protocol.md §1): what every
   * device sends (`X-DingDang-Device-Token`, the subscribe frame's
   * `deviceToken`) when the config lists no devices; undefined with a list.
   */
  readonly deviceToken: string | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly closers: Array<() => void | Promise<void>> = [];
  private readonly dropHandlers: Array<() => number> = [];
  private baseUrl = '';
  private closed = false;

  private constructor(readonly options: SandboxOptions) {
    const { config, host: _h, port: _p, maxBodyBytes, device, http, controlToken, deviceToken, allowedOrigins, allowedHosts, ...platformOptions } = options;
    if (deviceToken !== undefined && (typeof deviceToken !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(deviceToken)))
      throw new InvalidArgumentError('deviceToken must be 1–256 printable ASCII characters without spaces');
    this.deviceToken = config.devices.length === 0 ? (deviceToken ?? randomBytes(18).toString('base64url')) : undefined;
    this.safety = new Safety({
      ...(controlToken !== undefined ? { controlToken } : {}),
      ...(allowedOrigins !== undefined ? { allowedOrigins } : {}),
      ...(allowedHosts !== undefined ? { allowedHosts } : {}),
    });
    this.platform = new Platform({ config, ...platformOptions });
    this.paycgi = new PayCgi(this.platform);
    this.maxBodyBytes = maxBodyBytes ?? 1024 * 1024;
    this.router = new Router(this.maxBodyBytes, this.safety);
    this.server = createServer(httpServerOptions(http), (req, res) => {
      // A request can never take the sandbox down: a bug that slips through is answered 500, never an unhandled rejection.
      this.router.dispatch(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'ERR_INTERNAL', message: 'internal error' } }));
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    installPayCgi(this.router, this.paycgi);
    installControlApi(this.router, this);
    installPhonePages(this.router, this, this.safety);
    this.device = new DeviceLink(this, device);
  }

  /** Create and listen (127.0.0.1, port 0 by default). */
  static async start(options: SandboxOptions): Promise<Sandbox> {
    const sb = new Sandbox(options);
    await new Promise<void>((resolve, reject) => {
      sb.server.once('error', reject);
      sb.server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        sb.server.off('error', reject);
        resolve();
      });
    });
    const addr = sb.server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    sb.baseUrl = `http://${host}:${addr.port}`;
    sb.safety.listening(addr.port, host);
    sb.platform.setBaseUrl(sb.baseUrl);
    return sb;
  }

  get url(): string {
    return this.baseUrl;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** This run's control token: send it as `Authorization: Bearer <token>` (the `client()` does). */
  get controlToken(): string {
    return this.safety.controlToken;
  }

  /** The dashboard's address with the token (`/?token=…`: sets the HttpOnly cookie, then redirects to `/`). */
  get dashboardUrl(): string {
    return `${this.baseUrl}/?token=${encodeURIComponent(this.safety.controlToken)}`;
  }

  /** A typed client of this sandbox's control API, carrying the token. */
  client(options: Omit<SandboxClientOptions, 'baseUrl' | 'token'> = {}): SandboxClient {
    return new SandboxClient({ ...options, baseUrl: this.baseUrl, token: this.safety.controlToken });
  }

  /** Allow one more web origin on the control API and to frame the pages (`http(s)://host:port`); InvalidArgumentError otherwise. */
  allowOrigin(origin: string): void {
    this.safety.allowOrigin(origin);
  }

  /** Does this request (HTTP or a WebSocket upgrade) name the sandbox in its Host header? (DNS-rebinding defence.) */
  hostAllowed(req: IncomingMessage): boolean {
    return this.safety.hostAllowed(req);
  }

  /** Bare Base64 SPKI of the platform key (`TSKPublicKey`). */
  get tskPublicKey(): string {
    return this.platform.config.tskPublicKey;
  }

  /** Add a route (used by the device link). `pattern` is matched against the path. */
  route(method: string, pattern: RegExp, handler: RouteHandler): void {
    this.router.route(method, pattern, handler);
  }

  /** Run `fn` on close (before the HTTP server closes). */
  onClose(fn: () => void | Promise<void>): void {
    this.closers.push(fn);
  }

  /** Register what `POST /sandbox/v1/faults {"dropSocket": true}` does; returns how many sockets were dropped. */
  onDropSocket(fn: () => number): void {
    this.dropHandlers.push(fn);
  }

  /** Drop every device socket now (the `dropSocket` fault); how many were dropped. */
  dropSockets(): number {
    let dropped = 0;
    for (const drop of this.dropHandlers) dropped += drop();
    return dropped;
  }

  /** Stop: timers, notifications, connections, then the server. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.closers) await fn();
    this.platform.close();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections?.();
    for (const s of this.sockets) s.destroy();
    await done;
  }
}

/** Start a sandbox (alias of `Sandbox.start`). */
export function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  return Sandbox.start(options);
}
