/**
 * The field checks the platform's answer check is made of (src/protocol/skill-check.ts):
 * each reports a violation with the platform's return code — missing → 200501,
 * wrong type or value → 100501, a field the protocol does not define → 200503.
 */
import { SKILL_RET_CODES, type SkillRetCode } from './skill-types.js';

export interface SkillViolation {
  code: SkillRetCode;
  /** Where, e.g. `response.directives[0].playlist[1].stream.url`. */
  path: string;
  reason: string;
}

export const C = SKILL_RET_CODES;
export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const HTTP_URL = /^https?:\/\/.+/;
/** Why a familiar-looking field is refused. */
const HINTS: Record<string, string> = {
  paymentRequired: 'the paid flag is "pay" today',
  audioItem: "Alexa's shape: DingDang's AudioPlayer.Play has a playlist",
  metadata: "Alexa's shape: DingDang's playlist item has info { title, subtitle, art }",
  playBehavior: 'AudioPlayer.Play has no playBehavior (only VideoPlayer.Play)',
  offsetInMilliseconds: 'a DingDang stream is { url, token }',
  reprompt: 'DingDang has no reprompt: shouldEndSession false opens the mic again',
  ssml: 'only PlainText speech exists',
  sessionAttributes: 'DingDang answers carry no session attributes',
};
export const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Collects violations; the answer check extends it with the protocol's objects. */
export class FieldChecker {
  readonly violations: SkillViolation[] = [];
  add(code: SkillRetCode, path: string, reason: string): void {
    this.violations.push({ code, path, reason });
  }

  /** Unknown keys → 200503. */
  closed(v: Obj, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(v)) {
      if (allowed.includes(k)) continue;
      const hint = HINTS[k];
      this.add(C.UNDEFINED_FIELD, `${path}.${k}`, `field "${k}" is not defined here${hint ? ` (${hint})` : ''}`);
    }
  }

  /** The object at `v[key]`; reports missing (200501) or not an object (100501). */
  object(v: Obj, key: string, path: string, required: boolean): Obj | undefined {
    const x = v[key];
    if (x === undefined) {
      if (required) this.add(C.MISSING_FIELD, `${path}.${key}`, `required field "${key}" is missing`);
      return undefined;
    }
    if (!isObj(x)) {
      this.add(C.INVALID_RESPONSE, `${path}.${key}`, `"${key}" must be an object, not ${kind(x)}`);
      return undefined;
    }
    return x;
  }

  string(v: Obj, key: string, path: string, required: boolean, opts: { nonEmpty?: boolean; url?: boolean } = {}): string | undefined {
    const x = v[key];
    if (x === undefined) {
      if (required) this.add(C.MISSING_FIELD, `${path}.${key}`, `required field "${key}" is missing`);
      return undefined;
    }
    if (typeof x !== 'string') {
      this.add(C.INVALID_RESPONSE, `${path}.${key}`, `"${key}" must be a string, not ${kind(x)}`);
      return undefined;
    }
    if (opts.nonEmpty && x === '') this.add(required ? C.MISSING_FIELD : C.INVALID_RESPONSE, `${path}.${key}`, `"${key}" must not be empty`);
    else if (opts.url && !HTTP_URL.test(x)) this.add(C.INVALID_RESPONSE, `${path}.${key}`, `"${key}" must be an http(s) URL`);
    return x;
  }

  boolean(v: Obj, key: string, path: string, required: boolean): boolean | undefined {
    const x = v[key];
    if (x === undefined) {
      if (required) this.add(C.MISSING_FIELD, `${path}.${key}`, `required field "${key}" is missing`);
      return undefined;
    }
    if (typeof x !== 'boolean') {
      this.add(C.INVALID_RESPONSE, `${path}.${key}`, `"${key}" must be a boolean, not ${kind(x)}`);
      return undefined;
    }
    return x;
  }

  oneOf(v: Obj, key: string, path: string, required: boolean, values: readonly string[]): string | undefined {
    const x = this.string(v, key, path, required);
    if (x !== undefined && !values.includes(x)) this.add(C.INVALID_RESPONSE, `${path}.${key}`, `"${key}" must be one of ${values.join(', ')}`);
    return x;
  }

  array(v: Obj, key: string, path: string, required: boolean, minItems = 0): unknown[] | undefined {
    const x = v[key];
    if (x === undefined) {
      if (required) this.add(C.MISSING_FIELD, `${path}.${key}`, `required field "${key}" is missing`);
      return undefined;
    }
    if (!Array.isArray(x)) {
      this.add(C.INVALID_RESPONSE, `${path}.${key}`, `"${key}" must be an array, not ${kind(x)}`);
      return undefined;
    }
    if (x.length < minItems) this.add(C.INVALID_RESPONSE, `${path}.${key}`, `"${key}" needs at least ${minItems} item${minItems > 1 ? 's' : ''}`);
    return x as unknown[];
  }

  /** Each element must be an object; returns the objects with their paths. */
  objects(list: unknown[] | undefined, path: string): Array<[Obj, string]> {
    const out: Array<[Obj, string]> = [];
    (list ?? []).forEach((x, i) => {
      if (isObj(x)) out.push([x, `${path}[${i}]`]);
      else this.add(C.INVALID_RESPONSE, `${path}[${i}]`, `must be an object, not ${kind(x)}`);
    });
    return out;
  }

  image(v: Obj, key: string, path: string, required: boolean): void {
    const img = this.object(v, key, path, required);
    if (!img) return;
    const p = `${path}.${key}`;
    this.closed(img, p, ['contentDescription', 'source']);
    this.string(img, 'contentDescription', p, false);
    const src = this.object(img, 'source', p, true);
    if (src) {
      this.closed(src, `${p}.source`, ['url']);
      this.string(src, 'url', `${p}.source`, true, { url: true });
    }
  }

  textContent(v: Obj, path: string): void {
    const t = this.object(v, 'textContent', path, true);
    if (!t) return;
    const p = `${path}.textContent`;
    this.closed(t, p, ['title', 'description']);
    this.string(t, 'title', p, true, { nonEmpty: true });
    this.string(t, 'description', p, false);
  }
}
