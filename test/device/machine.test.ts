import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise } from 'xstate';
import { readFileSync } from 'node:fs';
import { purchaseMachine, stateKey, statePath, DEFAULT_DELAYS, FINAL_STATES, PUBLIC_STATE_NAMES } from '../../src/device/machine.js';
import { allStateNodes, machineToMermaid, ownTransitions } from '../../src/device/diagram.js';
import { CHARGE, Coverage, definition, explore, Harness, INPUTS, settle } from '../support/statechart.js';

test('model-based exploration exercises every state and every transition of the definition', async () => {
  const { coverage, nodes } = await explore();
  const r = coverage.report();
  // Totals from the machine definition itself, not a hand-kept list.
  const def = definition(purchaseMachine);
  assert.equal(r.states[1], def.states.length);
  assert.equal(r.transitions[1], def.transitions.length);
  assert.ok(def.states.length >= 20 && def.transitions.length >= 50, 'definition walk found the machine');
  console.log(`statechart coverage: states ${r.states[0]}/${r.states[1]}, transitions ${r.transitions[0]}/${r.transitions[1]}`);
  assert.deepEqual(r.missingStates, [], 'unvisited states');
  assert.deepEqual(r.missingTransitions, [], 'unexercised transitions');
  assert.ok(nodes > 50, `explored ${nodes} situations`);

  // Safety over every explored path: "paid" only from a fresh verified SUCCESS, never undone.
  assert.ok(coverage.paidBy.length > 0);
  for (const e of coverage.paidBy) {
    const ev = e as { type: string; update?: { tradeStatus: string } };
    assert.equal(ev.type, 'STATUS');
    assert.equal(ev.update?.tradeStatus, 'SUCCESS');
  }
  assert.deepEqual(coverage.unpaidBy, [], 'paid was never undone');
});

/** Guard names in a guard definition (strings, `{ type }`, and and/not/or trees). */
function guardNames(g: unknown): string[] {
  if (!g) return [];
  if (typeof g === 'string') return [g];
  if (typeof g === 'object' && typeof (g as { type?: unknown }).type === 'string') return [(g as { type: string }).type];
  if (typeof g === 'function') return ((g as { guards?: unknown[] }).guards ?? []).flatMap(guardNames);
  return [];
}

async function toPaying(h: Harness) {
  h.start();
  await settle();
  await h.apply({ kind: 'resolve', actor: 'startPurchase', variant: 0 });
  assert.equal(stateKey(h.snapshot.value), 'goods');
  await h.apply({ kind: 'send', event: { type: 'CONFIRM' } });
  await h.apply({ kind: 'resolve', actor: 'placeOrder', variant: 0 });
  assert.equal(stateKey(h.snapshot.value), 'paying.awaitingScan');
}

test('duplicate, stale and foreign updates change nothing; SUCCESS is final', async () => {
  const h = new Harness(INPUTS[0]!);
  await toPaying(h);
  const status = (tradeStatus: string, seq: number, purchaseId = 'P1') =>
    h.sendBack!({ type: 'STATUS', update: { purchaseId, tradeStatus: tradeStatus as 'NOTPAY', seq, source: 'push' } });
  status('PROCESSING', 2);
  assert.equal(stateKey(h.snapshot.value), 'paying.confirming');
  const before = h.snapshot;
  status('NOTPAY', 1); // out of order
  assert.equal(stateKey(h.snapshot.value), 'paying.confirming');
  assert.equal(h.snapshot.context.lastSeq, 2);
  status('PROCESSING', 2); // duplicate
  assert.equal(stateKey(h.snapshot.value), 'paying.confirming');
  assert.equal(h.snapshot.context.lastSeq, 2);
  assert.equal(h.snapshot, before, 'stale and duplicate updates left the very same snapshot');
  status('SUCCESS', 9, 'OTHER'); // another purchase
  assert.equal(h.snapshot.context.paid, false);
  assert.equal(stateKey(h.snapshot.value), 'paying.confirming');
  const send = h.sendBack!;
  status('SUCCESS', 3);
  assert.equal(stateKey(h.snapshot.value), 'resuming');
  assert.equal(h.snapshot.context.paid, true);
  assert.equal(h.watchStops, 1, 'watcher released after SUCCESS');
  // A late NOTPAY, even sent straight to the machine, changes nothing.
  h.actor.send({ type: 'STATUS', update: { purchaseId: 'P1', tradeStatus: 'NOTPAY', seq: 4, source: 'push' } });
  send({ type: 'STATUS', update: { purchaseId: 'P1', tradeStatus: 'FAIL', seq: 5, source: 'push' } });
  assert.equal(stateKey(h.snapshot.value), 'resuming');
  assert.equal(h.snapshot.context.tradeStatus, 'SUCCESS');
  await h.apply({ kind: 'resolve', actor: 'resumePurchase', variant: 0 });
  assert.equal(h.snapshot.status, 'done');
  assert.equal(stateKey(h.snapshot.value), 'done');
  h.stop();
});

