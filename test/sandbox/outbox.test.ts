/**
 * The sandbox's outbox to skill backends (src/sandbox/outbound.ts `Outbox`):
 * calls in flight and waiting are capped per skill and in all; one more is
 * refused at once with `ERR_OUTBOX_FULL`. Through a real sandbox and backend:
 * a refused delivery notification is recorded, counted and retried on the
 * schedule (never dropped), a refused create order reaches the caller.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/protocol/index.js';
import { Outbox, OutboxFullError } from '../../src/sandbox/outbound.js';
import { SandboxApiError } from '../../src/sandbox/errors.js';
import { deferred } from '../support/helpers.js';
import { api, orderOf, startPair, tradeStatusOf, until } from '../support/sandbox.js';

const tick = () => new Promise((r) => setImmediate(r));

/** A call that ends when the test says so; records when it started. */
function calls() {
  const started: string[] = [];
  const ends = new Map<string, () => void>();
  const call = (name: string) => () => {
    started.push(name);
    const d = deferred<string>();
    ends.set(name, () => d.resolve(name));
    return d.promise;
  };
  const end = async (name: string) => {
    ends.get(name)!();
    await tick();
    await tick();
  };
  return { started, call, end };
}

describe('Outbox: capped calls to skill backends', () => {
  it('runs at most maxInFlightPerSkill calls to a skill, FIFO after, refuses beyond maxQueuedPerSkill', async () => {
    const box = new Outbox({ maxInFlightPerSkill: 2, maxQueuedPerSkill: 2 });
    const c = calls();
    const runs = ['a', 'b', 'c', 'd'].map((n) => box.run('skillA', c.call(n)));
    await tick();
    assert.deepEqual(c.started, ['a', 'b']);
    assert.equal(box.inFlight('skillA'), 2);
    assert.equal(box.queued('skillA'), 2);
    let refusal: unknown;
    try {
      await box.run('skillA', c.call('e'));
    } catch (e) {
      refusal = e;
    }
    assert.ok(refusal instanceof OutboxFullError);
    assert.equal(refusal.code, 'ERR_OUTBOX_FULL');
    assert.equal(refusal.queue, 'skillA');
    assert.equal(box.refused, 1);
    assert.ok(!c.started.includes('e'), 'a refused call never runs');
    // Another skill is not held up by skillA's queue.
    const other = box.run('skillB', c.call('x'));
    await tick();
    assert.deepEqual(c.started, ['a', 'b', 'x']);
    await c.end('b');
    assert.deepEqual(c.started, ['a', 'b', 'x', 'c']);
    await c.end('a');
    await c.end('c');
    await c.end('d');
    await c.end('x');
    assert.deepEqual(await Promise.all([...runs, other]), ['a', 'b', 'c', 'd', 'x']);
    assert.equal(box.inFlight(), 0);
    assert.equal(box.queued(), 0);
  });

  it('the total caps hold across skills, and a freed slot goes to the skills in turn', async () => {
    const box = new Outbox({ maxInFlightTotal: 1, maxQueuedTotal: 3 });
    const c = calls();
    const runs = [box.run('A', c.call('a1')), box.run('A', c.call('a2')), box.run('A', c.call('a3')), box.run('B', c.call('b1'))];
    await tick();
    assert.deepEqual(c.started, ['a1']);
    await assert.rejects(box.run('C', c.call('c1')), (e: unknown) => e instanceof OutboxFullError && /in all/.test(e.message));
    await c.end('a1');
    await c.end('a2');
    await c.end('b1');
    await c.end('a3');
    await Promise.all(runs);
    assert.deepEqual(c.started, ['a1', 'a2', 'b1', 'a3'], 'A, then B, then A again');
  });

  it('a call that throws frees its slot', async () => {
    const box = new Outbox({ maxInFlightPerSkill: 1 });
    await assert.rejects(
      box.run('A', () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await box.run('A', () => Promise.resolve(7)), 7);
    assert.equal(box.inFlight(), 0);
  });

  it('refuses bad limits with a typed error', () => {
    for (const l of [{ maxInFlightPerSkill: 0 }, { maxInFlightTotal: 1.5 }, { maxQueuedPerSkill: -3 }, { maxQueuedTotal: Number.NaN }])
      assert.throws(() => new Outbox(l), InvalidArgumentError);
  });
});

describe('the sandbox behind a full outbox', () => {
  it('a refused delivery notification is recorded, counted and retried until delivered; a refused create order reaches the caller', async () => {
    const pair = await startPair({
      timeScale: 1,
      callTimeoutMs: 500,
      retryScheduleMs: Array.from({ length: 40 }, () => 150),
      outbox: { maxInFlightPerSkill: 1, maxQueuedPerSkill: 1 },
    });
    const base = pair.sandbox.url;
    const platform = pair.sandbox.platform;
    try {
      assert.equal(platform.outbox.maxInFlightPerSkill, 1);
      // Three orders, made one at a time (create order never waits here).
      const orders = [];
      for (const user of ['u1', 'u2', 'u3']) {
        const said = await api(base).say({ text: '我要听万古神帝第35集', userId: user });
        orders.push(orderOf(await api(base).placeOrder(said.purchaseId!)));
      }
      const fourth = await api(base).say({ text: '我要听万古神帝第35集', userId: 'u4' });
      pair.backend.deliverPlan.push('hang'); // the first delivery holds the only slot until its timeout
      for (const o of orders) assert.equal(tradeStatusOf(await api(base).payOrder(o.transactionId, 'success')), 'SUCCESS');
      // 1st in flight, 2nd waiting, 3rd refused at once: recorded and counted, not dropped.
      const refusedCall = platform.callLog().find((c) => c.kind === 'deliver' && c.error?.startsWith('ERR_OUTBOX_FULL'));
      assert.ok(refusedCall, 'the refusal is in the call log');
      assert.ok(refusedCall.body.includes(orders[2]!.transactionId));
      assert.ok(platform.notifier.overflowed >= 1);
      const third = platform.notifier.get(`deliver:${orders[2]!.transactionId}`)!;
      assert.equal(third.state, 'pending');
      assert.match(third.lastError ?? '', /^ERR_OUTBOX_FULL/);
      // A create order now: refused, and the caller hears why.
      let refusal: unknown;
      try {
        await api(base).placeOrder(fourth.purchaseId!);
      } catch (e) {
        refusal = e;
      }
      assert.ok(refusal instanceof SandboxApiError, String(refusal));
      assert.equal(refusal.errorCode, 'ERR_OUTBOX_FULL');
      assert.equal(pair.backend.of('/create').length, 3, 'the refused create order never reached the backend');
      // Every notification ends delivered; the refused attempts never reached the backend.
      await until(() => orders.every((o) => platform.notifier.get(`deliver:${o.transactionId}`)?.state === 'delivered'), 10_000, 'all delivered');
      const delivered = pair.backend.of('/deliver');
      const of = (tid: string) => delivered.filter((d) => d.body.transactionId === tid).length;
      assert.equal(of(orders[0]!.transactionId), 2, 'the hung one and its retry');
      assert.equal(of(orders[1]!.transactionId), 1);
      assert.equal(of(orders[2]!.transactionId), 1);
      assert.ok(platform.outbox.refused >= 2);
      assert.equal(platform.outbox.inFlight(), 0);
    } finally {
      await pair.close();
    }
  });
});
