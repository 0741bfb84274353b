/**
 * `dingdang-pay/skill`: a kit for DingDang custom skills, shaped like
 * Amazon's ask-sdk (request handlers with canHandle/handle, a response
 * builder) with DingDang's own protocol inside (SKILL-PROTOCOL.md): typed
 * slot values, PlainText speech, AudioPlayer.Play playlists with paid items,
 * the Charge directive, TSK-HMAC-SHA256-BASIC signatures. See docs/skill.md.
 */
export { SkillBuilder, Skill, errorReply, type SkillOptions, type SkillHttpResponse } from './skill.js';
export {
  verifySkillRequest,
  parseSkillRequest,
  headerValue,
  DEFAULT_MAX_BODY_BYTES,
  type SkillHttpRequest,
  type VerifySkillRequestOptions,
  type HeaderMap,
} from './verify.js';
export {
  intentHandler,
  requestHandler,
  errorHandler,
  isIntent,
  isRequestType,
  getIntentName,
  isScreenDevice,
  supportsAudioPlayer,
  type HandlerInput,
  type HandlerOutput,
  type RequestHandler,
  type ErrorHandler,
  type RequestInterceptor,
  type ResponseInterceptor,
  type RequestOfType,
} from './handler.js';
export {
  ResponseBuilder,
  playlistItem,
  type ResponseBuilderOptions,
  type PlaylistItemInput,
  type ChargeInfoInput,
  type ChargeItemInput,
} from './response-builder.js';
export {
  newsBody,
  newsBody1,
  textBody,
  horizontialList,
  image,
  audio,
  isHttpUrl,
  type NewsBodyInput,
  type TextContentInput,
  type ListItemInput,
} from './templates.js';
export {
  getSlot,
  getSlotValue,
  getSlotValues,
  getSlotOrigin,
  getSlotNumber,
  getSlotTypedValue,
  getSlotTypedValues,
  slotValueText,
  type SlotSource,
} from './slots.js';
export { parseChineseNumber, extractNumber, toChineseNumber, NUMBER_SUFFIXES } from './numbers.js';
export type { SkillSettings } from './check.js';
export {
  SkillResponseError,
  SkillRequestError,
  SkillBodyTooLargeError,
  SkillApplicationError,
  NoHandlerError,
  SKILL_RESPONSE_ERROR_CODES,
  type SkillResponseErrorCode,
} from './errors.js';
export { createNodeHttpHandler, listen, type NodeHttpOptions, type ListenOptions, type ListeningSkill } from './adapters/node-http.js';
export { createScfHandler, type ScfEvent, type ScfResult } from './adapters/scf.js';
export { SignatureError, SKILL_RET_CODES } from '../protocol/index.js';
export type {
  SkillRequestEnvelope,
  SkillResponseEnvelope,
  SkillRequest,
  SkillRequestType,
  LaunchRequest,
  IntentRequest,
  SessionEndedRequest,
  ConnectionsResponseRequest,
  ElementSelectedRequest,
  Intent,
  Slot,
  SlotValue,
  PlaylistItem,
  DisplayTemplate,
  Image,
  ChargeInfo,
  SkillRetCode,
} from '../protocol/index.js';
