/**
 * The Node transport's `ws` refuses a stream frame above the contract's
 * 64 KiB while it arrives (`maxPayload`), instead of buffering up to ws's
 * 100 MiB default before the transport's own check: a real `ws` server sends
 * a 1 MiB frame, the device closes with 1009 (message too big), reconnects,
 * subscribes again and goes on taking verified pushes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebSocket, WebSocketServer } from 'ws';
import { FakePlatform, waitUntil } from '../support/fake-platform.js';
import { createNodeTransport, NODE_WS_MAX_PAYLOAD } from '../../src/device/node.js';
import { MAX_FRAME_CHARS } from '../../src/protocol/index.js';

test('a 1 MiB frame closes the socket with 1009 before the transport reads it; the transport reconnects and works', async () => {
  assert.equal(NODE_WS_MAX_PAYLOAD, MAX_FRAME_CHARS);
  const platform = await FakePlatform.start();
  // The server's side of each connection: the close code the device sent.
  const closeCodes: number[] = [];
  (platform as unknown as { wss: WebSocketServer }).wss.on('connection', (ws: WebSocket) => ws.on('close', (code) => closeCodes.push(code)));
  const rejected: string[] = [];
  const t = createNodeTransport({
    platformUrl: platform.url,
    tskPublicKey: platform.publicKeyPem,
    deviceId: platform.deviceId,
    deviceToken: platform.deviceToken!,
    silenceMs: 60_000,
  });
  try {
    const p = platform.addPurchase();
    const seen: string[] = [];
    const stop = t.subscribe(p.purchaseId, {
      onUpdate: (u) => void seen.push(`${u.tradeStatus}/${u.source}`),
      onRejected: (r) => void rejected.push(`${r.reason}: ${r.detail ?? ''}`),
    });
    await waitUntil(() => platform.subscribers(p.purchaseId) === 1, 3000, 'subscribed over ws');
    assert.equal(platform.connectionsAccepted, 1);

    assert.equal(platform.sendRaw(p.purchaseId, JSON.stringify({ type: 'ping', pad: 'x'.repeat(1024 * 1024) })), 1);
    await waitUntil(() => closeCodes.length === 1, 5000, 'the device closed the socket');
    assert.equal(closeCodes[0], 1009, 'refused by ws as too big (the transport itself would close with its own code)');
    assert.deepEqual(rejected, [], 'the frame never reached the transport (its own check would reject it)');

    await waitUntil(() => platform.connectionsAccepted === 2 && platform.subscribers(p.purchaseId) === 1, 10_000, 'reconnected and subscribed again');
    platform.push(p.purchaseId, { seq: 10, tradeStatus: 'PROCESSING' });
    await waitUntil(() => seen.includes('PROCESSING/push'), 5000, 'pushed PROCESSING over the new socket');
    stop();
    await waitUntil(() => platform.connections === 0, 3000, 'socket closed');
  } finally {
    t.close();
    await platform.close();
  }
});
