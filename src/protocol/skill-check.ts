/**
 * The platform's check of a skill's answer (SKILL-PROTOCOL §4–§5), and a
 * structural check of a skill request (what a skill receives).
 *
 * `checkSkillResponse(value, { requestType, skill })` returns every violation
 * with the return code the DingDang platform reports for it:
 *
 *   100501  not JSON / does not follow the protocol (wrong type, bad value)
 *   100502  a directive not allowed here (undefined directive type, Dialog.*
 *           after a Charge, anything but Display.RenderTemplate when the
 *           session ended, a second Charge)
 *   200501  a required field is missing
 *   200502  a field not usable in this state: `feedbackAttributes` from a skill
 *           that is not a device maker's, `card` without account linking,
 *           `shouldEndSession: false` in the answer to SessionEndedRequest
 *   200503  a field the platform does not define
 *
 * Decisions where the docs leave room (docs/skill.md "Decisions"):
 * * Strictness reaches inward: every object the protocol defines (response,
 *   outputSpeech, card, each directive, playlist items, stream, info, images,
 *   templates, text contents, list items, intents, slots) is closed; an
 *   unknown field anywhere is 200503. Alexa's `audioItem`, `metadata`,
 *   `playBehavior` on AudioPlayer.Play, or the old `paymentRequired`, are
 *   therefore refused. Only `feedbackAttributes` (a free map) is open.
 * * Prose over schema by default: `shouldEndSession` may be absent (default
 *   true); a playlist item with `pay: true` has an empty or absent
 *   `stream.url`. `strictSchema: true` adds the published schema's stricter
 *   reading: `shouldEndSession` required, `stream.url` present on every
 *   playlist item (empty for a paid one), playlist items unique. It does not
 *   refuse `Connections.SendRequest` or `VideoPlayer.Play`, which the schema
 *   omits but the prose defines.
 * * `stream.token` values are unique within a playlist (the platform names an
 *   item by its token in Display.ElementSelected).
 * * `outputSpeech.text` may be empty (an answer that only plays audio).
 * * The answer to Connections.Response may say `shouldEndSession: false`: the
 *   platform sets it to true (the docs: "shouldEndSession会置为true"); not an
 *   error.
 * * `Dialog.ElicitSlot` in the answer to a request without an intent
 *   (LaunchRequest, Display.ElementSelected) must carry `updatedIntent`.
 * * One Charge per answer.
 */
import { validate } from './validate.js';
import {
  CONFIRMATION_STATUSES,
  DISPLAY_TEMPLATE_TYPES,
  REPEAT_TYPES,
  SKILL_DIRECTIVE_TYPES,
  type SkillRequestType,
  type SkillResponseEnvelope,
  type SkillRetCode,
} from './skill-types.js';
import { C, FieldChecker, isObj, kind, type Obj, type SkillViolation } from './skill-check-fields.js';

/** What the platform knows of the skill's configuration. */
export interface SkillSettings {
  /** Account linking is set up for the skill (allows `card: LinkAccount`). */
  accountLinking?: boolean;
  /** A device maker's own skill (allows `feedbackAttributes`). */
  deviceMaker?: boolean;
}

export interface SkillCheckOptions {
  /** The request the answer answers. */
  requestType: SkillRequestType;
  skill?: SkillSettings;
  /** The published JSON schema's stricter reading (default false: the prose). */
  strictSchema?: boolean;
}

export type SkillCheckResult =
  { ok: true; response: SkillResponseEnvelope; violations: [] } | { ok: false; code: SkillRetCode; reason: string; violations: SkillViolation[] };

class Checker extends FieldChecker {
  constructor(readonly o: SkillCheckOptions) {
    super();
  }

  // ------------------------------------------------------------ directives

