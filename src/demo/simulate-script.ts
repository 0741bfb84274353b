/**
 * Dialog scripts for `simulate`: the steps, the milestones an `expect` can
 * wait for, the named faults, and `parseScript` (every problem names the
 * step).
 *
 *   { "mode"?: "screen" | "screenless", "payWindowSeconds"?: n, "expectTimeoutMs"?: n,
 *     "steps": [ {"say": "…"}, {"touch": "buy"}, {"pay": "success"}, {"fault": "drop-socket"},
 *                {"wait": 500}, {"expect": "paid"}, {"expectSpeech": "开始播放"},
 *                {"player": "end"}, {"expectPlaying": "第4集"}, … ] }
 */
import type { TouchTarget } from '../device/node.js';
import type { FaultsRequest } from '../sandbox/control-types.js';

export type Mode = 'screen' | 'screenless';

export const MILESTONES = [
  'goods',
  'qr',
  'app-prompt',
  'processing',
  'paid',
  'failed',
  'cancelled',
  'expired',
  'resumed',
  'delivered',
  // beyond the list of the issue:
  'owned',
  'playing',
  'reconnected',
  'timed-out',
  // the player: it reached a `pay: true` item (the platform is asked), and it stopped at an item without it
  'locked',
  'player-stopped',
] as const;
export type Milestone = (typeof MILESTONES)[number];

/** Named faults → the sandbox's fault settings (POST /sandbox/v1/faults). */
export const FAULTS: Record<string, FaultsRequest | 'clear'> = {
  'drop-socket': { dropSocket: true },
  'duplicate-push': { duplicatePush: 2 },
  'delay-push': { delayPushMs: 1000 },
  'reorder-push': { reorderPush: true },
  'duplicate-delivery': { duplicateDelivery: 3 },
  'late-delivery': { lateDeliveryMs: 500 },
  'partner-timeout': { partner: { mode: 'timeout', calls: ['createOrder'] } },
  'partner-fail': { partner: { mode: 'fail', calls: ['createOrder'] } },
  'already-owned': { alreadyOwned: true },
  'clock-skew': { clockSkewMs: 60_000 },
  clear: 'clear',
};

const TOUCHES: readonly TouchTarget[] = ['buy', 'cancel', 'refresh', 'retry', 'close'];
const PAYS = ['success', 'fail', 'cancel', 'none', 'order'] as const;
/** What the user does to the player: `end` = the episode played to its end. */
export const PLAYER_ACTIONS = ['end', 'next', 'previous', 'pause', 'continue', 'stop'] as const;
export type PlayerAction = (typeof PLAYER_ACTIONS)[number];

export type Step =
  | { say: string }
  | { touch: TouchTarget }
  | { pay: (typeof PAYS)[number] }
  | { fault: string | FaultsRequest }
  | { wait: number }
  | { expect: Milestone; timeoutMs?: number }
  | { expectSpeech: string; timeoutMs?: number }
  /** The player (the episode ends, next, previous, pause, continue, stop). */
  | { player: PlayerAction }
  /** An item starts playing whose title contains this text (since the last such expectation). */
  | { expectPlaying: string; timeoutMs?: number }
  /** The example skill's deliver hook ran exactly n times in all (waits for it, then checks no more come). */
  | { expectDeliveries: number; timeoutMs?: number }
  /** The same goods are bought meanwhile on another device (the DingDang app), so create order will answer ALREADY_OWNED. */
  | { ownElsewhere: true };

export interface Script {
  mode?: Mode;
  payWindowSeconds?: number;
  expectTimeoutMs?: number;
  description?: string;
  steps: Step[];
}

export { ScriptError } from './errors.js';
import { ScriptError } from './errors.js';

const STEP_KEYS = ['say', 'touch', 'pay', 'fault', 'wait', 'expect', 'expectSpeech', 'expectDeliveries', 'ownElsewhere', 'player', 'expectPlaying'];

function posInt(v: unknown, where: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new ScriptError(`${where} must be an integer 0–${max}`);
  return v;
}

