/**
 * The kit's use of the protocol's skill checks: the request envelope's
 * structure and the answer's acceptability for a request type.
 *
 * Interim: until `checkSkillRequest` / `checkSkillResponse` exist in
 * src/protocol/skill-check.ts this module carries a minimal structural check
 * with the same result shapes.
 */
import {
  SESSION_REQUEST_TYPES,
  SKILL_REQUEST_TYPES,
  SKILL_RET_CODES,
  type SkillRequestEnvelope,
  type SkillRequestType,
  type SkillResponseEnvelope,
} from '../protocol/browser.js';
import { SkillResponseError } from './errors.js';

/** The skill's platform configuration that decides which answer fields are usable. */
export interface SkillSettings {
  /** Account linking is configured (a `LinkAccount` card is usable). */
  accountLinking?: boolean;
  /** A device maker's skill (`feedbackAttributes` are usable). */
  deviceMaker?: boolean;
}

export interface AnswerCheckOptions {
  requestType?: SkillRequestType;
  settings?: SkillSettings;
  strictSchema?: boolean;
}

type RequestCheck = { ok: true; envelope: SkillRequestEnvelope } | { ok: false; reason: string; path: string };

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** Structural check of a decoded request body. */
export function checkRequest(value: unknown): RequestCheck {
  const bad = (path: string, reason: string): RequestCheck => ({ ok: false, path, reason });
  if (!isObj(value)) return bad('', 'not an object');
  if (value.version !== '1.0') return bad('version', 'must be "1.0"');
  const ctx = value.context;
  if (!isObj(ctx) || !isObj(ctx.System)) return bad('context.System', 'required');
  const sys = ctx.System;
  if (!isObj(sys.application) || !isStr(sys.application.applicationId)) return bad('context.System.application.applicationId', 'required');
  if (!isObj(sys.device) || !isStr(sys.device.deviceId)) return bad('context.System.device.deviceId', 'required');
  if (!isObj(sys.user) || !isStr(sys.user.userId)) return bad('context.System.user.userId', 'required');
  const r = value.request;
  if (!isObj(r)) return bad('request', 'required');
  if (!SKILL_REQUEST_TYPES.includes(r.type as SkillRequestType)) return bad('request.type', 'unknown request type');
  if (!isStr(r.requestId)) return bad('request.requestId', 'required');
  if (!isStr(r.timestamp)) return bad('request.timestamp', 'required');
  const type = r.type as SkillRequestType;
  if (SESSION_REQUEST_TYPES.includes(type) && (!isObj(value.session) || typeof value.session.new !== 'boolean' || !isStr(value.session.sessionId)))
    return bad('session', 'required for this request type');
  if (type === 'IntentRequest') {
    if (!isObj(r.intent) || !isStr(r.intent.name)) return bad('request.intent.name', 'required');
    if (r.intent.slots !== undefined && !isObj(r.intent.slots)) return bad('request.intent.slots', 'must be an object');
  }
  if (type === 'Display.ElementSelected' && !isStr(r.token)) return bad('request.token', 'required');
  if (type === 'Connections.Response' && (r.name !== 'Charge' || !isObj(r.payload))) return bad('request.payload', 'required');
  return { ok: true, envelope: value as unknown as SkillRequestEnvelope };
}

/** Check an answer for a request type and settings; returns it or throws `SkillResponseError`. */
export function checkAnswer(envelope: SkillResponseEnvelope, options: AnswerCheckOptions): SkillResponseEnvelope {
  void options;
  if (!isObj(envelope) || envelope.version !== '1.0') throw new SkillResponseError(SKILL_RET_CODES.MISSING_FIELD, 'version', 'must be "1.0"');
  const response = (envelope as { response?: unknown }).response;
  if (!isObj(response)) throw new SkillResponseError(SKILL_RET_CODES.MISSING_FIELD, 'response', 'required');
  const speech = response.outputSpeech;
  if (!isObj(speech) || speech.type !== 'PlainText' || typeof speech.text !== 'string')
    throw new SkillResponseError(SKILL_RET_CODES.MISSING_FIELD, 'response.outputSpeech', 'PlainText speech is required');
  return envelope;
}