  audioPlay(d: Obj, path: string): void {
    this.closed(d, path, ['type', 'playlist']);
    const items = this.objects(this.array(d, 'playlist', path, true, 1), `${path}.playlist`);
    const tokens = new Set<string>();
    const seen = new Set<string>();
    for (const [item, p] of items) {
      this.closed(item, p, ['stream', 'info', 'pay']);
      const pay = this.boolean(item, 'pay', p, false) === true;
      const stream = this.object(item, 'stream', p, true);
      if (stream) {
        const sp = `${p}.stream`;
        this.closed(stream, sp, ['url', 'token']);
        const token = this.string(stream, 'token', sp, true, { nonEmpty: true });
        if (token) {
          if (tokens.has(token)) this.add(C.INVALID_RESPONSE, `${sp}.token`, `token "${token}" is used twice in the playlist`);
          tokens.add(token);
        }
        if (pay) {
          const url = this.string(stream, 'url', sp, this.o.strictSchema === true);
          if (url) this.add(C.INVALID_RESPONSE, `${sp}.url`, 'an item with pay: true must have an empty url');
        } else this.string(stream, 'url', sp, true, { url: true });
      }
      const info = this.object(item, 'info', p, false);
      if (info) {
        const ip = `${p}.info`;
        this.closed(info, ip, ['title', 'subtitle', 'art']);
        this.string(info, 'title', ip, true, { nonEmpty: true });
        this.string(info, 'subtitle', ip, false);
        this.image(info, 'art', ip, false);
      }
      if (this.o.strictSchema) {
        const key = JSON.stringify(item);
        if (seen.has(key)) this.add(C.INVALID_RESPONSE, p, 'playlist items must be unique');
        seen.add(key);
      }
    }
  }

  videoPlay(d: Obj, path: string): void {
    this.closed(d, path, ['type', 'playBehavior', 'playlist']);
    this.oneOf(d, 'playBehavior', path, false, ['REPLACE_ALL', 'ENQUEUE']);
    for (const [item, p] of this.objects(this.array(d, 'playlist', path, true, 1), `${path}.playlist`)) {
      this.closed(item, p, ['stream']);
      const stream = this.object(item, 'stream', p, true);
      if (!stream) continue;
      this.closed(stream, `${p}.stream`, ['url', 'token']);
      this.string(stream, 'url', `${p}.stream`, true, { url: true });
      this.string(stream, 'token', `${p}.stream`, true, { nonEmpty: true });
    }
  }

  renderTemplate(d: Obj, path: string): void {
    this.closed(d, path, ['type', 'token', 'template']);
    this.string(d, 'token', path, true, { nonEmpty: true });
    const t = this.object(d, 'template', path, true);
    if (!t) return;
    const p = `${path}.template`;
    const type = this.oneOf(t, 'type', p, true, DISPLAY_TEMPLATE_TYPES);
    switch (type) {
      case 'NewsBodyTemplate':
      case 'NewsBodyTemplate1': {
        this.closed(t, p, ['type', 'textContent', 'backgroundImage', 'backgroundAudio']);
        this.textContent(t, p);
        this.image(t, 'backgroundImage', p, false);
        const audio = this.object(t, 'backgroundAudio', p, false);
        if (audio) {
          this.closed(audio, `${p}.backgroundAudio`, ['source']);
          const src = this.object(audio, 'source', `${p}.backgroundAudio`, true);
          if (src) {
            this.closed(src, `${p}.backgroundAudio.source`, ['url']);
            this.string(src, 'url', `${p}.backgroundAudio.source`, true, { url: true });
          }
        }
        break;
      }
      case 'TextBodyTemplate':
        this.closed(t, p, ['type', 'textContent']);
        this.textContent(t, p);
        break;
      case 'HorizontialListTemplate':
        this.closed(t, p, ['type', 'listItems']);
        for (const [item, ip] of this.objects(this.array(t, 'listItems', p, true, 1), `${p}.listItems`)) {
          this.closed(item, ip, ['token', 'textContent', 'image']);
          this.string(item, 'token', ip, true, { nonEmpty: true });
          this.textContent(item, ip);
          this.image(item, 'image', ip, false);
        }
        break;
      default:
        break;
    }
  }

