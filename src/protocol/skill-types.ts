/**
 * The DingDang custom-skill protocol (SKILL-PROTOCOL.md; the platform's
 * `documents/custom_skill.md` and `json-schemas/custom-skill/response.schema.json`):
 * the request envelope the platform POSTs to a skill's web service, every
 * request type, typed slot values, and the response with its directives and
 * card. Browser-safe: types and constants only.
 *
 * This is not Alexa's format. Slots are `slots.<name>.values[i].value` with a
 * typed value; speech is `{ type: "PlainText", text }`; `AudioPlayer.Play`
 * carries a `playlist` (no `audioItem`, `metadata` or `playBehavior`).
 */
import type { ChargeDirective, ChargeResponseEvent } from './types.js';

export const SKILL_PROTOCOL_VERSION = '1.0';

// ---------------------------------------------------------------- request

export type ConfirmationStatus = 'NONE' | 'CONFIRMED' | 'DENIED';
export const CONFIRMATION_STATUSES: readonly ConfirmationStatus[] = ['NONE', 'CONFIRMED', 'DENIED'];

export type DialogState = 'STARTED' | 'IN_PROGRESS' | 'COMPLETED';
export const DIALOG_STATES: readonly DialogState[] = ['STARTED', 'IN_PROGRESS', 'COMPLETED'];

/** `text`: most slots and every custom entity. `value` is the normalised entity, `origin` what the user said. */
export interface TextSlotValue {
  type: 'text';
  value: string;
  origin: string;
}

/** `unit`: sys.unit, sys.unit.currency / length / duration / age. */
export interface UnitSlotValue {
  type: 'unit';
  amount: string;
  unit: string;
  origin: string;
}

/** `address`: sys.geo.province / county / address. Every part is optional but `origin`. */
export interface AddressSlotValue {
  type: 'address';
  country?: string;
  province?: string;
  city?: string;
  district?: string;
  town?: string;
  village?: string;
  title?: string;
  origin: string;
}

/** A point in time: `date` like "2018", "2018-01" or "2018-01-01"; `time` 24-hour "23:59:59". */
export interface SlotDateTime {
  date?: string;
  time?: string;
}

export type RepeatType = 'YEAR' | 'MONTH' | 'WEEK' | 'DAY' | 'HOUR' | 'MINUTE' | 'WORKDAY' | 'WEEKEND';
export const REPEAT_TYPES: readonly RepeatType[] = ['YEAR', 'MONTH', 'WEEK', 'DAY', 'HOUR', 'MINUTE', 'WORKDAY', 'WEEKEND'];

export type DatetimeValue =
  | { type: 'NORMAL'; datetime: SlotDateTime }
  | { type: 'INTERVAL'; start: SlotDateTime; end: SlotDateTime }
  | { type: 'REPEAT'; amount?: string; repeatType?: RepeatType; start: SlotDateTime; end: SlotDateTime };

/** `datetime`: sys.date, sys.date.freq, sys.datetime, sys.datetime.freq / duration / future. */
export interface DatetimeSlotValue {
  type: 'datetime';
  value: DatetimeValue;
  origin: string;
}

export type SlotValue = TextSlotValue | UnitSlotValue | AddressSlotValue | DatetimeSlotValue;
export type SlotValueType = SlotValue['type'];

/** One slot: a list of values, because one slot can be filled more than once. */
export interface Slot {
  name: string;
  confirmationStatus: ConfirmationStatus;
  values: Array<{ value: SlotValue }>;
}

export interface Intent {
  name: string;
  confirmationStatus: ConfirmationStatus;
  /** Keyed by slot name (the published schema allows `^[a-zA-Z0-9]*$` names). */
  slots: Record<string, Slot>;
}

interface RequestBase {
  requestId: string;
  /** The platform writes the compact basic form `20170720T193559Z` (the docs' tables say "ISO 8601 UTC"). */
  timestamp: string;
}

/** The user opened the skill without an intent ("打开有声书"). */
export interface LaunchRequest extends RequestBase {
  type: 'LaunchRequest';
  queryText: string;
}

export interface IntentRequest extends RequestBase {
  type: 'IntentRequest';
  queryText: string;
  dialogState: DialogState;
  intent: Intent;
}

