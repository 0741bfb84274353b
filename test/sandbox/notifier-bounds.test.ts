/**
 * The notifier's list of notification states is bounded (docs/sandbox.md
 * "Bounded work"): every pending notification is kept, of the finished ones
 * only the `keepFinishedNotifications` most recently finished. Checked by
 * what the list holds, through a real sandbox and backend: two deliveries
 * the backend refuses wait a long retry (pending), five more are delivered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../src/protocol/errors.js';
import { DEFAULT_KEEP_FINISHED_NOTIFICATIONS } from '../../src/sandbox/index.js';
import { Notifier, type NotifierOptions } from '../../src/sandbox/outbound.js';
import { Scheduler } from '../../src/sandbox/scheduler.js';
import { api, orderOf, startPair, tradeStatusOf, until } from '../support/sandbox.js';

test('notifier: pending notifications all kept, only the newest N finished ones', async () => {
  // timeScale 1 and a ten-minute retry: a refused delivery stays pending for the whole test.
  const pair = await startPair({ timeScale: 1, retryScheduleMs: [600_000], keepFinishedNotifications: 3 });
  const base = pair.sandbox.url;
  const notifier = pair.sandbox.platform.notifier;
  try {
    assert.equal(notifier.keepFinished, 3);
    const pending: string[] = [];
    const delivered: string[] = [];
    for (let i = 0; i < 7; i++) {
      const said = await api(base).say({ text: '我要听万古神帝第35集', userId: `user-${i}` });
      const order = orderOf(await api(base).placeOrder(said.purchaseId!));
      const refuse = i === 1 || i === 4;
      if (refuse) pair.backend.deliverPlan.push('FAIL');
      assert.equal(tradeStatusOf(await api(base).payOrder(order.transactionId, 'success')), 'SUCCESS');
      const key = `deliver:${order.transactionId}`;
      // One notification at a time: the next starts once this one has its answer.
      await until(() => (refuse ? notifier.get(key)?.lastError : notifier.get(key)?.state === 'delivered'), 10_000, `the answer to ${key}`);
      (refuse ? pending : delivered).push(order.transactionId);
    }
    const listed = await api(base).notifications();
    const tids = (state: string) => listed.filter((n) => n.state === state).map((n) => n.transactionId);
    assert.deepEqual(tids('pending'), pending, 'every pending notification is still there');
    assert.deepEqual(tids('delivered'), delivered.slice(-3), 'the three most recently delivered, the older two forgotten');
    assert.equal(listed.length, 5);
    for (const tid of delivered.slice(0, 2)) assert.equal(notifier.get(`deliver:${tid}`), undefined);
    for (const tid of pending) assert.equal(notifier.get(`deliver:${tid}`)?.attempts, 1);
    assert.equal(pair.backend.of('/deliver').length, 7, 'nothing sent twice');
    // Closing ends the retry waits: the pending ones are marked stopped, not left waiting forever.
    pair.sandbox.platform.close();
    await until(() => pending.every((tid) => notifier.get(`deliver:${tid}`)?.state === 'stopped'), 5_000, 'the pending ones stopped');
    assert.equal(pair.backend.of('/deliver').length, 7, 'no attempt after close');
  } finally {
    await pair.close();
  }
});

test('scheduler: a sleep still running when close() is called resolves then; one after close at once', async () => {
  const scheduler = new Scheduler({ timeScale: 1, now: Date.now });
  let woke = false;
  const sleeping = scheduler.sleep(600_000).then(() => (woke = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(woke, false);
  scheduler.close();
  await sleeping;
  assert.equal(woke, true);
  assert.equal(scheduler.pending, 0);
  await scheduler.sleep(600_000); // resolves at once
});

test('notifier: keepFinishedNotifications defaults to 1000 and must be a whole number ≥ 0', async () => {
  assert.equal(DEFAULT_KEEP_FINISHED_NOTIFICATIONS, 1000);
  const pair = await startPair();
  try {
    assert.equal(pair.sandbox.platform.notifier.keepFinished, 1000);
  } finally {
    await pair.close();
  }
  const scheduler = new Scheduler({ timeScale: 1, now: Date.now });
  // Only the options the constructor reads: it throws before anything else is used.
  const notifier = (keepFinished: number) => new Notifier({ scheduler, keepFinished } as unknown as NotifierOptions);
  assert.equal(notifier(0).keepFinished, 0);
  for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => notifier(bad), InvalidArgumentError);
  scheduler.close();
});