  intent(v: Obj, path: string): void {
    this.closed(v, path, ['name', 'confirmationStatus', 'slots']);
    this.string(v, 'name', path, true, { nonEmpty: true });
    this.oneOf(v, 'confirmationStatus', path, true, CONFIRMATION_STATUSES);
    const slots = this.object(v, 'slots', path, true);
    if (!slots) return;
    for (const [name, slot] of Object.entries(slots)) {
      const sp = `${path}.slots.${name}`;
      if (!/^[a-zA-Z0-9]*$/.test(name)) this.add(C.UNDEFINED_FIELD, sp, `slot name "${name}" may use only letters and digits`);
      if (!isObj(slot)) {
        this.add(C.INVALID_RESPONSE, sp, `a slot must be an object, not ${kind(slot)}`);
        continue;
      }
      this.closed(slot, sp, ['name', 'confirmationStatus', 'values']);
      this.string(slot, 'name', sp, true, { nonEmpty: true });
      this.oneOf(slot, 'confirmationStatus', sp, true, CONFIRMATION_STATUSES);
      for (const [entry, ep] of this.objects(this.array(slot, 'values', sp, false), `${sp}.values`)) {
        this.closed(entry, ep, ['value']);
        const value = this.object(entry, 'value', ep, true);
        if (value) this.slotValue(value, `${ep}.value`);
      }
    }
  }

  slotValue(v: Obj, p: string): void {
    const type = this.oneOf(v, 'type', p, true, ['text', 'unit', 'address', 'datetime']);
    switch (type) {
      case 'text':
        this.closed(v, p, ['type', 'value', 'origin']);
        this.string(v, 'value', p, true);
        this.string(v, 'origin', p, true);
        break;
      case 'unit':
        this.closed(v, p, ['type', 'amount', 'unit', 'origin']);
        for (const k of ['amount', 'unit', 'origin']) this.string(v, k, p, true);
        break;
      case 'address': {
        const parts = ['country', 'province', 'city', 'district', 'town', 'village', 'title'];
        this.closed(v, p, ['type', ...parts, 'origin']);
        for (const k of parts) this.string(v, k, p, false);
        this.string(v, 'origin', p, true);
        break;
      }
      case 'datetime': {
        this.closed(v, p, ['type', 'value', 'origin']);
        this.string(v, 'origin', p, true);
        const dv = this.object(v, 'value', p, true);
        if (!dv) break;
        const dp = `${p}.value`;
        const dt = (key: string, required: boolean) => {
          const x = this.object(dv, key, dp, required);
          if (!x) return;
          this.closed(x, `${dp}.${key}`, ['date', 'time']);
          this.string(x, 'date', `${dp}.${key}`, false);
          this.string(x, 'time', `${dp}.${key}`, false);
        };
        const t = this.oneOf(dv, 'type', dp, true, ['NORMAL', 'INTERVAL', 'REPEAT']);
        if (t === 'NORMAL') {
          this.closed(dv, dp, ['type', 'datetime']);
          dt('datetime', true);
        } else if (t === 'INTERVAL') {
          this.closed(dv, dp, ['type', 'start', 'end']);
          dt('start', true);
          dt('end', true);
        } else if (t === 'REPEAT') {
          this.closed(dv, dp, ['type', 'amount', 'repeatType', 'start', 'end']);
          this.string(dv, 'amount', dp, false);
          this.oneOf(dv, 'repeatType', dp, false, REPEAT_TYPES);
          dt('start', true);
          dt('end', true);
        }
        break;
      }
      default:
        break;
    }
  }

