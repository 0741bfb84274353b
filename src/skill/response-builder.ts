/**
 * A builder that only produces answers the DingDang platform accepts
 * (SKILL-PROTOCOL §4). What can be checked at a call is checked there and
 * thrown as a `SkillResponseError` (its `retCode` is the platform return code
 * the answer would earn); `getResponse()` runs the protocol's full response
 * check for the request type and the skill's settings.
 *
 * * Only PlainText speech exists: `speak(text)`.
 * * There is no re-prompt field: `reprompt(text)` and `keepSession()` write
 *   `shouldEndSession: false` (the mic opens again). `reprompt(text)` also
 *   appends `text` to the speech, unless the speech already ends with it:
 *   the question is asked now, there is no later re-prompt.
 * * `shouldEndSession` is always written (default true), which satisfies both
 *   the prose (default true) and the published schema (required).
 * * One directive of each type per answer: a second `play(...)` replaces the
 *   first. Directives keep the order of the calls.
 */
import {
  SKILL_RET_CODES,
  validate,
  type AudioPlayerPlayDirective,
  type ChargeDirective,
  type ChargeInfo,
  type ChargeItem,
  type DisplayTemplate,
  type Image,
  type Intent,
  type PlaylistItem,
  type SkillDirective,
  type SkillDirectiveType,
  type SkillRequestType,
  type SkillResponseBody,
  type SkillResponseEnvelope,
  type SkillRetCode,
  type VideoPlayBehavior,
} from '../protocol/browser.js';
import { SkillResponseError } from './errors.js';
import { checkAnswer, type SkillSettings } from './check.js';
import { imageOf, requireHttpUrl, requireText } from './templates.js';

export interface ResponseBuilderOptions {
  /** What the answer answers; enables the per-request-type rules. */
  requestType?: SkillRequestType;
  /** The skill's platform configuration (account linking, device maker). Default: neither. */
  settings?: SkillSettings;
  /** The published JSON schema's stricter reading (default false: the prose). */
  strictSchema?: boolean;
}

export interface PlaylistItemInput {
  /** The stream's token: sent back in `Display.ElementSelected` when the player reaches a paid item. */
  token: string;
  /** http(s) stream URL; required unless `pay: true`, and absent when `pay: true`. */
  url?: string;
  title: string;
  subtitle?: string;
  /** Cover art: a URL or an `Image`. */
  art?: string | Image;
  /** Not bought yet: the platform does not play it and sends `Display.ElementSelected` instead. */
  pay?: boolean;
}

/**
 * One `AudioPlayer.Play` playlist item. A `pay: true` item carries
 * `stream.url: ""`: the prose says its url is empty, the published schema
 * requires the field; an empty string satisfies both readings. Giving a
 * paid item a url is refused (100501).
 */
export function playlistItem(input: PlaylistItemInput, path = 'playlistItem'): PlaylistItem {
  if (!input || typeof input !== 'object') throw new SkillResponseError(SKILL_RET_CODES.MISSING_FIELD, path, 'a playlist item is required');
  const token = requireText(input.token, `${path}.stream.token`);
  const stream: PlaylistItem['stream'] = { url: '', token };
  if (input.pay === true) {
    if (input.url !== undefined && input.url !== '')
      throw new SkillResponseError(SKILL_RET_CODES.INVALID_RESPONSE, `${path}.stream.url`, 'an item with pay: true must have an empty url');
  } else {
    if (input.url === undefined || input.url === '')
      throw new SkillResponseError(SKILL_RET_CODES.MISSING_FIELD, `${path}.stream.url`, 'a playable item needs a stream url');
    stream.url = requireHttpUrl(input.url, `${path}.stream.url`);
  }
  const info: NonNullable<PlaylistItem['info']> = { title: requireText(input.title, `${path}.info.title`) };
  if (input.subtitle !== undefined) info.subtitle = String(input.subtitle);
  if (input.art !== undefined) info.art = imageOf(input.art, `${path}.info.art`);
  const item: PlaylistItem = { stream: { url: stream.url, token: stream.token }, info };
  if (input.pay === true) item.pay = true;
  return item;
}