test('status query goes to the watcher; verifying asks again before giving up without saying paid', async () => {
  const h = new Harness(INPUTS[0]!);
  await toPaying(h);
  h.actor.send({ type: 'QUERY' });
  assert.equal(h.queries, 1);
  h.sendBack!({ type: 'STATUS', update: { purchaseId: 'P1', tradeStatus: 'PROCESSING', seq: 1, source: 'push' } });
  await h.apply({ kind: 'tick' }); // CONFIRM_TIMEOUT
  assert.equal(stateKey(h.snapshot.value), 'verifying');
  assert.equal(h.queries, 2);
  await h.apply({ kind: 'tick' }); // VERIFY_TIMEOUT
  assert.equal(stateKey(h.snapshot.value), 'unresolved');
  assert.equal(h.snapshot.context.paid, false);
  h.stop();
});

test('an unprovided machine fails loudly instead of hanging', async () => {
  const actor = createActor(purchaseMachine, { input: INPUTS[0]! });
  actor.start();
  await settle();
  assert.equal(actor.getSnapshot().value, 'failed');
  assert.equal(actor.getSnapshot().context.error?.code, 'ERR_DEVICE_NOT_PROVIDED');
  actor.stop();
});

test('delays are named and overridable with provide', async () => {
  assert.deepEqual(Object.keys(purchaseMachine.implementations.delays).sort(), [...Object.keys(DEFAULT_DELAYS), 'PAY_WINDOW'].sort());
  const m = purchaseMachine.provide({
    actors: { startPurchase: fromPromise(() => new Promise<{ purchaseId: string }>(() => {})) },
    delays: { START_TIMEOUT: 5 },
  });
  const actor = createActor(m, { input: INPUTS[0]! }).start();
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(actor.getSnapshot().value, 'failed');
  assert.equal(actor.getSnapshot().context.error?.code, 'ERR_TIMEOUT');
  actor.stop();
});

test('stateKey maps every state of the definition to the public names the companion, simulate and the docs use', () => {
  assert.equal(stateKey({ checkout: { screen: { paying: 'confirming' } } }), 'paying.confirming');
  assert.equal(stateKey({ checkout: { screenless: 'pushed' } }), 'app.pushed');
  assert.equal(stateKey({ checkout: { screenless: 'verifying' } }), 'verifying');
  assert.equal(stateKey({ resume: 'resuming' }), 'resuming');
  assert.equal(stateKey('done'), 'done');
  assert.equal(statePath({ checkout: { screen: { paying: 'awaitingScan' } } }), 'checkout.screen.paying.awaitingScan');
  // Every leaf of the definition has a public name; the table names nothing else.
  const leaves = allStateNodes(purchaseMachine)
    .filter((n) => Object.keys(n.states).length === 0)
    .map((n) => n.path.join('.'));
  assert.deepEqual([...leaves].sort(), Object.keys(PUBLIC_STATE_NAMES).sort());
  // The public names are the ones from before the layout by flow.
  assert.deepEqual(
    [...new Set(Object.values(PUBLIC_STATE_NAMES))].sort(),
    [
      'starting',
      'goods',
      'ordering',
      'orderFailed',
      'paying.awaitingScan',
      'paying.confirming',
      'expired',
      'refreshing',
      'app.pushed',
      'app.ordered',
      'app.confirming',
      'payFailed',
      'verifying',
      'cancelling',
      'paid',
      'owned',
      'resuming',
      'done',
      'resumeFailed',
      'cancelled',
      'timedOut',
      'unresolved',
      'failed',
    ].sort(),
  );
  for (const o of FINAL_STATES) assert.equal(PUBLIC_STATE_NAMES[o], o);
});