  elicitSlot(d: Obj, path: string): void {
    this.closed(d, path, ['type', 'slotToElicit', 'updatedIntent']);
    this.string(d, 'slotToElicit', path, true, { nonEmpty: true });
    const intent = this.object(d, 'updatedIntent', path, this.o.requestType !== 'IntentRequest');
    if (intent) this.intent(intent, `${path}.updatedIntent`);
  }

  charge(d: Obj, path: string): void {
    if (d.name !== 'Charge') {
      if (d.name === undefined) this.add(C.MISSING_FIELD, `${path}.name`, 'required field "name" is missing');
      else this.add(C.DIRECTIVE_NOT_ALLOWED, `${path}.name`, `Connections.SendRequest "${String(d.name)}" is not defined (only Charge)`);
      return;
    }
    this.closed(d, path, ['type', 'name', 'payload']);
    const payload = this.object(d, 'payload', path, true);
    if (!payload) return;
    this.closed(payload, `${path}.payload`, ['chargeInfo']);
    const info = this.object(payload, 'chargeInfo', `${path}.payload`, true);
    if (!info) return;
    const ip = `${path}.payload.chargeInfo`;
    this.closed(info, ip, ['name', 'description', 'userId', 'items']);
    for (const [item, p] of this.objects(Array.isArray(info.items) ? info.items : [], `${ip}.items`))
      this.closed(item, p, ['itemId', 'itemName', 'price', 'count', 'totalFee']);
    const v = validate('chargeDirective', d);
    if (v.ok) return;
    for (const issue of v.issues) {
      const at = issue.path ? `${path}.${issue.path}` : path;
      if (this.violations.some((x) => x.path === at)) continue;
      this.add(issue.code === 'REQUIRED' ? C.MISSING_FIELD : C.INVALID_RESPONSE, at, issue.message);
    }
  }

  uriOpen(d: Obj, path: string): void {
    this.closed(d, path, ['type', 'url']);
    this.string(d, 'url', path, true, { nonEmpty: true });
  }

  directives(list: unknown[] | undefined, path: string): void {
    const rt = this.o.requestType;
    let charges = 0;
    for (const [d, p] of this.objects(list, path)) {
      const type = d.type;
      if (type === undefined) {
        this.add(C.MISSING_FIELD, `${p}.type`, 'required field "type" is missing');
        continue;
      }
      if (typeof type !== 'string' || !(SKILL_DIRECTIVE_TYPES as readonly string[]).includes(type)) {
        this.add(C.DIRECTIVE_NOT_ALLOWED, `${p}.type`, `directive type ${JSON.stringify(type)} is not defined`);
        continue;
      }
      if (rt === 'SessionEndedRequest' && type !== 'Display.RenderTemplate') {
        this.add(C.DIRECTIVE_NOT_ALLOWED, `${p}.type`, `only Display.RenderTemplate may answer SessionEndedRequest, not ${type}`);
        continue;
      }
      if (rt === 'Connections.Response' && type.startsWith('Dialog.')) {
        this.add(C.DIRECTIVE_NOT_ALLOWED, `${p}.type`, `${type} may not answer Connections.Response (the session ends)`);
        continue;
      }
      switch (type) {
        case 'AudioPlayer.Play':
          this.audioPlay(d, p);
          break;
        case 'VideoPlayer.Play':
          this.videoPlay(d, p);
          break;
        case 'Display.RenderTemplate':
          this.renderTemplate(d, p);
          break;
        case 'Dialog.ElicitSlot':
          this.elicitSlot(d, p);
          break;
        case 'Connections.SendRequest':
          if (++charges > 1) this.add(C.DIRECTIVE_NOT_ALLOWED, p, 'one Charge per answer');
          else this.charge(d, p);
          break;
        case 'URI.Open':
          this.uriOpen(d, p);
          break;
      }
    }
  }

