/**
 * The skill as a Tencent Cloud SCF function (SKILL-PROTOCOL §1): the platform
 * wraps the HTTP request as `{ header: { Authorization }, body: "<the HTTP
 * body as a string>" }` and expects `{ header: { "Content-Type":
 * "application/json" }, body: "<the answer JSON as a string>" }`. The
 * signature covers the `body` string's UTF-8 bytes.
 *
 * ```ts
 * export const main_handler = createScfHandler(skill);
 * ```
 *
 * The wrapper has no status code, and the result carries exactly DingDang's
 * two fields: a refused request is answered with the same wrapper around the
 * kit's JSON error (`{ error: { code, … } }`), which is no skill answer, so the
 * platform refuses it.
 */
import type { Skill } from '../skill.js';

export interface ScfEvent {
  header?: Record<string, string | string[] | undefined>;
  headers?: Record<string, string | string[] | undefined>;
  body?: unknown;
}

export interface ScfResult {
  header: { 'Content-Type': string };
  body: string;
}

const decoder = new TextDecoder();

/** An SCF entry function for the skill. Never throws. */
export function createScfHandler(skill: Skill): (event: ScfEvent) => Promise<ScfResult> {
  return async (event) => {
    const headers = (event && typeof event === 'object' && (event.header ?? event.headers)) || {};
    const body = event && typeof event === 'object' && typeof event.body === 'string' ? event.body : undefined;
    const reply = await skill.handle({ headers, rawBody: body as string });
    return { header: { 'Content-Type': 'application/json' }, body: decoder.decode(reply.body) };
  };
}
