/**
 * The kit's use of the protocol's skill checks (src/protocol/skill-check.ts):
 * the request envelope's structure, and the answer's acceptability for the
 * request type and the skill's settings, as the platform judges it.
 */
import {
  checkSkillRequest,
  checkSkillResponse,
  type SkillRequestCheck,
  type SkillRequestType,
  type SkillResponseEnvelope,
  type SkillSettings,
} from '../protocol/browser.js';
import { SkillResponseError } from './errors.js';

export type { SkillSettings };

export interface AnswerCheckOptions {
  /** What the answer answers; without it only the request-independent rules apply (as for an IntentRequest). */
  requestType?: SkillRequestType;
  settings?: SkillSettings;
  strictSchema?: boolean;
}

/** Structural check of a decoded request body. */
export function checkRequest(value: unknown): SkillRequestCheck {
  return checkSkillRequest(value);
}

/** Check an answer; returns it or throws `SkillResponseError` (first violation; all in `.violations`). */
export function checkAnswer(envelope: unknown, options: AnswerCheckOptions): SkillResponseEnvelope {
  const r = checkSkillResponse(envelope, {
    requestType: options.requestType ?? 'IntentRequest',
    skill: options.settings,
    strictSchema: options.strictSchema,
  });
  if (r.ok) return r.response;
  const first = r.violations[0]!;
  throw new SkillResponseError(first.code, first.path, first.reason, r.violations);
}
