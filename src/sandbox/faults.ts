/**
 * Faults on demand. The platform consults this state at the points where a
 * real platform or network misbehaves. Set over the control API
 * (`POST /sandbox/v1/faults`) or `sandbox.faults.set(...)`.
 */
import { InvalidArgumentError } from '../protocol/errors.js';

export type PartnerCall = 'createOrder' | 'deliver' | 'refundNotify' | 'skill';

export interface PartnerFault {
  /**
   * `timeout`: the request is sent but its reply is dropped (the platform sees a timeout); `fail`: the reply is replaced by
   * `retCode: FAIL`; `drop`: the request is dropped before it reaches the backend (the backend never hears of it; the platform
   * sees a transport error and retries on its schedule — with `count: 0` a notification is never delivered).
   */
  mode: 'timeout' | 'fail' | 'drop';
  /** Which outbound calls are affected; default all pay calls (createOrder, deliver, refundNotify). */
  calls?: PartnerCall[];
  /** How many calls are affected before the fault clears itself; default 1; 0 = until cleared. */
  count?: number;
}

export interface FaultSettings {
  /** Every device push is sent this many extra times. */
  duplicatePush?: number;
  /** Every device push is held back this many real ms. */
  delayPushMs?: number;
  /** Pushes are held and released in reverse order, in pairs (a late older push after a newer one). */
  reorderPush?: boolean;
  /** Each delivery notification is accompanied by this many concurrent copies. */
  duplicateDelivery?: number;
  /** After delivery succeeded, one more copy is sent after this many real ms. */
  lateDeliveryMs?: number;
  /** The first delivery attempt is held back this many real ms (the resume can reach the skill first). */
  delayDeliveryMs?: number;
  /** The skill backend times out or answers FAIL. */
  partner?: PartnerFault | null;
  /** Offset (ms, ±) applied to the platform's signing clock. */
  clockSkewMs?: number;
  /** The next create-order is answered as if the user already owned the goods (no call is made). */
  alreadyOwned?: boolean;
}

export interface FaultState {
  duplicatePush: number;
  delayPushMs: number;
  reorderPush: boolean;
  duplicateDelivery: number;
  lateDeliveryMs: number;
  delayDeliveryMs: number;
  partner: (PartnerFault & { remaining: number }) | null;
  clockSkewMs: number;
  alreadyOwned: boolean;
}

const ZERO: FaultState = {
  duplicatePush: 0,
  delayPushMs: 0,
  reorderPush: false,
  duplicateDelivery: 0,
  lateDeliveryMs: 0,
  delayDeliveryMs: 0,
  partner: null,
  clockSkewMs: 0,
  alreadyOwned: false,
};

const KEYS = new Set(Object.keys(ZERO));
const CALLS: PartnerCall[] = ['createOrder', 'deliver', 'refundNotify', 'skill'];
const DEFAULT_CALLS: PartnerCall[] = ['createOrder', 'deliver', 'refundNotify'];

function count(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new InvalidArgumentError(`${name} must be an integer 0–${max}`);
  return v;
}

export type PushFaults = Pick<FaultState, 'duplicatePush' | 'delayPushMs' | 'reorderPush'>;

export class Faults {
  private state: FaultState = { ...ZERO };

  get current(): FaultState {
    return structuredClone(this.state);
  }

  /** The injected signing-clock skew, without copying the state (hot path: every signature). */
  get clockSkewMs(): number {
    return this.state.clockSkewMs;
  }

  /** The push faults now, without copying the whole state (hot path: every push). */
  get pushFaults(): PushFaults {
    const s = this.state;
    return { duplicatePush: s.duplicatePush, delayPushMs: s.delayPushMs, reorderPush: s.reorderPush };
  }

  /** Merge settings (validated: a bad value changes nothing). */
  set(settings: FaultSettings | Record<string, unknown>): FaultState {
    if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) throw new InvalidArgumentError('faults must be an object');
    const next: FaultState = { ...this.state };
    for (const [k, v] of Object.entries(settings)) {
      if (!KEYS.has(k)) throw new InvalidArgumentError(`unknown fault ${JSON.stringify(k).slice(0, 40)}`);
      switch (k) {
        case 'duplicatePush':
          next.duplicatePush = count(k, v, 10);
          break;
        case 'duplicateDelivery':
          next.duplicateDelivery = count(k, v, 10);
          break;
        case 'delayPushMs':
          next.delayPushMs = count(k, v, 600_000);
          break;
        case 'lateDeliveryMs':
        case 'delayDeliveryMs':
          next[k] = count(k, v, 86_400_000);
          break;
        case 'clockSkewMs':
          if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > 86_400_000)
            throw new InvalidArgumentError('clockSkewMs must be an integer of at most ±1 day');
          next.clockSkewMs = v;
          break;
        case 'reorderPush':
        case 'alreadyOwned':
          if (typeof v !== 'boolean') throw new InvalidArgumentError(`${k} must be true or false`);
          next[k] = v;
          break;
        case 'partner': {
          if (v === null || v === false) {
            next.partner = null;
            break;
          }
          const p = v as Record<string, unknown>;
          if (typeof p !== 'object' || (p.mode !== 'timeout' && p.mode !== 'fail' && p.mode !== 'drop'))
            throw new InvalidArgumentError('partner.mode must be "timeout", "fail" or "drop"');
          let calls = DEFAULT_CALLS;
          if (p.calls !== undefined) {
            if (!Array.isArray(p.calls) || p.calls.length === 0 || !p.calls.every((c) => CALLS.includes(c as PartnerCall)))
              throw new InvalidArgumentError(`partner.calls must list some of ${CALLS.join(', ')}`);
            calls = p.calls as PartnerCall[];
          }
          const n = p.count === undefined ? 1 : count('partner.count', p.count, 1000);
          next.partner = { mode: p.mode, calls, count: n, remaining: n === 0 ? Infinity : n };
          break;
        }
      }
    }
    this.state = next;
    return this.current;
  }

  reset(): FaultState {
    this.state = { ...ZERO };
    return this.current;
  }

  /** If a partner fault applies to this call, consume it and return its mode. */
  takePartnerFault(call: PartnerCall): PartnerFault['mode'] | undefined {
    const p = this.state.partner;
    if (!p || !(p.calls ?? DEFAULT_CALLS).includes(call)) return undefined;
    p.remaining -= 1;
    if (p.remaining <= 0) this.state.partner = null;
    return p.mode;
  }

  /** Consume the one-shot "already owned" script. */
  takeAlreadyOwned(): boolean {
    const v = this.state.alreadyOwned;
    this.state.alreadyOwned = false;
    return v;
  }
}
