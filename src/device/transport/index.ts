/**
 * The device transport (docs/device-protocol.md §6): HTTP + WebSocket JSON to
 * the platform, browser-safe. The entries (`dingdang-pay/device`,
 * `dingdang-pay/device/node`) pick their names from here.
 *
 * | module | job |
 * |---|---|
 * | `http-transport.ts` | `createHttpTransport`: the `PaymentTransport` over the six calls and the stream |
 * | `http-client.ts` | `HttpClient`: one call — device headers, timeout, AbortSignal, size bound, reply signature |
 * | `subscription.ts` | `Subscription`: socket lifecycle, heartbeat, reconnect, re-subscribe + re-query, polling |
 * | `signature-checker.ts` | `SignatureChecker`: TSK-RSA2 with WebCrypto, key imported once, injectable clock |
 * | `seq-gate.ts` | `SeqGate`: each seq once, never backwards |
 * | `backoff.ts` | `Backoff`: jittered exponential backoff |
 * | `web-socket.ts` | `WebSocketLike`: the WebSocket surface used (browser API; `ws` matches it) |
 *
 * Frames and bodies are the device-link contract's (src/protocol/device-link*.ts).
 */
export { Backoff, type BackoffOptions } from './backoff.js';
export { HttpClient, type FetchLike, type HttpClientOptions, type SignedReply } from './http-client.js';
export { createHttpTransport, type HttpTransport, type HttpTransportOptions } from './http-transport.js';
export { SeqGate, type SeqVerdict } from './seq-gate.js';
export { SignatureChecker, type SignatureCheckerOptions } from './signature-checker.js';
export { Subscription, type RejectReason, type SubscriptionOptions, type TransportSubscriptionListener } from './subscription.js';
export { closeGracefully, dropSocket, globalWebSocket, WS_OPEN, type WebSocketConstructor, type WebSocketLike } from './web-socket.js';
// The stream's parsers, for the transport's own tests and bundles (the contract lives in src/protocol).
export { parsePush, parseServerFrame, parseStatusBody } from '../../protocol/browser.js';
