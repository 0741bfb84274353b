import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise } from 'xstate';
import { purchaseMachine, stateKey, DEFAULT_DELAYS } from '../src/device/machine.js';
import { machineToMermaid } from '../src/device/diagram.js';
import { CHARGE, Coverage, definition, explore, Harness, INPUTS, settle } from './support/statechart.js';

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
  assert.deepEqual(
    Object.keys(purchaseMachine.implementations.delays).sort(),
    [...Object.keys(DEFAULT_DELAYS), 'PAY_WINDOW'].sort(),
  );
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

test('stateKey and the Mermaid diagram follow the definition', () => {
  assert.equal(stateKey({ active: { paying: 'confirming' } }), 'paying.confirming');
  assert.equal(stateKey('done'), 'done');
  const mm = machineToMermaid(purchaseMachine);
  for (const id of definition(purchaseMachine).states) {
    const key = id.split('.').slice(1).join('_');
    assert.ok(mm.includes(` as ${key}`), `diagram has ${id}`);
  }
  assert.match(mm, /active_goods --> active_ordering : CONFIRM/);
  assert.match(mm, /active --> paid : STATUS \[isFresh & isSuccess\]/);
  assert.equal(CHARGE.payload.chargeInfo.items[0]!.totalFee, 200);
  assert.ok(new Coverage(purchaseMachine).report().states[1] > 0);
});

test('the committed diagram in docs/device.md is the one generated from the machine', async () => {
  const { readFileSync } = await import('node:fs');
  const { DOC, committedBlock, generatedBlock } = await import('../scripts/mermaid.js');
  const committed = committedBlock(readFileSync(DOC, 'utf8'));
  assert.ok(committed, 'docs/device.md has the diagram markers');
  assert.equal(committed, generatedBlock(), 'stale diagram: run node --import tsx scripts/mermaid.ts');
});
