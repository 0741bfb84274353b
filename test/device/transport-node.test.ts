/**
 * The Node entry (src/device/node.ts): `createNodeTransport` supplies `ws`
 * as the WebSocket, so pushes flow in Node 20 without a global WebSocket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakePlatform, waitUntil } from '../support/fake-platform.js';
import { createNodeTransport } from '../../src/device/node.js';
import { parsePush } from '../../src/protocol/index.js';

test('createNodeTransport subscribes over ws and delivers a verified push', async () => {
  const platform = await FakePlatform.start();
  const t = createNodeTransport({
    platformUrl: platform.url,
    tskPublicKey: platform.publicKeyPem,
    deviceId: platform.deviceId,
    deviceToken: platform.deviceToken!,
    silenceMs: 60_000,
  });
  try {
    assert.equal(typeof parsePush, 'function');
    const p = platform.addPurchase();
    const seen: string[] = [];
    const stop = t.subscribe(p.purchaseId, { onUpdate: (u) => void seen.push(`${u.tradeStatus}/${u.source}`) });
    await waitUntil(() => platform.subscribers(p.purchaseId) === 1, 3000, 'subscribed over ws');
    // seq 10 exists only in this push (the platform's own state stays at seq 1): only the socket can deliver it.
    platform.push(p.purchaseId, { seq: 10, tradeStatus: 'PROCESSING' });
    await waitUntil(() => seen.includes('PROCESSING/push'), 5000, 'pushed PROCESSING');
    stop();
    await waitUntil(() => platform.connections === 0, 3000, 'socket closed');
  } finally {
    t.close();
    await platform.close();
  }
});
