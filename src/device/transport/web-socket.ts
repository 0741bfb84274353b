/**
 * The minimal WebSocket surface the transport uses: the browser API, which
 * `ws` in Node also implements. No import of `ws` here (browser bundle).
 */
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
