/**
 * What a request handler sees and the predicates to choose one
 * (ask-sdk-shaped: `canHandle` / `handle`, first match wins).
 */
import type {
  ConnectionsResponseRequest,
  ElementSelectedRequest,
  IntentRequest,
  LaunchRequest,
  SessionEndedRequest,
  SkillDevice,
  SkillRequest,
  SkillRequestEnvelope,
  SkillRequestType,
  SkillResponseEnvelope,
  SkillSession,
  SkillUser,
} from '../protocol/browser.js';
import type { ResponseBuilder } from './response-builder.js';

/** The request type named `T`. */
export type RequestOfType<T extends SkillRequestType> = Extract<SkillRequest, { type: T }>;

export interface HandlerInput<R extends SkillRequest = SkillRequest> {
  envelope: SkillRequestEnvelope<R>;
  request: R;
  /** Only on LaunchRequest, IntentRequest and SessionEndedRequest. */
  session: SkillSession | undefined;
  /** `session.new`; false when the request has no session. */
  isNewSession: boolean;
  /** `userId` (per skill; can change when the user follows the skill again) and, after account linking, `accessToken`. */
  user: SkillUser;
  device: SkillDevice;
  /** `context.System.application.applicationId`. */
  applicationId: string;
  /** A fresh builder for this request, aware of its type and the skill's settings. */
  responseBuilder: ResponseBuilder;
  /** Scratch space for this request (interceptors → handlers). Not sent anywhere: DingDang has no session attributes. */
  attributes: Record<string, unknown>;
}

/** A handler may return the built envelope, the builder itself (the kit calls `getResponse()`), or a promise of either. */
export type HandlerOutput = SkillResponseEnvelope | ResponseBuilder;

export interface RequestHandler {
  canHandle(input: HandlerInput): boolean | Promise<boolean>;
  handle(input: HandlerInput): HandlerOutput | Promise<HandlerOutput>;
}

export interface ErrorHandler {
  canHandle(input: HandlerInput, error: unknown): boolean | Promise<boolean>;
  handle(input: HandlerInput, error: unknown): HandlerOutput | Promise<HandlerOutput>;
}

/** Runs before dispatch (e.g. load the partner's user for `user.accessToken`). */
export type RequestInterceptor = (input: HandlerInput) => void | Promise<void>;
/** Runs after a handler answered, with the checked answer (e.g. logging). */
export type ResponseInterceptor = (input: HandlerInput, response: SkillResponseEnvelope) => void | Promise<void>;

/** True when the request is of type `type`. Narrows `input.request`. */
export function isRequestType<T extends SkillRequestType>(input: HandlerInput, type: T): input is HandlerInput<RequestOfType<T>> {
  return input.request.type === type;
}

/** True for an `IntentRequest`, and when `names` are given, for one of those intents. */
export function isIntent(input: HandlerInput, ...names: string[]): input is HandlerInput<IntentRequest> {
  if (input.request.type !== 'IntentRequest') return false;
  return names.length === 0 || names.includes(input.request.intent.name);
}

/** The intent's name, or `undefined` for other request types. */
export function getIntentName(input: HandlerInput): string | undefined {
  return input.request.type === 'IntentRequest' ? input.request.intent.name : undefined;
}

/**
 * True on a speaker with a screen. DingDang defines no screen flag: this reads
 * `context.System.device.supportedInterfaces["Sandbox.Screen"]`, the local
 * sandbox's own extension (present, as `{}`, only on screen speakers). On the
 * real platform it is always false; render templates regardless when useful.
 */
export function isScreenDevice(input: Pick<HandlerInput, 'device'>): boolean {
  const v = input.device?.supportedInterfaces?.['Sandbox.Screen'];
  return !!v && typeof v === 'object';
}

/** True when the device announces `AudioPlayer.Play`. */
export function supportsAudioPlayer(input: Pick<HandlerInput, 'device'>): boolean {
  return input.device?.supportedInterfaces?.AudioPlayer?.Play === true;
}

type Fn<R extends SkillRequest> = (input: HandlerInput<R>) => HandlerOutput | Promise<HandlerOutput>;

/** A handler for one intent (or several: `intentHandler(['next', 'previous'], fn)`). */
export function intentHandler(name: string | string[], handle: Fn<IntentRequest>): RequestHandler {
  const names = Array.isArray(name) ? name : [name];
  return {
    canHandle: (input) => isIntent(input, ...names),
    handle: (input) => handle(input as HandlerInput<IntentRequest>),
  };
}

/** A handler for one request type. */
export function requestHandler<T extends SkillRequestType>(type: T, handle: Fn<RequestOfType<T>>): RequestHandler {
  return {
    canHandle: (input) => input.request.type === type,
    handle: (input) => handle(input as HandlerInput<RequestOfType<T>>),
  };
}

/** A catch-all error handler. */
export function errorHandler(handle: (input: HandlerInput, error: unknown) => HandlerOutput | Promise<HandlerOutput>): ErrorHandler {
  return { canHandle: () => true, handle };
}

export type { ConnectionsResponseRequest, ElementSelectedRequest, IntentRequest, LaunchRequest, SessionEndedRequest };
