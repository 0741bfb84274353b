/**
 * What the device link needs from the sandbox that hosts it: the platform,
 * the HTTP server (the WebSocket stream shares it), a way to add routes, and
 * the lifecycle hooks. The sandbox implements it; the device link imports
 * only this (and the router's types), never the sandbox itself.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Platform } from './platform.js';
import type { RouteHandler } from './router.js';

export interface DeviceLinkHost {
  readonly platform: Platform;
  readonly server: Server;
  /** Add a route; `pattern` is matched against the path. */
  route(method: string, pattern: RegExp, handler: RouteHandler): void;
  /** What `POST /sandbox/v1/faults {"dropSocket": true}` does; returns how many sockets were dropped. */
  onDropSocket(fn: () => number): void;
  /**
   * The per-run device token every device must present when the config lists
   * no devices (our own extension, docs/device-protocol.md §1); undefined:
   * any valid deviceId is accepted.
   */
  readonly deviceToken?: string;
  /** Does a WebSocket upgrade name the sandbox in its Host header? (DNS-rebinding defence, safety.ts.) */
  hostAllowed?(req: IncomingMessage): boolean;
  /** Run `fn` when the sandbox closes (before its HTTP server does). */
  onClose(fn: () => void | Promise<void>): void;
}