export type SessionEndedReason = 'USER_INITIATED' | 'ERROR';
export type SessionEndedErrorType = 'INVALID_RESPONSE' | 'INTERNAL_ERROR';

/** The user left ("退出"), or the skill's previous answer was unusable (`reason: ERROR`). */
export interface SessionEndedRequest extends RequestBase {
  type: 'SessionEndedRequest';
  reason: SessionEndedReason;
  error?: { type: SessionEndedErrorType; message: string };
}

/** The user picked an element on a screen, or the player reached a playlist item marked `pay: true`. */
export interface ElementSelectedRequest extends RequestBase {
  type: 'Display.ElementSelected';
  token: string;
}

/** After a Charge: the payment finished (flow C). Same shape as the pay protocol's `ChargeResponseEvent`. */
export type ConnectionsResponseRequest = ChargeResponseEvent;

export type SkillRequest = LaunchRequest | IntentRequest | SessionEndedRequest | ConnectionsResponseRequest | ElementSelectedRequest;
export type SkillRequestType = SkillRequest['type'];
export const SKILL_REQUEST_TYPES: readonly SkillRequestType[] = [
  'LaunchRequest',
  'IntentRequest',
  'SessionEndedRequest',
  'Connections.Response',
  'Display.ElementSelected',
];
/** Request types that carry `session` (the docs: only these three). */
export const SESSION_REQUEST_TYPES: readonly SkillRequestType[] = ['LaunchRequest', 'IntentRequest', 'SessionEndedRequest'];

export interface SkillSession {
  new: boolean;
  /** The same for every request of one conversation. */
  sessionId: string;
}

export interface SkillUser {
  /** The platform's per-skill id of the user; can change when the user follows the skill again. */
  userId: string;
  /** The partner's OAuth access token, only after account linking; it rotates. */
  accessToken?: string;
}

export interface AudioPlayerInterface {
  Play?: boolean;
  Stop?: boolean;
  ClearQueue?: boolean;
}

export interface SkillDevice {
  deviceId: string;
  supportedInterfaces: {
    AudioPlayer?: AudioPlayerInterface;
    /** Other interfaces a device may announce; none is documented besides AudioPlayer. */
    [name: string]: unknown;
  };
}

export interface SkillSystem {
  application: { applicationId: string };
  device: SkillDevice;
  user: SkillUser;
}

export interface SkillContext {
  System: SkillSystem;
  /** The player's state; its fields are not documented. */
  AudioPlayer?: Record<string, unknown>;
}

/** What the platform POSTs to the skill. `session` only on Launch/Intent/SessionEnded requests. */
export interface SkillRequestEnvelope<R extends SkillRequest = SkillRequest> {
  version: '1.0';
  session?: SkillSession;
  context: SkillContext;
  request: R;
}

// ---------------------------------------------------------------- response

/** Only PlainText exists. */
export interface OutputSpeech {
  type: 'PlainText';
  text: string;
}

/** `{ contentDescription?, source: { url } }`; the url is http(s). */
export interface Image {
  contentDescription?: string;
  source: { url: string };
}

/** `{ source: { url } }`. */
export interface Audio {
  source: { url: string };
}

export interface TextContent {
  title: string;
  description?: string;
}

export interface PlaylistItem {
  /** `url` is empty (or absent) when `pay: true`. */
  stream: { url?: string; token: string };
  info?: { title: string; subtitle?: string; art?: Image };
  /** true: not bought yet; the platform sends `Display.ElementSelected` with the token instead of playing it. */
  pay?: boolean;
}

export interface AudioPlayerPlayDirective {
  type: 'AudioPlayer.Play';
  playlist: PlaylistItem[];
}

export type VideoPlayBehavior = 'REPLACE_ALL' | 'ENQUEUE';
export interface VideoPlayerPlayDirective {
  type: 'VideoPlayer.Play';
  playBehavior?: VideoPlayBehavior;
  playlist: Array<{ stream: { url: string; token: string } }>;
}

