/**
 * `SkillBuilder` → `Skill`: verify, parse, dispatch to the first request
 * handler whose `canHandle` accepts, check the answer, reply JSON.
 *
 * ```ts
 * const skill = new SkillBuilder({ skillSecret, skillId })
 *   .addRequestHandlers(requestHandler('LaunchRequest', (i) => i.responseBuilder.speak('欢迎').keepSession()))
 *   .create();
 * const reply = await skill.handle({ headers, rawBody }); // { status, headers, body }
 * ```
 *
 * `handle` never throws: refusals become 401 / 400 / 413 / 403 with a short
 * JSON error, handler failures that no error handler answers become 500.
 */
import {
  DingDangPayError,
  InvalidArgumentError,
  NonceGuard,
  SignatureError,
  type Clock,
  type SkillRequestEnvelope,
  type SkillResponseEnvelope,
} from '../protocol/index.js';
import { checkAnswer, checkRequest, type SkillSettings } from './check.js';
import { httpStatusOf, NoHandlerError, SkillApplicationError, SkillRequestError } from './errors.js';
import type { ErrorHandler, HandlerInput, HandlerOutput, RequestHandler, RequestInterceptor, ResponseInterceptor } from './handler.js';
import { ResponseBuilder } from './response-builder.js';
import { DEFAULT_MAX_BODY_BYTES, verifySkillRequest, type SkillHttpRequest } from './verify.js';

export interface SkillOptions {
  /** The SkillSecret of the TSK-HMAC-SHA256-BASIC signature. */
  skillSecret: string | Uint8Array;
  /** The skill's application id; when set, requests for another id are refused (403). */
  skillId?: string;
  /** The skill's platform configuration; decides whether a LinkAccount card / feedbackAttributes are usable. */
  settings?: SkillSettings;
  /** Check answers with the published JSON schema's stricter reading (default false: the prose). */
  strictSchema?: boolean;
  now?: Clock;
  /** Signature window either way; default 3 minutes. */
  toleranceMs?: number;
  /** Largest accepted body; default 64 KiB. */
  maxBodyBytes?: number;
  /** Replay guard keyed by requestId; default: one per Skill, in memory (per process). */
  nonceGuard?: NonceGuard;
  /** Sees every refusal and every failure (logging); never changes the answer. */
  onError?: (error: unknown, input?: HandlerInput) => void;
}

export interface SkillHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

const JSON_TYPE = 'application/json;charset=UTF-8';
const encoder = new TextEncoder();

function jsonReply(status: number, payload: unknown): SkillHttpResponse {
  const body = encoder.encode(JSON.stringify(payload));
  return { status, headers: { 'content-type': JSON_TYPE, 'content-length': String(body.length) }, body };
}

/** The short JSON error of a refused or failed request: `{ error: { code, reason?, message } }`. */
export function errorReply(error: unknown): SkillHttpResponse {
  const status = httpStatusOf(error);
  if (error instanceof DingDangPayError) {
    const payload: Record<string, unknown> = { code: error.code, message: error.message.slice(0, 200) };
    if (error instanceof SignatureError) payload.reason = error.reason;
    return jsonReply(status, { error: payload });
  }
  return jsonReply(status, { error: { code: 'ERR_INTERNAL', message: 'the skill failed to answer' } });
}

export class Skill {
  private readonly options: SkillOptions;
  private readonly guard: NonceGuard;

  constructor(
    options: SkillOptions,
    private readonly handlers: readonly RequestHandler[],
    private readonly errorHandlers: readonly ErrorHandler[],
    private readonly requestInterceptors: readonly RequestInterceptor[],
    private readonly responseInterceptors: readonly ResponseInterceptor[],
  ) {
    this.options = { ...options };
    this.guard = options.nonceGuard ?? new NonceGuard({ now: options.now, toleranceMs: options.toleranceMs });
  }

  get skillId(): string | undefined {
    return this.options.skillId;
  }

  get maxBodyBytes(): number {
    return this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  }

  /** Verify a signed HTTP request, dispatch it and answer. Never throws. */
  async handle(req: SkillHttpRequest): Promise<SkillHttpResponse> {
    let envelope: SkillRequestEnvelope;
    try {
      const raw = req?.rawBody;
      if (typeof raw !== 'string' && !(raw instanceof Uint8Array)) throw new SkillRequestError('', 'no request body');
      envelope = verifySkillRequest({ headers: req.headers ?? {}, rawBody: raw }, { ...this.options, maxBodyBytes: this.maxBodyBytes, nonceGuard: this.guard });
    } catch (e) {
      this.report(e);
      return errorReply(e);
    }
    try {
      return jsonReply(200, await this.dispatch(envelope));
    } catch (e) {
      return errorReply(e);
    }
  }

