/**
 * The steps of a dialog script that act: say, touch, pay (through the
 * sandbox's control API, as the phone / the app would), fault, wait, and
 * the same goods bought meanwhile on another device.
 */
import { sleep } from '../protocol/sleep.js';
import type { SandboxClient } from '../sandbox/client.js';
import type { SpeakerHost } from './host.js';
import { FAULTS, type Step } from './simulate-script.js';
import { StepFailure, type DeliveryWatch, type Transcript } from './simulate-transcript.js';

/** What the steps and the expectations act on. */
export interface SimulationContext {
  client: SandboxClient;
  host: SpeakerHost;
  transcript: Transcript;
  deliveries: DeliveryWatch;
}

export type ActionStep = Exclude<Step, { expect: unknown } | { expectSpeech: unknown } | { expectDeliveries: unknown } | { expectPlaying: unknown }>;

export function isAction(step: Step): step is ActionStep {
  return !('expect' in step) && !('expectSpeech' in step) && !('expectDeliveries' in step) && !('expectPlaying' in step);
}

export async function runAction(step: ActionStep, ctx: SimulationContext): Promise<void> {
  const { client, host, transcript: t } = ctx;
  if ('say' in step) {
    const r = await host.hear(step.say);
    t.emit('heard', { text: step.say, handledBy: r.handledBy, ...(r.intent ? { intent: r.intent } : {}) });
    if (r.handledBy === 'error') throw new StepFailure(`the platform could not take "${step.say}"`);
    return;
  }
  if ('touch' in step) {
    if (!host.touch(step.touch)) throw new StepFailure(`nothing to touch: no purchase is running`);
    return;
  }
  if ('pay' in step) {
    const id = await t.needPurchase();
    if (step.pay === 'none') return; // the user never pays
    if (step.pay === 'order') {
      // The user opens the DingDang app and places the order, and pays nothing yet.
      await client.placeOrder(id);
      t.emit('ordered-on-phone', { purchaseId: id });
      return;
    }
    const r = await client.payPurchase(id, step.pay);
    t.emit('paid-on-phone', { purchaseId: id, outcome: step.pay, tradeStatus: 'tradeStatus' in r ? r.tradeStatus : null });
    return;
  }
  if ('fault' in step) {
    const f = typeof step.fault === 'string' ? FAULTS[step.fault]! : step.fault;
    const state = f === 'clear' ? await client.clearFaults() : await client.setFaults(f);
    t.emit('fault', { fault: step.fault, state });
    return;
  }
  if ('wait' in step) return sleep(step.wait);
  if ('player' in step) {
    const p = host.player;
    if (p.state === 'idle') throw new StepFailure(`player ${step.player}: nothing is loaded in the player`);
    t.emit('player-action', { action: step.player, state: p.state, item: p.current?.token ?? null });
    if (step.player === 'end') {
      if (p.state !== 'playing') throw new StepFailure(`player end: nothing is playing (the player is ${p.state})`);
      return host.ended();
    }
    if (step.player === 'next') return void host.next();
    if (step.player === 'previous') return void host.previous();
    if (step.player === 'pause') return p.togglePause();
    if (step.player === 'continue') return p.continue();
    return p.stop();
  }
  if ('ownElsewhere' in step) return ownElsewhere(ctx);
}

/** The same goods bought (and delivered) on another device, so create order will answer ALREADY_OWNED. */
async function ownElsewhere({ client, transcript: t, deliveries }: SimulationContext): Promise<void> {
  const id = await t.needPurchase();
  const p = await client.purchase(id);
  const other = await client.startPurchase({
    mode: 'screenless',
    charge: p.charge,
    originalRequest: p.originalRequest,
    skillId: p.skillId,
    deviceId: 'another-device',
  });
  const order = await client.payPurchase(other.purchaseId, 'success');
  if (!('transactionId' in order)) throw new StepFailure('the other device already owned the goods');
  // Owned once the delivery notification went through.
  if (!(await t.until(() => deliveries.delivered.has(order.transactionId), 10_000)))
    throw new StepFailure('the purchase on the other device was not delivered');
  t.emit('owned-elsewhere', { purchaseId: other.purchaseId, transactionId: order.transactionId });
}