test('the flows are compound states of their own: the mode is looked at once, the shared behaviour is on checkout', () => {
  const all = [purchaseMachine.root, ...allStateNodes(purchaseMachine)];
  const uses = (name: string) =>
    all.flatMap((n) =>
      ownTransitions(n)
        .filter((t) => JSON.stringify(guardNames(t.guard)).includes(`"${name}"`))
        .map(() => n.id),
    );
  assert.deepEqual(uses('isScreen'), ['purchase.starting'], 'only the start chooses the flow');
  assert.deepEqual(uses('isSuccess'), ['purchase.checkout'], 'one way into paid');
  for (const flow of ['screen', 'screenless']) {
    const node = purchaseMachine.getStateNodeById(`purchase.checkout.${flow}`);
    assert.ok(Object.keys(node.states).length >= 7, `${flow} holds its flow`);
  }
  const resume = purchaseMachine.getStateNodeById('purchase.resume');
  assert.deepEqual(Object.keys(resume.states), ['paid', 'owned', 'resuming']);
  const checkout = purchaseMachine.getStateNodeById('purchase.checkout');
  assert.deepEqual([...checkout.transitions.keys()].sort(), ['CANCEL', 'CONNECTION', 'QUERIED', 'QUERY', 'QUERY_FAILED', 'REJECTED', 'STATUS']);
  assert.equal(checkout.invoke[0]?.src, 'watchStatus');
  // Actor results are typed by setup({ actors }), not cast.
  assert.doesNotMatch(readFileSync(new URL('../../src/device/machine.ts', import.meta.url), 'utf8'), /as unknown as/);
});

test('PROCESSING: the scan on the pay page and paying in the app, and the same push anywhere else in the flow', async () => {
  const processing = (h: Harness) => h.apply({ kind: 'status', status: 'PROCESSING', fresh: true, withOrder: false });
  // Screen: scanned on the pay page.
  let h = new Harness(INPUTS[0]!);
  await toPaying(h);
  await processing(h);
  assert.equal(stateKey(h.snapshot.value), 'paying.confirming');
  h.stop();
  // Screen: a PROCESSING after the code expired (scanned at the last second).
  h = new Harness(INPUTS[0]!);
  await toPaying(h);
  await h.apply({ kind: 'tick' }); // PAY_WINDOW
  assert.equal(stateKey(h.snapshot.value), 'expired');
  await processing(h);
  assert.equal(stateKey(h.snapshot.value), 'paying.confirming');
  h.stop();
  // Screenless: paying in the app after the order came, and before it did.
  for (const withOrderFirst of [true, false]) {
    h = new Harness(INPUTS[2]!);
    h.start();
    await settle();
    await h.apply({ kind: 'resolve', actor: 'startPurchase', variant: 0 });
    assert.equal(stateKey(h.snapshot.value), 'app.pushed');
    if (withOrderFirst) {
      await h.apply({ kind: 'status', status: 'NOTPAY', fresh: true, withOrder: true });
      assert.equal(stateKey(h.snapshot.value), 'app.ordered');
    }
    await processing(h);
    assert.equal(stateKey(h.snapshot.value), 'app.confirming');
    h.stop();
  }
  // Cancelling: a FAIL confirms the cancel (no payFailed), a PROCESSING is only recorded.
  h = new Harness(INPUTS[0]!);
  await toPaying(h);
  await h.apply({ kind: 'send', event: { type: 'CANCEL' } });
  assert.equal(stateKey(h.snapshot.value), 'cancelling');
  await processing(h);
  await h.apply({ kind: 'status', status: 'FAIL', fresh: true, withOrder: false });
  assert.equal(stateKey(h.snapshot.value), 'cancelling');
  assert.equal(h.snapshot.context.tradeStatus, 'FAIL');
  await h.apply({ kind: 'resolve', actor: 'cancelPurchase', variant: 0 });
  assert.equal(stateKey(h.snapshot.value), 'cancelled');
  h.stop();
});

