/**
 * What a skill receives, checked (SKILL-PROTOCOL §2–§3), and the compact
 * timestamps of `request.timestamp`.
 */
import { formatTskDatetime, parseTskDatetime } from './tsk.js';
import { validate } from './validate.js';
import { DIALOG_STATES, SKILL_REQUEST_TYPES, type SkillRequestEnvelope } from './skill-types.js';
import { isObj, type Obj } from './skill-check-fields.js';

export type SkillRequestCheck = { ok: true; envelope: SkillRequestEnvelope } | { ok: false; path: string; reason: string };

/**
 * Structural check of a request envelope, as a skill receives it. Tolerant in
 * what it accepts (unknown fields are kept: the platform may add some), strict
 * on what a skill relies on: the envelope's ids, a known request type and its
 * own fields, typed slot values.
 */
export function checkSkillRequest(value: unknown): SkillRequestCheck {
  const fail = (path: string, reason: string): SkillRequestCheck => ({ ok: false, path, reason });
  const str = (o: Obj, k: string) => typeof o[k] === 'string';
  if (!isObj(value)) return fail('', 'the request must be a JSON object');
  if (value.version !== '1.0') return fail('version', 'version must be "1.0"');
  const ctx = value.context;
  if (!isObj(ctx) || !isObj(ctx.System)) return fail('context.System', 'context.System is missing');
  const sys = ctx.System;
  if (!isObj(sys.application) || !str(sys.application, 'applicationId')) return fail('context.System.application.applicationId', 'missing');
  if (!isObj(sys.device) || !str(sys.device, 'deviceId')) return fail('context.System.device.deviceId', 'missing');
  if (sys.device.supportedInterfaces !== undefined && !isObj(sys.device.supportedInterfaces))
    return fail('context.System.device.supportedInterfaces', 'must be an object');
  if (!isObj(sys.user) || !str(sys.user, 'userId')) return fail('context.System.user.userId', 'missing');
  if (sys.user.accessToken !== undefined && !str(sys.user, 'accessToken')) return fail('context.System.user.accessToken', 'must be a string');
  if (value.session !== undefined) {
    const s = value.session;
    if (!isObj(s) || typeof s.new !== 'boolean' || !str(s, 'sessionId')) return fail('session', 'session must be { new: boolean, sessionId: string }');
  }
  const r = value.request;
  if (!isObj(r)) return fail('request', 'request is missing');
  if (typeof r.type !== 'string' || !(SKILL_REQUEST_TYPES as readonly string[]).includes(r.type))
    return fail('request.type', `unknown request type ${JSON.stringify(r.type)}`);
  if (!str(r, 'requestId') || r.requestId === '') return fail('request.requestId', 'missing');
  if (!str(r, 'timestamp')) return fail('request.timestamp', 'missing');
  for (const k of ['queryText', 'dialogState', 'token']) if (r[k] !== undefined && !str(r, k)) return fail(`request.${k}`, 'must be a string');
  switch (r.type) {
    case 'IntentRequest': {
      if (r.dialogState !== undefined && !(DIALOG_STATES as readonly string[]).includes(r.dialogState as string))
        return fail('request.dialogState', 'unknown dialogState');
      if (!isObj(r.intent) || !str(r.intent, 'name')) return fail('request.intent.name', 'missing');
      const slots = r.intent.slots ?? {};
      if (!isObj(slots)) return fail('request.intent.slots', 'must be an object keyed by slot name');
      for (const [name, slot] of Object.entries(slots)) {
        const p = `request.intent.slots.${name}`;
        if (!isObj(slot)) return fail(p, 'must be an object');
        if (slot.values !== undefined && !Array.isArray(slot.values)) return fail(`${p}.values`, 'must be an array');
        for (const [i, entry] of ((slot.values as unknown[] | undefined) ?? []).entries()) {
          const v = isObj(entry) ? entry.value : undefined;
          if (!isObj(v) || typeof v.type !== 'string') return fail(`${p}.values[${i}].value`, 'must be a typed value');
          if (!['text', 'unit', 'address', 'datetime'].includes(v.type))
            return fail(`${p}.values[${i}].value.type`, `unknown slot value type ${JSON.stringify(v.type)}`);
          if (v.type === 'text' && !str(v, 'value')) return fail(`${p}.values[${i}].value.value`, 'missing');
          if (v.type === 'unit' && !str(v, 'amount')) return fail(`${p}.values[${i}].value.amount`, 'missing');
          if (v.type === 'datetime' && !isObj(v.value)) return fail(`${p}.values[${i}].value.value`, 'missing');
        }
      }
      break;
    }
    case 'SessionEndedRequest':
      if (r.reason !== 'USER_INITIATED' && r.reason !== 'ERROR') return fail('request.reason', 'must be USER_INITIATED or ERROR');
      if (r.error !== undefined && !isObj(r.error)) return fail('request.error', 'must be an object');
      break;
    case 'Connections.Response': {
      const v = validate('chargeResponseEvent', r);
      if (!v.ok) return fail(`request.${v.issues[0]!.path}`, v.issues[0]!.message);
      break;
    }
    case 'Display.ElementSelected':
      if (!str(r, 'token') || r.token === '') return fail('request.token', 'missing');
      break;
    default:
      break;
  }
  return { ok: true, envelope: value as unknown as SkillRequestEnvelope };
}

// ---------------------------------------------------------------- timestamps

/** `20170720T193559Z`: the compact basic form the platform writes in `request.timestamp` and signatures. */
export function compactTimestamp(ms: number): string {
  return formatTskDatetime(ms);
}

/** Milliseconds of a compact (or ISO-8601) `request.timestamp`; NaN when unreadable. */
export function parseSkillTimestamp(text: string): number {
  const compact = parseTskDatetime(text);
  if (compact !== undefined) return compact;
  return /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
}
