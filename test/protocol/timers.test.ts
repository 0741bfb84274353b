/**
 * `sleep` (src/protocol/sleep.ts) and `until` (src/protocol/until.ts):
 * sleep resolves after its time and rejects on abort; until holds at once,
 * on a wake-up, on a later check, or times out, and a throwing check is
 * "not yet".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimeoutError } from '../../src/protocol/errors.js';
import { sleep } from '../../src/protocol/sleep.js';
import { until } from '../../src/protocol/until.js';

test('sleep waits, and an abort (before or during) rejects with TimeoutError', async () => {
  const t0 = Date.now();
  await sleep(50);
  assert.ok(Date.now() - t0 >= 45);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(sleep(10_000, ac.signal), (e: unknown) => e instanceof TimeoutError && e.message === 'aborted');
  await assert.rejects(sleep(10_000, ac.signal), TimeoutError);
});

test('until: at once, on a wake-up, on a later interval, or false after the timeout', async () => {
  assert.equal(await until(() => true, { timeoutMs: 1000 }), true);
  let ready = false;
  let wake: (() => void) | undefined;
  const woken = until(() => ready, { timeoutMs: 5000, intervalMs: 10_000, wake: (w) => ((wake = w), () => (wake = undefined)) });
  ready = true;
  wake!();
  assert.equal(await woken, true);
  assert.equal(wake, undefined, 'unsubscribed when done');
  let n = 0;
  assert.equal(await until(async () => ++n >= 3, { timeoutMs: 2000, intervalMs: 10 }), true);
  let calls = 0;
  const t0 = Date.now();
  assert.equal(
    await until(
      () => {
        calls++;
        throw new Error('not yet');
      },
      { timeoutMs: 100, intervalMs: 20 },
    ),
    false,
  );
  assert.ok(Date.now() - t0 >= 95 && calls >= 2);
});