  response(top: unknown): void {
    if (!isObj(top)) {
      this.add(C.INVALID_RESPONSE, '', `the answer must be a JSON object, not ${kind(top)}`);
      return;
    }
    this.closed(top, '', ['version', 'response', 'feedbackAttributes']);
    const version = this.string(top, 'version', '', true);
    if (version !== undefined && version !== '1.0') this.add(C.INVALID_RESPONSE, '.version', `version must be "1.0", not ${JSON.stringify(version)}`);
    if (top.feedbackAttributes !== undefined) {
      if (!this.o.skill?.deviceMaker) this.add(C.FIELD_NOT_ALLOWED, '.feedbackAttributes', 'feedbackAttributes is only for device-maker skills');
      else if (!isObj(top.feedbackAttributes)) this.add(C.INVALID_RESPONSE, '.feedbackAttributes', 'feedbackAttributes must be an object');
      else if (new TextEncoder().encode(JSON.stringify(top.feedbackAttributes)).length >= 1024)
        this.add(C.INVALID_RESPONSE, '.feedbackAttributes', 'feedbackAttributes must stay under 1 KB');
    }
    const r = this.object(top, 'response', '', true);
    if (!r) return;
    const p = '.response';
    this.closed(r, p, ['outputSpeech', 'shouldEndSession', 'directives', 'card']);
    const speech = r.outputSpeech;
    if (typeof speech === 'string') this.add(C.INVALID_RESPONSE, `${p}.outputSpeech`, 'outputSpeech must be { type: "PlainText", text }, not a bare string');
    else {
      const s = this.object(r, 'outputSpeech', p, true);
      if (s) {
        this.closed(s, `${p}.outputSpeech`, ['type', 'text']);
        this.oneOf(s, 'type', `${p}.outputSpeech`, true, ['PlainText']);
        this.string(s, 'text', `${p}.outputSpeech`, true);
      }
    }
    const end = this.boolean(r, 'shouldEndSession', p, this.o.strictSchema === true);
    if (end === false && this.o.requestType === 'SessionEndedRequest')
      this.add(C.FIELD_NOT_ALLOWED, `${p}.shouldEndSession`, 'the answer to SessionEndedRequest must end the session');
    const card = this.object(r, 'card', p, false);
    if (card) {
      this.closed(card, `${p}.card`, ['type']);
      const type = this.oneOf(card, 'type', `${p}.card`, true, ['LinkAccount']);
      if (type === 'LinkAccount' && !this.o.skill?.accountLinking)
        this.add(C.FIELD_NOT_ALLOWED, `${p}.card`, 'a LinkAccount card needs account linking configured');
    }
    this.directives(this.array(r, 'directives', p, false), `${p}.directives`);
  }
}

const trim = (path: string) => (path.startsWith('.') ? path.slice(1) : path) || '(answer)';

/** Check a decoded skill answer as the platform does. */
export function checkSkillResponse(value: unknown, options: SkillCheckOptions): SkillCheckResult {
  const c = new Checker(options);
  c.response(value);
  if (c.violations.length === 0) return { ok: true, response: value as SkillResponseEnvelope, violations: [] };
  const violations = c.violations.map((v) => ({ ...v, path: trim(v.path) }));
  const first = violations[0]!;
  return { ok: false, code: first.code, reason: `${first.path}: ${first.reason}`, violations };
}

/** Check the raw bytes of a skill answer: not UTF-8 JSON → 100501. */
export function checkSkillResponseText(raw: string | Uint8Array, options: SkillCheckOptions): SkillCheckResult {
  let value: unknown;
  try {
    const text = typeof raw === 'string' ? raw : new TextDecoder('utf-8', { fatal: true }).decode(raw);
    value = JSON.parse(text);
  } catch {
    const v: SkillViolation = { code: C.INVALID_RESPONSE, path: '(answer)', reason: 'the answer is not valid JSON' };
    return { ok: false, code: v.code, reason: `${v.path}: ${v.reason}`, violations: [v] };
  }
  return checkSkillResponse(value, options);
}