test('the Mermaid views follow the definition: the whole purchase folded, then pay1, pay2, pay3', () => {
  const full = machineToMermaid(purchaseMachine);
  for (const id of definition(purchaseMachine).states) {
    const key = id.split('.').slice(1).join('_');
    assert.ok(full.includes(` as ${key}`), `diagram has ${id}`);
  }
  assert.match(full, /checkout_screen_goods --> checkout_screen_ordering : CONFIRM\n/);
  assert.match(full, /checkout --> resume_paid : STATUS \[isFresh & isSuccess\]/);
  assert.match(full, /checkout_screen_orderFailed --> checkout_screen_ordering : CONFIRM \/ REFRESH\n/, 'parallel arrows are one');
  assert.match(full, /state "screen · flow A \(pay1\): screen speaker" as checkout_screen/);
  assert.doesNotMatch(full, /\[\*\] --> resume_paid/, 'resume is never entered by default: no initial marker');
  const overview = machineToMermaid(purchaseMachine, { depth: 2 });
  assert.doesNotMatch(overview, /checkout_screen_goods/);
  assert.match(overview, /starting --> checkout_screen : done \[isScreen\]\n/);
  assert.match(overview, /checkout_screen --> resume_owned : done \[isAlreadyOwned\]\n/);
  const pay1 = machineToMermaid(purchaseMachine, { focus: 'checkout.screen' });
  assert.doesNotMatch(pay1, /screenless/);
  assert.match(pay1, /checkout_screen --> resume : STATUS \[isFresh & isSuccess\]\n/, 'the shared SUCCESS from the border');
  assert.match(pay1, /checkout_screen_paying_awaitingScan --> checkout_screen_paying_confirming : STATUS \[isFresh & isProcessing\]\n/);
  const pay2 = machineToMermaid(purchaseMachine, { focus: 'checkout.screenless' });
  assert.doesNotMatch(pay2, /checkout_screen_/);
  assert.match(pay2, /checkout_screenless_pushed --> checkout_screenless_ordered/);
  const pay3 = machineToMermaid(purchaseMachine, { focus: 'resume' });
  assert.match(pay3, /checkout --> resume_paid : STATUS \[isFresh & isSuccess\]\n/);
  assert.match(pay3, /resume_resuming --> done : done\n/);
  assert.equal(CHARGE.payload.chargeInfo.items[0]!.totalFee, 200);
  assert.ok(new Coverage(purchaseMachine).report().states[1] > 0);
});

test('the committed diagram in docs/device.md is the one generated from the machine', async () => {
  const { readFileSync } = await import('node:fs');
  const { DOC, committedBlock, generatedBlock, generatedPlayerBlock, PLAYER_START, PLAYER_END } = await import('../../scripts/mermaid.js');
  const doc = readFileSync(DOC, 'utf8');
  const committed = committedBlock(doc);
  assert.ok(committed, 'docs/device.md has the diagram markers');
  assert.equal(committed, generatedBlock(), 'stale diagram: run node --import tsx scripts/mermaid.ts');
  assert.equal(committedBlock(doc, PLAYER_START, PLAYER_END), generatedPlayerBlock(), 'stale player diagram: run node --import tsx scripts/mermaid.ts');
});