/** A Charge item; `totalFee` defaults to `price × count` (all integer fen), `count` to 1. */
export interface ChargeItemInput {
  itemId: string;
  itemName: string;
  price: number;
  count?: number;
  totalFee?: number;
}
export interface ChargeInfoInput {
  name: string;
  description?: string;
  /** The user's id at the partner, for skills without account linking. */
  userId?: string;
  items: ChargeItemInput[];
}

/** As the platform's check maps the Charge validation: a missing field is 200501, anything else 100501. */
const ISSUE_RET: Record<string, SkillRetCode> = { REQUIRED: SKILL_RET_CODES.MISSING_FIELD };

export class ResponseBuilder {
  readonly requestType: SkillRequestType | undefined;
  readonly settings: SkillSettings;
  readonly strictSchema: boolean;
  private speech: string | undefined;
  private endSessionFlag = true;
  private directives: SkillDirective[] = [];
  private card: SkillResponseBody['card'];
  private feedback: Record<string, unknown> | undefined;

  constructor(options: ResponseBuilderOptions = {}) {
    this.requestType = options.requestType;
    this.settings = { ...options.settings };
    this.strictSchema = options.strictSchema ?? false;
  }

  private refuse(retCode: SkillRetCode, path: string, reason: string): never {
    throw new SkillResponseError(retCode, path, reason);
  }

  /** The speech (PlainText; DingDang has no SSML). Replaces earlier speech. */
  speak(text: string): this {
    if (typeof text !== 'string') this.refuse(SKILL_RET_CODES.INVALID_RESPONSE, 'response.outputSpeech.text', 'speech must be a string');
    this.speech = text;
    return this;
  }

  /**
   * Keep the session open (`shouldEndSession: false`): the mic opens again
   * after the speech. Refused on SessionEndedRequest (200502). In the answer
   * to Connections.Response the platform ends the session anyway.
   */
  keepSession(): this {
    if (this.requestType === 'SessionEndedRequest')
      this.refuse(SKILL_RET_CODES.FIELD_NOT_ALLOWED, 'response.shouldEndSession', 'the answer to SessionEndedRequest must end the session');
    this.endSessionFlag = false;
    return this;
  }

  /**
   * DingDang has no re-prompt: this keeps the session open (`shouldEndSession:
   * false`) and appends `text` to the speech unless the speech already ends with it.
   */
  reprompt(text?: string): this {
    this.keepSession();
    if (typeof text === 'string' && text !== '') {
      const now = this.speech ?? '';
      if (!now.endsWith(text)) this.speech = now ? `${now}${joiner(now)}${text}` : text;
    }
    return this;
  }

  /** End the session (the default). */
  endSession(): this {
    this.endSessionFlag = true;
    return this;
  }

  /**
   * Add (or replace) the directive of `type`, built by `build`. Errors of the
   * build get the directive's place in the answer as path prefix.
   */
  private put(type: SkillDirectiveType, build: () => SkillDirective): this {
    const existing = this.directives.findIndex((d) => d.type === type);
    const index = existing >= 0 ? existing : this.directives.length;
    const at = `response.directives[${index}]`;
    const allowed = ALLOWED_DIRECTIVES[this.requestType ?? ''];
    if (allowed && !allowed.includes(type))
      this.refuse(SKILL_RET_CODES.DIRECTIVE_NOT_ALLOWED, `${at}.type`, `${type} is not allowed in the answer to ${this.requestType}`);
    let directive: SkillDirective;
    try {
      directive = build();
    } catch (e) {
      throw e instanceof SkillResponseError ? e.at(at) : e;
    }
    if (existing >= 0) this.directives[existing] = directive;
    else this.directives.push(directive);
    return this;
  }

  /** `AudioPlayer.Play` with a playlist (items from `playlistItem(...)` or their inputs). */
  play(items: Array<PlaylistItem | PlaylistItemInput> | PlaylistItem | PlaylistItemInput): this {
    return this.put('AudioPlayer.Play', () => {
      const list = Array.isArray(items) ? items : [items];
      if (list.length === 0) this.refuse(SKILL_RET_CODES.INVALID_RESPONSE, 'playlist', 'a playlist needs at least one item');
      const playlist = list.map((item, i) => {
        const path = `playlist[${i}]`;
        if (item && typeof item === 'object' && 'stream' in item) {
          const p = item;
          return playlistItem(
            { token: p.stream?.token, url: p.stream?.url, title: p.info?.title ?? '', subtitle: p.info?.subtitle, art: p.info?.art, pay: p.pay },
            path,
          );
        }
        return playlistItem(item, path);
      });
      const tokens = new Set<string>();
      for (const [i, p] of playlist.entries()) {
        if (tokens.has(p.stream.token))
          this.refuse(SKILL_RET_CODES.INVALID_RESPONSE, `playlist[${i}].stream.token`, `token "${p.stream.token}" is used twice in the playlist`);
        tokens.add(p.stream.token);
      }
      return { type: 'AudioPlayer.Play', playlist } satisfies AudioPlayerPlayDirective;
    });
  }

