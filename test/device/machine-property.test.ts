// Property tests of the purchase statechart over random event sequences
// (fast-check): host events, verified and stale status updates, actor
// successes and failures, timers — in any order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Coverage, Harness, INPUTS, describeStep } from '../support/statechart.js';

test('random sequences: paid only from a fresh SUCCESS, never undone, seq never goes back, final is final, nothing hangs', async () => {
  const machine = Harness.machine();
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: INPUTS.length - 1 }), fc.array(fc.nat(), { maxLength: 40 }), async (inputIndex, choices) => {
      const coverage = new Coverage(machine);
      const h = new Harness(INPUTS[inputIndex]!, coverage, machine);
      const trail: string[] = [];
      try {
        h.start();
        await new Promise<void>((r) => setImmediate(r));
        let lastSeq = h.snapshot.context.lastSeq;
        let finalValue: string | undefined;
        for (const n of choices) {
          const candidates = h.candidates();
          if (candidates.length === 0) break;
          const step = candidates[n % candidates.length]!;
          trail.push(describeStep(step));
          const wasPaid = h.snapshot.context.paid;
          await h.apply(step);
          const s = h.snapshot;
          assert.ok(s.context.lastSeq >= lastSeq, `seq went back after ${trail.join(', ')}`);
          lastSeq = s.context.lastSeq;
          if (wasPaid) assert.equal(s.context.paid, true, `paid undone after ${trail.join(', ')}`);
          if (s.context.paid && !wasPaid) {
            assert.equal(step.kind, 'status');
            assert.ok(step.kind === 'status' && step.status === 'SUCCESS' && step.fresh, `paid by ${describeStep(step)}`);
          }
          if (finalValue !== undefined) assert.equal(JSON.stringify(s.value), finalValue, 'a final state changed');
          if (s.status === 'done') finalValue = JSON.stringify(s.value);
        }
        // Liveness: with nobody answering (only the clock runs), every purchase ends.
        for (let i = 0; i < 12 && h.snapshot.status === 'active'; i++) await h.apply({ kind: 'tick' });
        assert.equal(h.snapshot.status, 'done', `still ${JSON.stringify(h.snapshot.value)} after ${trail.join(', ')}`);
        assert.equal(h.sendBack, undefined, 'the status watcher was released');
        assert.equal(h.watchStarts, h.watchStops);
        if (h.snapshot.context.paid) assert.match(JSON.stringify(h.snapshot.value), /done|resumeFailed/);
        for (const e of coverage.paidBy) assert.equal((e as { update?: { tradeStatus: string } }).update?.tradeStatus, 'SUCCESS');
        assert.deepEqual(coverage.unpaidBy, []);
      } finally {
        h.stop();
      }
    }),
    { numRuns: 300 },
  );
});
