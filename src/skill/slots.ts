/**
 * Slot helpers for DingDang's slot shape (SKILL-PROTOCOL §3):
 * `request.intent.slots.<name>.values[i].value`, a typed value
 * (`text` / `unit` / `address` / `datetime`). Every helper takes the request
 * (or a handler input) and a slot name, and returns `undefined` when the
 * request has no intent, no such slot, or the slot has no value.
 */
import type { IntentRequest, Slot, SlotDateTime, SlotValue, SkillRequest } from '../protocol/browser.js';
import { extractNumber } from './numbers.js';

/** A request, an envelope or a handler input: whatever carries the request. */
export type SlotSource = SkillRequest | { request: SkillRequest };

function intentRequestOf(source: SlotSource | undefined | null): IntentRequest | undefined {
  if (!source || typeof source !== 'object') return undefined;
  const request = ('request' in source && source.request && typeof source.request === 'object' ? source.request : source) as SkillRequest;
  return request.type === 'IntentRequest' && request.intent && typeof request.intent === 'object' ? request : undefined;
}

/** The slot `{ name, confirmationStatus, values }`, or `undefined`. */
export function getSlot(source: SlotSource, name: string): Slot | undefined {
  const slots = intentRequestOf(source)?.intent.slots;
  if (!slots || typeof slots !== 'object' || !Object.prototype.hasOwnProperty.call(slots, name)) return undefined;
  const slot = slots[name];
  return slot && typeof slot === 'object' && Array.isArray(slot.values) ? slot : undefined;
}

/** Every typed value of the slot, in order (one slot can be filled more than once: "播放第三集和第五集"). */
export function getSlotTypedValues(source: SlotSource, name: string): SlotValue[] {
  const slot = getSlot(source, name);
  if (!slot) return [];
  return slot.values.map((v) => v?.value).filter((v): v is SlotValue => !!v && typeof v === 'object' && typeof v.type === 'string');
}

/** The first typed value of the slot (`{ type: 'text', value, origin }` …). */
export function getSlotTypedValue(source: SlotSource, name: string): SlotValue | undefined {
  return getSlotTypedValues(source, name)[0];
}

function dateTimeText(d: SlotDateTime | undefined): string {
  if (!d) return '';
  return [d.date, d.time].filter((x) => typeof x === 'string' && x !== '').join(' ');
}

/**
 * One typed value as a string, the entity the platform recognised:
 * * `text` → `value` (the normalised entity, e.g. "三体"; a number slot's text, e.g. "35");
 * * `unit` → `amount` + `unit` ("30" + "分钟" → "30分钟");
 * * `address` → its parts joined, country to title ("广东省深圳市南山区");
 * * `datetime` → NORMAL: "date time" ("2018-01-01 23:59:59", either part may be absent);
 *   INTERVAL and REPEAT: "start/end" in the same form (ISO 8601 interval style).
 * `undefined` when the value has nothing usable.
 */
export function slotValueText(value: SlotValue | undefined): string | undefined {
  if (!value) return undefined;
  let out: string | undefined;
  switch (value.type) {
    case 'text':
      out = value.value;
      break;
    case 'unit':
      out = typeof value.amount === 'string' ? `${value.amount}${value.unit ?? ''}` : undefined;
      break;
    case 'address':
      out = [value.country, value.province, value.city, value.district, value.town, value.village, value.title]
        .filter((x) => typeof x === 'string' && x !== '')
        .join('');
      break;
    case 'datetime': {
      const v = value.value;
      if (!v || typeof v !== 'object') break;
      out = v.type === 'NORMAL' ? dateTimeText(v.datetime) : `${dateTimeText(v.start)}/${dateTimeText(v.end)}`;
      if (out === '/') out = undefined;
      break;
    }
  }
  return typeof out === 'string' && out !== '' ? out : undefined;
}

/** The entity value of the slot's first value (see `slotValueText` for each value type). */
export function getSlotValue(source: SlotSource, name: string): string | undefined {
  return slotValueText(getSlotTypedValue(source, name));
}

/** The entity value of every value of the slot, in order (values without one are left out). */
export function getSlotValues(source: SlotSource, name: string): string[] {
  return getSlotTypedValues(source, name)
    .map(slotValueText)
    .filter((x): x is string => x !== undefined);
}

/** What the user said for the slot's first value (`origin`, e.g. "第三十五集"). */
export function getSlotOrigin(source: SlotSource, name: string): string | undefined {
  const origin = getSlotTypedValue(source, name)?.origin;
  return typeof origin === 'string' && origin !== '' ? origin : undefined;
}

/**
 * The slot's first value as a non-negative integer: "35", "三十五",
 * "第三十五集", "35集", "一百零二", "两", full-width "３５" → the number. A
 * `unit` value reads its `amount`. The entity value is tried first, then the
 * user's words (`origin`). `undefined` when neither holds a number.
 */
export function getSlotNumber(source: SlotSource, name: string): number | undefined {
  const value = getSlotTypedValue(source, name);
  if (!value) return undefined;
  const candidates: unknown[] = value.type === 'unit' ? [value.amount, value.origin] : [slotValueText(value), value.origin];
  for (const c of candidates) {
    if (typeof c !== 'string') continue;
    const n = extractNumber(c);
    if (n !== undefined) return n;
  }
  return undefined;
}