/** About 3 lines of text (≈ 54 characters) with an optional background image and audio. */
export interface NewsBodyTemplate {
  type: 'NewsBodyTemplate';
  textContent: TextContent;
  backgroundImage?: Image;
  backgroundAudio?: Audio;
}
/** Two lines of text, same fields. */
export interface NewsBodyTemplate1 {
  type: 'NewsBodyTemplate1';
  textContent: TextContent;
  backgroundImage?: Image;
  backgroundAudio?: Audio;
}
export interface TextBodyTemplate {
  type: 'TextBodyTemplate';
  textContent: TextContent;
}
export interface ListItem {
  token: string;
  textContent: TextContent;
  image?: Image;
}
/** Spelled `HorizontialListTemplate` on the wire (sic). */
export interface HorizontialListTemplate {
  type: 'HorizontialListTemplate';
  listItems: ListItem[];
}
export type DisplayTemplate = NewsBodyTemplate | NewsBodyTemplate1 | TextBodyTemplate | HorizontialListTemplate;
export type DisplayTemplateType = DisplayTemplate['type'];
export const DISPLAY_TEMPLATE_TYPES: readonly DisplayTemplateType[] = ['NewsBodyTemplate', 'NewsBodyTemplate1', 'TextBodyTemplate', 'HorizontialListTemplate'];

export interface RenderTemplateDirective {
  type: 'Display.RenderTemplate';
  token: string;
  template: DisplayTemplate;
}

export interface ElicitSlotDirective {
  type: 'Dialog.ElicitSlot';
  slotToElicit: string;
  /** Replaces the session's intent: update the request's intent, don't start from nothing. */
  updatedIntent?: Intent;
}

/** In the published response schema, not in the prose docs. */
export interface UriOpenDirective {
  type: 'URI.Open';
  url: string;
}

export type SkillDirective =
  AudioPlayerPlayDirective | VideoPlayerPlayDirective | RenderTemplateDirective | ElicitSlotDirective | ChargeDirective | UriOpenDirective;
export type SkillDirectiveType = SkillDirective['type'];
export const SKILL_DIRECTIVE_TYPES: readonly SkillDirectiveType[] = [
  'AudioPlayer.Play',
  'VideoPlayer.Play',
  'Display.RenderTemplate',
  'Dialog.ElicitSlot',
  'Connections.SendRequest',
  'URI.Open',
];

export interface LinkAccountCard {
  type: 'LinkAccount';
}

export interface SkillResponseBody {
  outputSpeech: OutputSpeech;
  /** Default true; false keeps the session and opens the mic again. */
  shouldEndSession?: boolean;
  directives?: SkillDirective[];
  /** Needs account linking configured for the skill (else 200502). */
  card?: LinkAccountCard;
}

/** What the skill answers. `feedbackAttributes`: device-maker skills only, under 1 KB. */
export interface SkillResponseEnvelope {
  version: '1.0';
  response: SkillResponseBody;
  feedbackAttributes?: Record<string, unknown>;
}

// ---------------------------------------------------------------- platform return codes (SKILL-PROTOCOL §5)

export const SKILL_RET_CODES = {
  /** The skill's service could not be called (refused, DNS, TLS). */
  UNREACHABLE: 100400,
  /** The skill's web service timed out. */
  TIMEOUT: 100401,
  /** HTTP status other than 200. */
  HTTP_STATUS: 100402,
  /** The SCF function timed out. */
  SCF_TIMEOUT: 100403,
  /** The SCF function's answer was abnormal. */
  SCF_ABNORMAL: 100405,
  /** SCF envelope malformed (`body` not a string, extra escaping). */
  SCF_MALFORMED: 100406,
  /** Not valid JSON / does not follow the protocol. */
  INVALID_RESPONSE: 100501,
  /** A directive not allowed here. */
  DIRECTIVE_NOT_ALLOWED: 100502,
  /** A required field is missing. */
  MISSING_FIELD: 200501,
  /** A field not usable in this state (by the skill's configuration). */
  FIELD_NOT_ALLOWED: 200502,
  /** A field the platform does not define. */
  UNDEFINED_FIELD: 200503,
} as const;
export type SkillRetCode = (typeof SKILL_RET_CODES)[keyof typeof SKILL_RET_CODES];
