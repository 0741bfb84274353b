/**
 * The example skill runs the reconciler by default: a paid order whose
 * delivery notifications are all dropped (sandbox fault `drop`) is still
 * delivered, once, and the user can listen. With `reconcile: false` it stays
 * undelivered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemoStack } from '../../src/demo/stack.js';

async function paidButNeverNotified(reconcile: false | { intervalMs: number; minAgeMs: number }) {
  const stack = await startDemoStack({ log: (l) => process.env.DEBUG_RECON && console.error(l), reconcile, sandbox: { timeScale: 0.001 } });
  await stack.client.setFaults({ partner: { mode: 'drop', calls: ['deliver'], count: 0 } });
  const said = await stack.client.say({ text: '我要听万古神帝第35集', userId: 'rec-user', mode: 'screenless' });
  assert.ok(said.purchaseId);
  const paid = await stack.client.payPurchase(said.purchaseId, 'success');
  assert.ok('transactionId' in paid);
  return stack;
}

test('a paid order whose notifications never arrive is delivered by the example skill’s own reconciler, exactly once', { timeout: 30_000 }, async () => {
  const stack = await paidButNeverNotified({ intervalMs: 100, minAgeMs: 1000 });
  try {
    const end = Date.now() + 15_000;
    while (stack.deliveries.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.equal(stack.deliveries.length, 1, 'delivered by the reconciler');
    assert.deepEqual(stack.deliveries[0]!.itemIds, ['wgsd035']);
    await new Promise((r) => setTimeout(r, 500)); // more passes: nothing more
    assert.equal(stack.deliveries.length, 1, 'exactly once');
    const again = await stack.client.say({ text: '我要听万古神帝第35集', userId: 'rec-user', mode: 'screenless' });
    assert.ok(
      again.answer?.directives?.some((d) => d.type === 'AudioPlayer.Play'),
      'owned now: it plays',
    );
  } finally {
    await stack.close();
  }
});

test('with reconcile: false the same order stays undelivered', { timeout: 30_000 }, async () => {
  const stack = await paidButNeverNotified(false);
  try {
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(stack.deliveries.length, 0);
  } finally {
    await stack.close();
  }
});