  /** `VideoPlayer.Play` (every stream needs an http(s) url and a token). */
  playVideo(streams: Array<{ url: string; token: string }>, playBehavior?: VideoPlayBehavior): this {
    return this.put('VideoPlayer.Play', () => {
      if (!Array.isArray(streams) || streams.length === 0) this.refuse(SKILL_RET_CODES.INVALID_RESPONSE, 'playlist', 'a playlist needs at least one item');
      if (playBehavior !== undefined && playBehavior !== 'REPLACE_ALL' && playBehavior !== 'ENQUEUE')
        this.refuse(SKILL_RET_CODES.INVALID_RESPONSE, 'playBehavior', 'playBehavior must be REPLACE_ALL or ENQUEUE');
      const playlist = streams.map((s, i) => ({
        stream: { url: requireHttpUrl(s?.url, `playlist[${i}].stream.url`), token: requireText(s?.token, `playlist[${i}].stream.token`) },
      }));
      return playBehavior === undefined ? { type: 'VideoPlayer.Play', playlist } : { type: 'VideoPlayer.Play', playBehavior, playlist };
    });
  }

  /** `Display.RenderTemplate` (templates from `newsBody`, `newsBody1`, `textBody`, `horizontialList`). */
  renderTemplate(token: string, template: DisplayTemplate): this {
    return this.put('Display.RenderTemplate', () => {
      requireText(token, 'token');
      if (!template || typeof template !== 'object' || typeof template.type !== 'string')
        this.refuse(SKILL_RET_CODES.MISSING_FIELD, 'template', 'a template is required');
      return { type: 'Display.RenderTemplate', token, template: structuredClone(template) };
    });
  }

  /**
   * `Connections.SendRequest` Charge: the platform takes over the payment and
   * sends `Connections.Response` afterwards. Amounts are integer fen;
   * `count` defaults to 1 and `totalFee` to `price × count` (a given
   * `totalFee` must equal it). Checked with the protocol's `chargeDirective`
   * validation: a missing field is 200501, any other problem 100501.
   */
  charge(chargeInfo: ChargeInfoInput): this {
    return this.put('Connections.SendRequest', () => {
      const items: ChargeItem[] = Array.isArray(chargeInfo?.items)
        ? chargeInfo.items.map((it) => {
            const count = it?.count ?? 1;
            const computed = Number.isSafeInteger(it?.price) && Number.isSafeInteger(count) ? it.price * count : undefined;
            return { ...it, count, totalFee: (it?.totalFee ?? computed) as number };
          })
        : chargeInfo?.items;
      const info = { ...chargeInfo, items } as ChargeInfo;
      const directive: ChargeDirective = { type: 'Connections.SendRequest', name: 'Charge', payload: { chargeInfo: info } };
      const v = validate('chargeDirective', directive);
      if (!v.ok) {
        const issue = v.issues[0]!;
        this.refuse(ISSUE_RET[issue.code] ?? SKILL_RET_CODES.INVALID_RESPONSE, issue.path, `${issue.code}: ${issue.message}`);
      }
      return directive;
    });
  }

  /** `card: { type: "LinkAccount" }`; needs account linking configured for the skill (else 200502). */
  linkAccount(): this {
    if (!this.settings.accountLinking)
      this.refuse(
        SKILL_RET_CODES.FIELD_NOT_ALLOWED,
        'response.card',
        'a LinkAccount card needs account linking configured for the skill (settings.accountLinking)',
      );
    this.card = { type: 'LinkAccount' };
    return this;
  }