test('a FAIL that says the user cancelled (endReason) ends the purchase as cancelled from any checkout state; other FAILs offer the retry', async () => {
  const cancelledPush = (h: Harness, fresh = true) => h.apply({ kind: 'status', status: 'FAIL', fresh, withOrder: true, endReason: 'cancelled' });
  const started = async (input: (typeof INPUTS)[number]) => {
    const h = new Harness(input);
    h.start();
    await settle();
    await h.apply({ kind: 'resolve', actor: 'startPurchase', variant: 0 });
    return h;
  };
  const endsCancelled = (h: Harness, where: string) => {
    assert.equal(h.snapshot.status, 'done', where);
    assert.equal(stateKey(h.snapshot.value), 'cancelled', where);
    assert.equal(h.snapshot.context.paid, false, where);
    assert.equal(h.snapshot.context.tradeStatus, 'FAIL', where);
    assert.equal(h.watchStops, 1, `${where}: watcher released`);
  };
  // Screen: on the goods, on the pay page, after the scan, after a payment failure, while cancelling.
  let h = await started(INPUTS[0]!);
  await cancelledPush(h);
  endsCancelled(h, 'goods');
  h.stop();
  h = new Harness(INPUTS[0]!);
  await toPaying(h);
  await cancelledPush(h, false); // stale: ignored
  assert.equal(stateKey(h.snapshot.value), 'paying.awaitingScan');
  await cancelledPush(h);
  endsCancelled(h, 'paying.awaitingScan');
  h.stop();
  h = new Harness(INPUTS[0]!);
  await toPaying(h);
  await h.apply({ kind: 'status', status: 'PROCESSING', fresh: true, withOrder: false });
  assert.equal(stateKey(h.snapshot.value), 'paying.confirming');
  await cancelledPush(h);
  endsCancelled(h, 'paying.confirming');
  h.stop();
  h = new Harness(INPUTS[0]!);
  await toPaying(h);
  h.sendBack!({ type: 'STATUS', update: { purchaseId: 'P1', tradeStatus: 'FAIL', seq: 1, source: 'push', reason: '余额不足', endReason: 'failed' } });
  await settle();
  assert.equal(stateKey(h.snapshot.value), 'payFailed', 'a payment failure still offers the retry');
  await cancelledPush(h);
  endsCancelled(h, 'payFailed');
  h.stop();
  h = new Harness(INPUTS[0]!);
  await toPaying(h);
  await h.apply({ kind: 'send', event: { type: 'CANCEL' } });
  assert.equal(stateKey(h.snapshot.value), 'cancelling');
  await cancelledPush(h);
  endsCancelled(h, 'cancelling');
  h.stop();
  // Screenless: cancelled in the app before ordering, and after.
  h = await started(INPUTS[2]!);
  assert.equal(stateKey(h.snapshot.value), 'app.pushed');
  await h.apply({ kind: 'status', status: 'FAIL', fresh: true, withOrder: false, endReason: 'cancelled' });
  endsCancelled(h, 'app.pushed');
  h.stop();
  h = await started(INPUTS[2]!);
  await h.apply({ kind: 'status', status: 'NOTPAY', fresh: true, withOrder: true });
  assert.equal(stateKey(h.snapshot.value), 'app.ordered');
  await cancelledPush(h);
  endsCancelled(h, 'app.ordered');
  h.stop();
  // A FAIL without an endReason (a platform without the extension) is a payment failure, as before.
  h = await started(INPUTS[2]!);
  await h.apply({ kind: 'status', status: 'FAIL', fresh: true, withOrder: true });
  assert.equal(stateKey(h.snapshot.value), 'payFailed');
  h.stop();
  // One way into cancelled from a push: the shared checkout, as for paid.
  const all = [purchaseMachine.root, ...allStateNodes(purchaseMachine)];
  const users = all.filter((n) => ownTransitions(n).some((t) => guardNames(t.guard).includes('isCancelledEnd'))).map((n) => n.id);
  assert.deepEqual(users, ['purchase.checkout']);
});
