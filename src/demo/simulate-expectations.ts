/**
 * The steps of a dialog script that wait and check: a milestone, a line the
 * speaker says, the example skill's delivery count — each bounded, each
 * looking at what happened since the previous expectation matched — and the
 * final check (exactly-once delivery, whatever the script asked).
 */
import { sleep } from '../protocol/sleep.js';
import type { Step } from './simulate-script.js';
import type { SimulationContext } from './simulate-steps.js';
import { StepFailure } from './simulate-transcript.js';
import type { DeliveryInfo } from './stack.js';

export type ExpectStep = Extract<Step, { expect: unknown } | { expectSpeech: unknown } | { expectDeliveries: unknown } | { expectPlaying: unknown }>;

export interface ExpectationContext extends SimulationContext {
  /** Timeout of an expectation without its own `timeoutMs`. */
  defaultTimeout: number;
  /** The example skill's deliver hook runs; undefined with a config of other skills. */
  hookRuns: readonly DeliveryInfo[] | undefined;
  /** The device's current state, for the failure message. */
  deviceState: () => string | undefined;
}

export async function checkExpectation(step: ExpectStep, ctx: ExpectationContext): Promise<void> {
  const { transcript: t, deliveries } = ctx;
  const timeout = step.timeoutMs ?? ctx.defaultTimeout;
  if ('expect' in step && step.expect === 'delivered') {
    // A state, not an event: the delivery notification may beat the resume or follow it.
    if (!(await t.until(() => deliveries.currentTx !== undefined && deliveries.delivered.has(deliveries.currentTx), timeout)))
      throw new StepFailure(`waited ${timeout} ms for the delivery of the current order (${deliveries.currentTx ?? 'no order yet'})`);
    t.emit('expect', { expect: step.expect, ok: true, transactionId: deliveries.currentTx });
    return;
  }
  if ('expect' in step) {
    const found = () => t.milestones.findIndex((m, idx) => idx >= t.milestoneCursor && m.name === step.expect);
    if (!(await t.until(() => found() >= 0, timeout)))
      throw new StepFailure(
        `waited ${timeout} ms for "${step.expect}"; since the last expectation: [${t.milestones
          .slice(t.milestoneCursor)
          .map((m) => m.name)
          .join(', ')}], device state ${ctx.deviceState() ?? 'none'}`,
      );
    t.milestoneCursor = found() + 1;
    t.emit('expect', { expect: step.expect, ok: true });
    return;
  }
  if ('expectSpeech' in step) {
    const found = () => t.speech.findIndex((s, idx) => idx >= t.speechCursor && s.includes(step.expectSpeech));
    if (!(await t.until(() => found() >= 0, timeout)))
      throw new StepFailure(
        `waited ${timeout} ms for speech containing "${step.expectSpeech}"; heard since: ${JSON.stringify(t.speech.slice(t.speechCursor))}`,
      );
    t.speechCursor = found() + 1;
    t.emit('expect', { expectSpeech: step.expectSpeech, ok: true });
    return;
  }
  if ('expectPlaying' in step) {
    const found = () => t.plays.findIndex((title, idx) => idx >= t.playCursor && title.includes(step.expectPlaying));
    if (!(await t.until(() => found() >= 0, timeout)))
      throw new StepFailure(`waited ${timeout} ms for "${step.expectPlaying}" to play; played since: ${JSON.stringify(t.plays.slice(t.playCursor))}`);
    t.playCursor = found() + 1;
    t.emit('expect', { expectPlaying: step.expectPlaying, ok: true });
    return;
  }
  const runs = ctx.hookRuns;
  if (!runs) throw new StepFailure("expectDeliveries counts the example skill's deliveries; not available with --config");
  await t.until(() => runs.length >= step.expectDeliveries, timeout);
  await sleep(500); // duplicates and late copies have time to show up
  await deliveries.poll();
  if (runs.length !== step.expectDeliveries) throw new StepFailure(`the skill delivered ${runs.length} times, expected ${step.expectDeliveries}`);
  t.emit('expect', { expectDeliveries: step.expectDeliveries, ok: true });
}

/** After the last step: no order of the example skill delivered more than once. The failure message, or undefined. */
export async function finalCheck(ctx: ExpectationContext): Promise<string | undefined> {
  await sleep(300);
  await ctx.deliveries.poll();
  const per = new Map<string, number>();
  for (const d of ctx.hookRuns ?? []) per.set(d.tradeNo, (per.get(d.tradeNo) ?? 0) + 1);
  for (const [tradeNo, n] of per) if (n > 1) return `order ${tradeNo} was delivered ${n} times (exactly once expected)`;
  return undefined;
}