  /**
   * `Dialog.ElicitSlot`: ask for a slot; keeps the session open. Refused after
   * a Charge (Connections.Response) and on SessionEndedRequest (100502).
   * Outside an IntentRequest there is no intent to continue, so
   * `updatedIntent` is required there (200501).
   */
  elicitSlot(slotToElicit: string, updatedIntent?: Pick<Intent, 'name'> & Partial<Intent>): this {
    if (this.requestType === 'Connections.Response')
      this.refuse(
        SKILL_RET_CODES.DIRECTIVE_NOT_ALLOWED,
        `response.directives[${this.directives.length}].type`,
        'Dialog.ElicitSlot may not answer Connections.Response (the session ends)',
      );
    this.put('Dialog.ElicitSlot', () => {
      requireText(slotToElicit, 'slotToElicit');
      if (updatedIntent === undefined) {
        if (this.requestType !== undefined && this.requestType !== 'IntentRequest')
          this.refuse(SKILL_RET_CODES.MISSING_FIELD, 'updatedIntent', `outside an IntentRequest (${this.requestType}) the elicitation needs updatedIntent`);
        return { type: 'Dialog.ElicitSlot', slotToElicit };
      }
      if (!updatedIntent || typeof updatedIntent !== 'object' || typeof updatedIntent.name !== 'string' || updatedIntent.name === '')
        this.refuse(SKILL_RET_CODES.MISSING_FIELD, 'updatedIntent.name', 'updatedIntent needs a name');
      // confirmationStatus and slots default to NONE and {} (both are required on the wire).
      const intent: Intent = { confirmationStatus: 'NONE', slots: {}, ...structuredClone(updatedIntent) };
      return { type: 'Dialog.ElicitSlot', slotToElicit, updatedIntent: intent };
    });
    this.endSessionFlag = false;
    return this;
  }

  /** `URI.Open` (in the published response schema, not the prose). The kit allows http(s) URLs only. */
  openUri(url: string): this {
    return this.put('URI.Open', () => ({ type: 'URI.Open', url: requireHttpUrl(url, 'url') }));
  }

  /** `feedbackAttributes`: device-maker skills only (settings.deviceMaker), under 1 KB of JSON. */
  feedbackAttributes(attributes: Record<string, unknown>): this {
    if (!this.settings.deviceMaker)
      this.refuse(SKILL_RET_CODES.FIELD_NOT_ALLOWED, 'feedbackAttributes', 'feedbackAttributes are for device-maker skills only (settings.deviceMaker)');
    if (!attributes || typeof attributes !== 'object' || Array.isArray(attributes))
      this.refuse(SKILL_RET_CODES.INVALID_RESPONSE, 'feedbackAttributes', 'must be an object');
    if (new TextEncoder().encode(JSON.stringify(attributes)).length >= 1024)
      this.refuse(SKILL_RET_CODES.INVALID_RESPONSE, 'feedbackAttributes', 'must be under 1 KB');
    this.feedback = attributes;
    return this;
  }

  /** The answer, checked for the request type and settings; throws `SkillResponseError`. */
  getResponse(): SkillResponseEnvelope {
    if (this.speech === undefined) this.refuse(SKILL_RET_CODES.MISSING_FIELD, 'response.outputSpeech', 'speech is required: call speak(text)');
    const response: SkillResponseBody = { outputSpeech: { type: 'PlainText', text: this.speech }, shouldEndSession: this.endSessionFlag };
    if (this.directives.length > 0) response.directives = this.directives.map((d) => structuredClone(d));
    if (this.card) response.card = { ...this.card };
    const envelope: SkillResponseEnvelope = { version: '1.0', response };
    if (this.feedback) envelope.feedbackAttributes = structuredClone(this.feedback);
    return checkAnswer(envelope, { requestType: this.requestType, settings: this.settings, strictSchema: this.strictSchema });
  }
}

/** What goes between speech and an appended question: nothing after punctuation, 。 after Chinese, a space otherwise. */
function joiner(speech: string): string {
  if (/[\s。！？；，、!?.;,:：]$/u.test(speech)) return '';
  return /[\u3400-\u9fff]$/u.test(speech) ? '。' : ' ';
}

/** Directives allowed in the answer to a request type, where the protocol restricts them. */
const ALLOWED_DIRECTIVES: Record<string, readonly SkillDirectiveType[]> = {
  SessionEndedRequest: ['Display.RenderTemplate'],
};
