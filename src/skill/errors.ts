/**
 * Errors of the skill kit (`dingdang-pay/skill`). Every one extends
 * `DingDangPayError`, so `instanceof` and the stable string `code` work as in
 * the rest of the package.
 *
 * | class | `code` | HTTP (from `Skill.handle`) | platform return code (`retCode`) |
 * |---|---|---|---|
 * | `SignatureError` (protocol) | `ERR_SIGNATURE` | 401 | – |
 * | `SkillRequestError` | `ERR_SKILL_REQUEST` | 400 | – |
 * | `SkillBodyTooLargeError` | `ERR_SKILL_BODY_TOO_LARGE` | 413 | – |
 * | `SkillApplicationError` | `ERR_SKILL_WRONG_APPLICATION` | 403 | – |
 * | `NoHandlerError` | `ERR_SKILL_NO_HANDLER` | 500 (when no error handler answers) | – |
 * | `SkillResponseError` | `ERR_SKILL_INVALID_RESPONSE` | 500 (when no error handler answers) | 100501 |
 * | `SkillResponseError` | `ERR_SKILL_DIRECTIVE_NOT_ALLOWED` | 500 (…) | 100502 |
 * | `SkillResponseError` | `ERR_SKILL_MISSING_FIELD` | 500 (…) | 200501 |
 * | `SkillResponseError` | `ERR_SKILL_FIELD_NOT_ALLOWED` | 500 (…) | 200502 |
 * | `SkillResponseError` | `ERR_SKILL_UNDEFINED_FIELD` | 500 (…) | 200503 |
 *
 * `SkillResponseError.code` is a string like every `code` of the package;
 * the platform's numeric return code the answer would earn is `retCode`.
 */
import { DingDangPayError, SKILL_RET_CODES, type SkillRetCode } from '../protocol/browser.js';

/** The platform return codes a skill's answer can earn, by the kit's error code. */
export const SKILL_RESPONSE_ERROR_CODES = {
  ERR_SKILL_INVALID_RESPONSE: SKILL_RET_CODES.INVALID_RESPONSE,
  ERR_SKILL_DIRECTIVE_NOT_ALLOWED: SKILL_RET_CODES.DIRECTIVE_NOT_ALLOWED,
  ERR_SKILL_MISSING_FIELD: SKILL_RET_CODES.MISSING_FIELD,
  ERR_SKILL_FIELD_NOT_ALLOWED: SKILL_RET_CODES.FIELD_NOT_ALLOWED,
  ERR_SKILL_UNDEFINED_FIELD: SKILL_RET_CODES.UNDEFINED_FIELD,
} as const;
export type SkillResponseErrorCode = keyof typeof SKILL_RESPONSE_ERROR_CODES;

/** Return codes that describe the answer itself (the rest are transport failures). */
export type SkillAnswerRetCode = (typeof SKILL_RESPONSE_ERROR_CODES)[SkillResponseErrorCode];

function codeOfRetCode(retCode: SkillRetCode): SkillResponseErrorCode {
  for (const [code, rc] of Object.entries(SKILL_RESPONSE_ERROR_CODES)) if (rc === retCode) return code as SkillResponseErrorCode;
  return 'ERR_SKILL_INVALID_RESPONSE';
}

/**
 * The answer being built would be refused by the platform. Thrown by the
 * `ResponseBuilder` at the call that makes it invalid (or at `getResponse()`).
 */
export class SkillResponseError extends DingDangPayError {
  /** The platform return code the answer would earn (100501, 100502, 200501, 200502, 200503). */
  readonly retCode: SkillRetCode;
  /** JSON path of the offending field, e.g. `response.directives[0].playlist[1].stream.url`. */
  readonly path: string;
  readonly reason: string;
  /** Every problem the platform's check found (the first is this error's). */
  readonly violations: ReadonlyArray<{ code: SkillRetCode; path: string; reason: string }>;
  constructor(retCode: SkillRetCode, path: string, reason: string, violations?: ReadonlyArray<{ code: SkillRetCode; path: string; reason: string }>) {
    super(codeOfRetCode(retCode), `${path || 'response'}: ${reason} (platform code ${retCode})`);
    this.retCode = retCode;
    this.path = path;
    this.reason = reason;
    this.violations = violations ?? [{ code: retCode, path, reason }];
  }

  /** The same error with `prefix.` in front of its path (a helper's local path inside the answer). */
  at(prefix: string): SkillResponseError {
    return new SkillResponseError(this.retCode, this.path ? `${prefix}.${this.path}` : prefix, this.reason);
  }
}

/** The request body is not a skill request envelope (not UTF-8 JSON, or a field is wrong). HTTP 400. */
export class SkillRequestError extends DingDangPayError {
  /** JSON path of the offending field; empty for the whole body. */
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super('ERR_SKILL_REQUEST', `invalid skill request: ${path ? `${path}: ` : ''}${reason}`, options);
    this.path = path;
  }
}

/** The request body is larger than `maxBodyBytes`. HTTP 413. */
export class SkillBodyTooLargeError extends DingDangPayError {
  readonly limit: number;
  constructor(limit: number) {
    super('ERR_SKILL_BODY_TOO_LARGE', `request body larger than ${limit} bytes`);
    this.limit = limit;
  }
}

/** The request is for another skill (`context.System.application.applicationId` ≠ the configured `skillId`). HTTP 403. */
export class SkillApplicationError extends DingDangPayError {
  constructor(got: string) {
    super('ERR_SKILL_WRONG_APPLICATION', `request is for application ${got.slice(0, 64)}, not this skill`);
  }
}

/** No request handler's `canHandle` accepted the request. */
export class NoHandlerError extends DingDangPayError {
  readonly requestType: string;
  constructor(requestType: string, detail = '') {
    super('ERR_SKILL_NO_HANDLER', `no request handler can handle ${requestType}${detail ? ` ${detail}` : ''}`);
    this.requestType = requestType;
  }
}

/** HTTP status `Skill.handle` answers for an error (401 signature, 400 malformed, 413, 403, 500 otherwise). */
export function httpStatusOf(error: unknown): number {
  const code = (error as { code?: unknown } | undefined)?.code;
  switch (code) {
    case 'ERR_SIGNATURE':
      return 401;
    case 'ERR_SKILL_REQUEST':
      return 400;
    case 'ERR_SKILL_BODY_TOO_LARGE':
      return 413;
    case 'ERR_SKILL_WRONG_APPLICATION':
      return 403;
    default:
      return 500;
  }
}
