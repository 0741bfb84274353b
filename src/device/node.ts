/**
 * Node-only entry of the device companion: everything of the browser-safe
 * entry, plus `createNodeTransport`, which supplies `ws` as the WebSocket
 * (Node 20 has no global WebSocket). Do not import this file in a browser
 * bundle; use `createHttpTransport` from the main entry there.
 */
import WebSocket from 'ws';
import { createHttpTransport, type HttpTransport, type HttpTransportOptions, type WebSocketConstructor } from './transport/index.js';

export * from './index.js';
export * from './transport/index.js';
export type * from './port.js';

export type NodeTransportOptions = HttpTransportOptions;

/** `createHttpTransport` with `ws` as the default WebSocket constructor. */
export function createNodeTransport(options: NodeTransportOptions): HttpTransport {
  return createHttpTransport({
    ...options,
    WebSocket: options?.WebSocket ?? (WebSocket as unknown as WebSocketConstructor),
  });
}
