/**
 * Node-only entry of the device companion: everything of the browser-safe
 * entry (index.ts, itself a list of names), plus `createNodeTransport`, which
 * supplies `ws` as the WebSocket (Node 20 has no global WebSocket), and the
 * statechart's Mermaid drawing `machineToMermaid` (a documentation tool, kept
 * out of the browser bundle). Do not import this file in a browser bundle;
 * use `createHttpTransport` from the main entry there.
 */
import WebSocket from 'ws';
import { MAX_FRAME_CHARS } from '../protocol/browser.js';
import { createHttpTransport, type HttpTransport, type HttpTransportOptions } from './transport/http-transport.js';
import type { WebSocketConstructor } from './transport/web-socket.js';

export * from './index.js';
export { machineToMermaid } from './diagram.js';

export type NodeTransportOptions = HttpTransportOptions;

/**
 * The largest stream frame `ws` accepts, in bytes: the contract's frame limit
 * (docs/device-protocol.md §5: frames are at most 64 KiB). Without it `ws`
 * buffers up to 100 MiB before the transport's own check sees the frame.
 */
export const NODE_WS_MAX_PAYLOAD = MAX_FRAME_CHARS;

/**
 * `ws` with `maxPayload` set: a bigger frame is refused by `ws` while it
 * arrives (nothing buffered past the cap), the socket closes with 1009, and
 * the transport reconnects as after any other lost connection.
 */
class CappedWebSocket extends WebSocket {
  constructor(url: string) {
    super(url, { maxPayload: NODE_WS_MAX_PAYLOAD });
  }
}

/** `createHttpTransport` with `ws` (frames capped at `NODE_WS_MAX_PAYLOAD`) as the default WebSocket constructor. */
export function createNodeTransport(options: NodeTransportOptions): HttpTransport {
  return createHttpTransport({
    ...options,
    WebSocket: options?.WebSocket ?? (CappedWebSocket as unknown as WebSocketConstructor),
  });
}
