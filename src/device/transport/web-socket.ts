/**
 * The minimal WebSocket surface the transport uses: the browser API, which
 * `ws` in Node also implements. No import of `ws` here (browser bundle).
 */
import { STREAM_CLOSE_CODES } from '../../protocol/browser.js';

export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code?: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drop the connection at once, no close handshake. */
  terminate?: () => void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export const WS_OPEN = 1;

/** The global WebSocket of a browser (or Node ≥ 22), if there is one. */
export function globalWebSocket(): WebSocketConstructor | undefined {
  const g = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof g === 'function' ? (g as WebSocketConstructor) : undefined;
}

/** Close a socket without waiting on its peer: detach handlers, terminate if possible. */
export function dropSocket(ws: WebSocketLike, code: number, reason: string): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = () => {};
  try {
    if (typeof ws.terminate === 'function') ws.terminate();
    else ws.close(code, reason);
  } catch {
    // already closed
  }
}

const CLOSE_GRACE_MS = 1000;

/**
 * Close a socket politely: detach handlers, send `lastFrame` (e.g. the
 * `unsubscribe`) while it is open, close with 1000, and with `ws` terminate
 * it after a second if the peer stays silent (`ws` would otherwise wait 30 s
 * for the close frame).
 */
export function closeGracefully(ws: WebSocketLike, lastFrame: string): void {
  const terminate = ws.terminate;
  let grace: ReturnType<typeof setTimeout> | undefined;
  ws.onopen = null;
  ws.onmessage = null;
  ws.onerror = () => {};
  ws.onclose = () => {
    if (grace !== undefined) clearTimeout(grace);
  };
  try {
    if (ws.readyState === WS_OPEN) ws.send(lastFrame);
    ws.close(STREAM_CLOSE_CODES.normal, 'unsubscribe');
  } catch {
    // already closing
  }
  if (typeof terminate === 'function') {
    grace = setTimeout(() => {
      try {
        terminate.call(ws);
      } catch {
        // gone
      }
    }, CLOSE_GRACE_MS);
    (grace as { unref?: () => void }).unref?.();
  }
}