/** Validate a decoded script; every problem names the step. */
export function parseScript(value: unknown): Script {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ScriptError('a script is a JSON object { "steps": [...] }');
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!['mode', 'steps', 'payWindowSeconds', 'expectTimeoutMs', 'description', '$schema', 'comment'].includes(k))
      throw new ScriptError(`unknown field "${k}"`);
  const script: Script = { steps: [] };
  if (o.mode !== undefined) {
    if (o.mode !== 'screen' && o.mode !== 'screenless') throw new ScriptError('mode must be "screen" or "screenless"');
    script.mode = o.mode;
  }
  if (o.payWindowSeconds !== undefined) {
    script.payWindowSeconds = posInt(o.payWindowSeconds, 'payWindowSeconds', 86_400);
    if (script.payWindowSeconds < 1) throw new ScriptError('payWindowSeconds must be at least 1');
  }
  if (o.expectTimeoutMs !== undefined) script.expectTimeoutMs = posInt(o.expectTimeoutMs, 'expectTimeoutMs', 600_000);
  if (typeof o.description === 'string') script.description = o.description;
  if (!Array.isArray(o.steps) || o.steps.length === 0) throw new ScriptError('steps must be a non-empty array');
  script.steps = o.steps.map((s, i) => parseStep(s, i + 1));
  return script;
}

function parseStep(s: unknown, n: number): Step {
  const where = `step ${n}`;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new ScriptError(`${where} must be an object such as {"say": "…"}`);
  const o = s as Record<string, unknown>;
  const kinds = Object.keys(o).filter((k) => STEP_KEYS.includes(k));
  if (kinds.length !== 1) throw new ScriptError(`${where} must have exactly one of ${STEP_KEYS.join(', ')}`);
  for (const k of Object.keys(o)) if (k !== kinds[0] && k !== 'timeoutMs' && k !== 'comment') throw new ScriptError(`${where}: unknown field "${k}"`);
  const timeout = o.timeoutMs === undefined ? {} : { timeoutMs: posInt(o.timeoutMs, `${where}.timeoutMs`, 600_000) };
  switch (kinds[0]) {
    case 'say':
      if (typeof o.say !== 'string' || !o.say.trim()) throw new ScriptError(`${where}: say must be a non-empty string`);
      return { say: o.say };
    case 'touch':
      if (!TOUCHES.includes(o.touch as TouchTarget)) throw new ScriptError(`${where}: touch must be one of ${TOUCHES.join(', ')}`);
      return { touch: o.touch as TouchTarget };
    case 'pay':
      if (!PAYS.includes(o.pay as (typeof PAYS)[number])) throw new ScriptError(`${where}: pay must be one of ${PAYS.join(', ')}`);
      return { pay: o.pay as (typeof PAYS)[number] };
    case 'fault':
      if (typeof o.fault === 'string') {
        if (!(o.fault in FAULTS))
          throw new ScriptError(`${where}: unknown fault "${o.fault}"; known: ${Object.keys(FAULTS).join(', ')} (or an object of sandbox fault settings)`);
        return { fault: o.fault };
      }
      if (typeof o.fault === 'object' && o.fault !== null && !Array.isArray(o.fault)) return { fault: o.fault as FaultsRequest };
      throw new ScriptError(`${where}: fault must be a name or an object of sandbox fault settings`);
    case 'wait':
      return { wait: posInt(o.wait, `${where}.wait`, 600_000) };
    case 'expect':
      if (!MILESTONES.includes(o.expect as Milestone)) throw new ScriptError(`${where}: expect must be one of ${MILESTONES.join(', ')}`);
      return { expect: o.expect as Milestone, ...timeout };
    case 'expectSpeech':
      if (typeof o.expectSpeech !== 'string' || !o.expectSpeech) throw new ScriptError(`${where}: expectSpeech must be a non-empty string`);
      return { expectSpeech: o.expectSpeech, ...timeout };
    case 'expectDeliveries':
      return { expectDeliveries: posInt(o.expectDeliveries, `${where}.expectDeliveries`, 1000), ...timeout };
    case 'player':
      if (!PLAYER_ACTIONS.includes(o.player as PlayerAction)) throw new ScriptError(`${where}: player must be one of ${PLAYER_ACTIONS.join(', ')}`);
      return { player: o.player as PlayerAction };
    case 'expectPlaying':
      if (typeof o.expectPlaying !== 'string' || !o.expectPlaying) throw new ScriptError(`${where}: expectPlaying must be a non-empty string`);
      return { expectPlaying: o.expectPlaying, ...timeout };
    case 'ownElsewhere':
      if (o.ownElsewhere !== true) throw new ScriptError(`${where}: ownElsewhere must be true`);
      return { ownElsewhere: true };
  }
  throw new ScriptError(`${where}: unknown step`);
}
