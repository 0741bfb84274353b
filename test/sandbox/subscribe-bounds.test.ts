/**
 * Bounded work on the sandbox's device link (src/sandbox/device-link.ts),
 * through real HTTP and WebSockets, counted by structure (the signer's
 * signature counter, the outbox counters), never by time:
 * * repeated subscribes with nothing new cost no new signature (one socket
 *   gets only `subscribed`; another socket gets the same signed bytes);
 * * a subscribe that needs a fresh answer gets one (a change, an
 *   unsubscribe, a push older than `reusePushMs`);
 * * the periodic repeat reuses the signed push;
 * * a socket's outbox is capped: a newer status of a purchase supersedes an
 *   older one still waiting, else the oldest push is dropped, counted.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { KeyObject } from 'node:crypto';
import WebSocket from 'ws';
import { parseAuthorization } from '../../src/protocol/index.js';
import { signRsa2Async, verifyRsa2 } from '../../src/protocol/tsk-node.js';
import type { PurchaseStatus } from '../../src/sandbox/purchase-book.js';
import { api, deviceAuthFor, deviceHeaders, startPair, until } from '../support/sandbox.js';
import { deferred } from '../support/helpers.js';

const DEVICE = 'spk-bounds-1';

interface Stream {
  ws: WebSocket;
  frames: any[];
  pushes: any[];
  subscribe: (purchaseId: string, id?: string) => void;
}

async function openStream(base: string): Promise<Stream> {
  const ws = new WebSocket(base.replace(/^http/, 'ws') + '/device/v1/stream');
  const frames: any[] = [];
  const pushes: any[] = [];
  ws.on('message', (d) => {
    const f = JSON.parse(String(d));
    frames.push(f);
    if (f.type === 'push') pushes.push({ ...f, status: JSON.parse(f.body) });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const subscribe = (purchaseId: string, id = 's') => ws.send(JSON.stringify({ type: 'subscribe', id, purchaseId, deviceId: DEVICE, ...deviceAuthFor(base) }));
  return { ws, frames, pushes, subscribe };
}

const subscribedCount = (s: Stream) => s.frames.filter((f) => f.type === 'subscribed').length;

/** A screen purchase for DEVICE (the skill's Charge, then the device's start). */
async function startPurchase(base: string, userId = 'user-1'): Promise<string> {
  const said = await api(base).say({ text: '我要听万古神帝第35集', deviceId: DEVICE, userId });
  const charge = said.answer!.directives![0]!;
  const res = await fetch(`${base}/device/v1/purchases`, {
    method: 'POST',
    headers: { 'x-dingdang-device-id': DEVICE, ...deviceHeaders(base), 'content-type': 'application/json' },
    body: JSON.stringify({ mode: 'screen', charge, originalRequest: said.request, purchaseId: said.purchaseId }),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(res.status, 200, await res.text());
  return said.purchaseId!;
}

test('repeated subscribes with nothing new cost one signature; a change, an unsubscribe or another socket still get their push', async () => {
  const pair = await startPair({ device: { repeatStatusMs: 0 } });
  const base = pair.sandbox.url;
  const { signer } = pair.sandbox.platform;
  const link = pair.sandbox.device;
  const sockets: Stream[] = [];
  try {
    const id = await startPurchase(base);
    const before = signer.signatures.device;
    const a = await openStream(base);
    sockets.push(a);
    for (let i = 0; i < 10; i++) a.subscribe(id, `a${i}`);
    await until(() => subscribedCount(a) === 10 && a.pushes.length >= 1 && link.queuedPushes === 0, 3000, 'ten subscribed');
    assert.equal(signer.signatures.device - before, 1, 'ten subscribes, one signature');
    assert.equal(a.pushes.length, 1, 'the socket already had this status: only `subscribed` after the first');
    assert.deepEqual(
      a.frames.filter((f) => f.type === 'subscribed').map((f) => f.id),
      Array.from({ length: 10 }, (_, i) => `a${i}`),
    );
    assert.equal(verifyRsa2(a.pushes[0].body, a.pushes[0].authorization, pair.sandbox.tskPublicKey).ok, true);

    // Another socket (a reconnect): the same signed bytes, no new signature.
    const b = await openStream(base);
    sockets.push(b);
    for (let i = 0; i < 5; i++) b.subscribe(id, `b${i}`);
    await until(() => subscribedCount(b) === 5 && b.pushes.length >= 1 && link.queuedPushes === 0, 3000, 'b subscribed');
    assert.equal(signer.signatures.device - before, 1);
    assert.equal(b.pushes.length, 1);
    assert.equal(b.pushes[0].body, a.pushes[0].body);
    assert.equal(b.pushes[0].authorization, a.pushes[0].authorization);

    // Something new: one signature for the device, a push on both sockets; re-subscribing after it costs nothing.
    assert.equal(pair.sandbox.platform.cancel(id), true);
    await until(() => a.pushes.length === 2 && b.pushes.length === 2, 3000, 'the change pushed');
    assert.equal(signer.signatures.device - before, 2);
    assert.equal(a.pushes[1].status.endReason, 'cancelled');
    a.subscribe(id, 'again');
    await until(() => subscribedCount(a) === 11 && link.queuedPushes === 0, 3000, 'again');
    assert.equal(a.pushes.length, 2);
    assert.equal(signer.signatures.device - before, 2);

    // After an unsubscribe, a subscribe needs its answer: it gets the push (the same signed bytes, still fresh).
    a.ws.send(JSON.stringify({ type: 'unsubscribe', purchaseId: id }));
    await until(() => link.subscribers(id) === 1, 3000, 'unsubscribed');
    a.subscribe(id, 'back');
    await until(() => a.pushes.length === 3, 3000, 'the push after re-subscribing');
    assert.equal(a.pushes[2].body, a.pushes[1].body);
    assert.equal(signer.signatures.device - before, 2);

    // A device that drops off and comes back (every socket gone): the kept push, no signature.
    a.ws.terminate();
    b.ws.terminate();
    await until(() => link.connections === 0 && link.subscribers(id) === 0, 3000, 'all gone');
    const c = await openStream(base);
    sockets.push(c);
    c.subscribe(id, 'c');
    await until(() => c.pushes.length === 1 && link.queuedPushes === 0, 3000, 'c push');
    assert.equal(c.pushes[0].authorization, a.pushes[1].authorization);
    assert.equal(signer.signatures.device - before, 2);
  } finally {
    for (const s of sockets) s.ws.terminate();
    await pair.close();
  }
});

test('a signed push is reused only while fresh (reusePushMs on the signing clock) and under the same skew; 0 turns reuse off', async () => {
  let offset = 0;
  const pair = await startPair({ now: () => Date.now() + offset, device: { repeatStatusMs: 0, reusePushMs: 10_000 } });
  const base = pair.sandbox.url;
  const { signer } = pair.sandbox.platform;
  const sockets: Stream[] = [];
  const pushOn = async () => {
    const s = await openStream(base);
    sockets.push(s);
    s.subscribe(id);
    await until(() => s.pushes.length === 1 && pair.sandbox.device.queuedPushes === 0, 3000, 'push');
    return s.pushes[0];
  };
  let id = '';
  try {
    id = await startPurchase(base);
    const before = signer.signatures.device;
    const first = await pushOn();
    const second = await pushOn();
    assert.equal(second.authorization, first.authorization);
    assert.equal(signer.signatures.device - before, 1);
    offset += 20_000; // the signed push is now 20 s old: older than reusePushMs
    const third = await pushOn();
    assert.equal(signer.signatures.device - before, 2, 'a stale push is signed afresh');
    assert.notEqual(third.status.nonceStr, first.status.nonceStr);
    assert.equal(third.status.seq, first.status.seq, 'same status, fresh signature');
    assert.ok(Date.parse(isoOf(parseAuthorization(third.authorization).datetime)) > Date.parse(isoOf(parseAuthorization(first.authorization).datetime)));
    // A changed signing skew (the clock-skew fault) is not served by a push made before it.
    pair.sandbox.platform.faults.set({ clockSkewMs: -5_000 });
    await pushOn();
    assert.equal(signer.signatures.device - before, 3);
  } finally {
    for (const s of sockets) s.ws.terminate();
    await pair.close();
  }

  const off = await startPair({ device: { repeatStatusMs: 0, reusePushMs: 0 } });
  const streams: Stream[] = [];
  try {
    const pid = await startPurchase(off.sandbox.url);
    const before = off.sandbox.platform.signer.signatures.device;
    for (let i = 0; i < 3; i++) {
      const s = await openStream(off.sandbox.url);
      streams.push(s);
      s.subscribe(pid);
      await until(() => s.pushes.length === 1, 3000, 'push');
    }
    assert.equal(off.sandbox.platform.signer.signatures.device - before, 3, 'reuse off: one signature per socket');
  } finally {
    for (const s of streams) s.ws.terminate();
    await off.close();
  }
});

test('the periodic repeat sends the signed push again instead of signing one per socket', async () => {
  const pair = await startPair({ device: { repeatStatusMs: 50 } });
  const base = pair.sandbox.url;
  const { signer } = pair.sandbox.platform;
  const sockets: Stream[] = [];
  try {
    const id = await startPurchase(base);
    const before = signer.signatures.device;
    for (let i = 0; i < 3; i++) {
      const s = await openStream(base);
      sockets.push(s);
      s.subscribe(id);
    }
    await until(() => sockets.every((s) => s.pushes.length >= 4), 5000, 'repeats on every socket');
    assert.equal(signer.signatures.device - before, 1, 'three sockets × several repeats, one signature');
    for (const s of sockets) for (const p of s.pushes) assert.equal(p.authorization, sockets[0]!.pushes[0].authorization);
  } finally {
    for (const s of sockets) s.ws.terminate();
    await pair.close();
  }
});

test('a full socket outbox: a newer status supersedes an older one still waiting, else the oldest push goes; seq order holds', async () => {
  // A signer whose signatures wait while `holding`: pushes pile up in the outbox.
  let holding = false;
  const held: Array<() => void> = [];
  const signFn = (raw: string | Uint8Array, key: KeyObject, now: number) => {
    if (!holding) return signRsa2Async(raw, key, { now });
    const go = deferred<void>();
    held.push(() => go.resolve());
    return go.promise.then(() => signRsa2Async(raw, key, { now }));
  };
  const pair = await startPair({ signer: { signFn, maxInFlight: 1 }, device: { repeatStatusMs: 0, maxQueuedPerSocket: 2 } });
  const base = pair.sandbox.url;
  const link = pair.sandbox.device;
  const platform = pair.sandbox.platform;
  let s: Stream | undefined;
  try {
    const ids = [await startPurchase(base, 'u1'), await startPurchase(base, 'u2'), await startPurchase(base, 'u3')];
    s = await openStream(base);
    // One at a time: three at once would already overflow an outbox of two.
    for (const [i, id] of ids.entries()) {
      s.subscribe(id, id);
      await until(() => s!.pushes.length === i + 1 && link.queuedPushes === 0, 3000, 'first pushes');
    }
    const seq = new Map(ids.map((id) => [id, platform.status(id).seq]));
    const change = (id: string) => {
      const next = seq.get(id)! + 1;
      seq.set(id, next);
      const status: PurchaseStatus = { ...platform.status(id), seq: next };
      platform.emit('status', status);
    };
    holding = true;
    const [p1, p2, p3] = ids as [string, string, string];
    // Five changes of p1: at most two wait; each newer one supersedes the oldest waiting one.
    for (let i = 0; i < 5; i++) {
      change(p1);
      assert.ok(link.queuedPushes <= 2, `queued ${link.queuedPushes}`);
    }
    assert.equal(link.pushesSuperseded, 3);
    assert.equal(link.pushesDropped, 0);
    // p2 then p3: nothing of theirs waits, so the oldest push (of p1) goes.
    change(p2);
    change(p3);
    assert.equal(link.queuedPushes, 2);
    assert.equal(link.pushesDropped, 2);
    holding = false;
    while (held.length > 0) {
      held.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await until(() => link.queuedPushes === 0 && s!.pushes.length === 5, 3000, 'flushed');
    const after = s.pushes.slice(3).map((p) => [p.status.purchaseId, p.status.seq]);
    assert.deepEqual(after, [
      [p2, seq.get(p2)],
      [p3, seq.get(p3)],
    ]);
    // What was dropped comes back with the next subscribe (this socket no longer counts as having it).
    s.subscribe(p1, 'p1-again');
    await until(() => s!.pushes.length === 6, 3000, 'p1 again');
    assert.deepEqual([s.pushes[5].status.purchaseId, s.pushes[5].status.seq], [p1, platform.status(p1).seq]);
    // A socket that closes leaves nothing queued behind.
    holding = true;
    change(p2);
    assert.equal(link.queuedPushes, 1);
    s.ws.terminate();
    await until(() => link.connections === 0, 3000, 'closed');
    assert.equal(link.queuedPushes, 0);
    holding = false;
    for (const go of held.splice(0)) go();
  } finally {
    s?.ws.terminate();
    await pair.close();
  }
});

function isoOf(compact: string): string {
  return `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 8)}T${compact.slice(9, 11)}:${compact.slice(11, 13)}:${compact.slice(13, 15)}Z`;
}

test('a device reply with nothing left to sign with is a 503 with Retry-After, and the sandbox goes on', async () => {
  let holding = false;
  const held: Array<() => void> = [];
  const signFn = (raw: string | Uint8Array, key: KeyObject, now: number) => {
    if (!holding) return signRsa2Async(raw, key, { now });
    const go = deferred<void>();
    held.push(() => go.resolve());
    return go.promise.then(() => signRsa2Async(raw, key, { now }));
  };
  const pair = await startPair({ signer: { signFn, maxInFlight: 1, maxQueued: 1 }, device: { repeatStatusMs: 0 } });
  const base = pair.sandbox.url;
  const { signer } = pair.sandbox.platform;
  try {
    const id = await startPurchase(base);
    const status = () =>
      fetch(`${base}/device/v1/purchases/${id}/status`, {
        headers: { 'x-dingdang-device-id': DEVICE, ...deviceHeaders(base) },
        signal: AbortSignal.timeout(5000),
      });
    holding = true;
    const first = status(); // signing (held)
    await until(() => held.length === 1, 3000, 'first signing');
    const second = status(); // waiting in the device queue
    await until(() => signer.queued('device') === 1, 3000, 'second queued');
    const third = await status();
    assert.equal(third.status, 503);
    assert.equal(third.headers.get('retry-after'), '1');
    assert.ok(signer.refused.device >= 1);
    holding = false;
    for (const go of held.splice(0)) go();
    for (const res of await Promise.all([first, second])) {
      assert.equal(res.status, 200);
      assert.equal(verifyRsa2(await res.text(), res.headers.get('authorization'), pair.sandbox.tskPublicKey).ok, true);
    }
    assert.equal((await status()).status, 200);
  } finally {
    holding = false;
    for (const go of held.splice(0)) go();
    await pair.close();
  }
});