  /**
   * Dispatch an envelope without a signature (tests, other transports). The
   * envelope is checked structurally (`SkillRequestError`) and for the skill
   * id; a handler failure no error handler answers is thrown.
   */
  async invoke(envelope: unknown): Promise<SkillResponseEnvelope> {
    const r = checkRequest(envelope);
    if (!r.ok) {
      const e = new SkillRequestError(r.path, r.reason);
      this.report(e);
      throw e;
    }
    const appId = r.envelope.context.System.application.applicationId;
    if (this.options.skillId !== undefined && appId !== this.options.skillId) {
      const e = new SkillApplicationError(appId);
      this.report(e);
      throw e;
    }
    return this.dispatch(r.envelope);
  }

  /** A fresh handler input for an envelope (the one handlers receive). */
  inputFor(envelope: SkillRequestEnvelope, attributes: Record<string, unknown> = {}): HandlerInput {
    const system = envelope.context.System;
    return {
      envelope,
      request: envelope.request,
      session: envelope.session,
      isNewSession: envelope.session?.new === true,
      user: system.user,
      device: system.device,
      applicationId: system.application.applicationId,
      responseBuilder: new ResponseBuilder({ requestType: envelope.request.type, settings: this.options.settings, strictSchema: this.options.strictSchema }),
      attributes,
    };
  }

  private async dispatch(envelope: SkillRequestEnvelope): Promise<SkillResponseEnvelope> {
    const input = this.inputFor(envelope);
    try {
      for (const intercept of this.requestInterceptors) await intercept(input);
      let handler: RequestHandler | undefined;
      for (const h of this.handlers) {
        if (await h.canHandle(input)) {
          handler = h;
          break;
        }
      }
      if (!handler) {
        const r = envelope.request;
        throw new NoHandlerError(r.type, r.type === 'IntentRequest' ? `(intent ${r.intent.name})` : '');
      }
      return await this.finish(input, await handler.handle(input));
    } catch (error) {
      this.report(error, input);
      // The error handler starts from a fresh builder: nothing half-built leaks into its answer.
      const retry = this.inputFor(envelope, input.attributes);
      let chosen: ErrorHandler | undefined;
      for (const h of this.errorHandlers) {
        if (await h.canHandle(retry, error)) {
          chosen = h;
          break;
        }
      }
      if (!chosen) throw error;
      try {
        return await this.finish(retry, await chosen.handle(retry, error));
      } catch (second) {
        this.report(second, retry);
        throw second;
      }
    }
  }

  private async finish(input: HandlerInput, output: HandlerOutput): Promise<SkillResponseEnvelope> {
    const response =
      output instanceof ResponseBuilder
        ? output.getResponse()
        : checkAnswer(output, { requestType: input.request.type, settings: this.options.settings, strictSchema: this.options.strictSchema });
    for (const intercept of this.responseInterceptors) await intercept(input, response);
    return response;
  }

  private report(error: unknown, input?: HandlerInput): void {
    try {
      this.options.onError?.(error, input);
    } catch {
      // A failing logger does not change the answer.
    }
  }
}

/** ask-sdk-style builder: handlers in order (first `canHandle` wins), error handlers, interceptors. */
export class SkillBuilder {
  private readonly handlers: RequestHandler[] = [];
  private readonly errorHandlers: ErrorHandler[] = [];
  private readonly requestInterceptors: RequestInterceptor[] = [];
  private readonly responseInterceptors: ResponseInterceptor[] = [];

  constructor(private readonly options: SkillOptions) {}

  addRequestHandlers(...handlers: RequestHandler[]): this {
    this.handlers.push(...handlers);
    return this;
  }

  addErrorHandlers(...handlers: ErrorHandler[]): this {
    this.errorHandlers.push(...handlers);
    return this;
  }

  /** One error handler; a plain function is a catch-all. */
  addErrorHandler(handler: ErrorHandler | ((input: HandlerInput, error: unknown) => HandlerOutput | Promise<HandlerOutput>)): this {
    this.errorHandlers.push(typeof handler === 'function' ? { canHandle: () => true, handle: handler } : handler);
    return this;
  }

  addRequestInterceptors(...interceptors: RequestInterceptor[]): this {
    this.requestInterceptors.push(...interceptors);
    return this;
  }

  addResponseInterceptors(...interceptors: ResponseInterceptor[]): this {
    this.responseInterceptors.push(...interceptors);
    return this;
  }

  create(): Skill {
    const secret = this.options?.skillSecret;
    if (!(typeof secret === 'string' ? secret.length > 0 : secret instanceof Uint8Array && secret.length > 0))
      throw new InvalidArgumentError('SkillBuilder needs a non-empty skillSecret');
    return new Skill(this.options, [...this.handlers], [...this.errorHandlers], [...this.requestInterceptors], [...this.responseInterceptors]);
  }
}
