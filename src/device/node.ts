/**
 * Node-only entry of the device companion: everything of the browser-safe
 * entry (index.ts, itself a list of names), plus `createNodeTransport`, which
 * supplies `ws` as the WebSocket (Node 20 has no global WebSocket), and the
 * statechart's Mermaid drawing `machineToMermaid` (a documentation tool, kept
 * out of the browser bundle). Do not import this file in a browser bundle;
 * use `createHttpTransport` from the main entry there.
 */
import WebSocket from 'ws';
import { createHttpTransport, type HttpTransport, type HttpTransportOptions } from './transport/http-transport.js';
import type { WebSocketConstructor } from './transport/web-socket.js';

export * from './index.js';
export { machineToMermaid } from './diagram.js';

export type NodeTransportOptions = HttpTransportOptions;

/** `createHttpTransport` with `ws` as the default WebSocket constructor. */
export function createNodeTransport(options: NodeTransportOptions): HttpTransport {
  return createHttpTransport({
    ...options,
    WebSocket: options?.WebSocket ?? (WebSocket as unknown as WebSocketConstructor),
  });
}
