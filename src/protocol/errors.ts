/**
 * Error hierarchy shared by every part of dingdang-pay.
 *
 * Every error carries a stable `code` (never localised, safe to switch on) and
 * `instanceof` works across the hierarchy, stripe-node style.
 */

export type ErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_VALIDATION'
  | 'ERR_SIGNATURE'
  | 'ERR_KEY'
  | 'ERR_MONEY'
  | 'ERR_TIMEOUT'
  | 'ERR_TRANSPORT'
  | 'ERR_STATE'
  | 'ERR_REMOTE'
  | (string & {});

export class DingDangPayError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A library call got an argument it cannot use. */
export class InvalidArgumentError extends DingDangPayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_ARGUMENT', message, options);
  }
}

/** Stable codes of single validation problems (see validate.ts). */
export type IssueCode =
  | 'NOT_OBJECT'
  | 'BAD_JSON'
  | 'REQUIRED'
  | 'WRONG_TYPE'
  | 'TOO_LONG'
  | 'EMPTY'
  | 'BAD_CHARSET'
  | 'NOT_INTEGER'
  | 'NEGATIVE'
  | 'TOO_SMALL'
  | 'BAD_ENUM'
  | 'EITHER_OR'
  | 'SUM_MISMATCH'
  | 'EXCEEDS_TOTAL'
  | 'BAD_CONST';

export interface ValidationIssue {
  /** JSON path of the offending field, e.g. `details[0].amount`; empty for the whole message. */
  path: string;
  code: IssueCode;
  message: string;
}

/** A message broke the wire contract. `issues` lists every problem found. */
export class ValidationError extends DingDangPayError {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[], what = 'message') {
    const first = issues[0];
    super('ERR_VALIDATION', `invalid ${what}: ${first ? `${first.path || '(root)'} ${first.message}` : 'unknown problem'}`);
    this.issues = issues;
  }
  /** A short reason fit for a `retMsg` (≤ 32 characters). */
  get retMsg(): string {
    return retMsgFor(this.issues[0]);
  }
}

/** Why a TSK signature check failed. */
export type SignatureFailure = 'malformed-header' | 'algorithm-mismatch' | 'stale' | 'future' | 'bad-signature' | 'replay';

export class SignatureError extends DingDangPayError {
  readonly reason: SignatureFailure;
  constructor(reason: SignatureFailure, message: string) {
    super('ERR_SIGNATURE', message);
    this.reason = reason;
  }
  get retMsg(): string {
    return clampRetMsg(`signature: ${this.reason}`);
  }
}

/** A key could not be parsed or is unfit (wrong type, too short). */
export class KeyError extends DingDangPayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KEY', message, options);
  }
}

export class MoneyError extends DingDangPayError {
  constructor(message: string) {
    super('ERR_MONEY', message);
  }
}

export class TimeoutError extends DingDangPayError {
  constructor(message: string) {
    super('ERR_TIMEOUT', message);
  }
}

export class TransportError extends DingDangPayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TRANSPORT', message, options);
  }
}

/** The remote side answered `retCode: FAIL` (or an unusable reply). */
export class RemoteError extends DingDangPayError {
  readonly retMsg: string | undefined;
  constructor(message: string, retMsg?: string) {
    super('ERR_REMOTE', message);
    this.retMsg = retMsg;
  }
}

export const RET_MSG_MAX = 32;

/** Cut a reason to the seed's `retMsg` limit of 32 characters. */
export function clampRetMsg(msg: string): string {
  const chars = Array.from(msg);
  return chars.length <= RET_MSG_MAX ? msg : chars.slice(0, RET_MSG_MAX - 1).join('') + '…';
}

export function retMsgFor(issue: ValidationIssue | undefined): string {
  if (!issue) return 'invalid request';
  const short: Record<IssueCode, string> = {
    NOT_OBJECT: 'body is not an object',
    BAD_JSON: 'body is not JSON',
    REQUIRED: 'missing',
    WRONG_TYPE: 'wrong type',
    TOO_LONG: 'too long',
    EMPTY: 'empty',
    BAD_CHARSET: 'bad characters',
    NOT_INTEGER: 'not integer fen',
    NEGATIVE: 'negative',
    TOO_SMALL: 'too small',
    BAD_ENUM: 'unknown value',
    EITHER_OR: 'id missing',
    SUM_MISMATCH: 'sum mismatch',
    EXCEEDS_TOTAL: 'exceeds total',
    BAD_CONST: 'unexpected value',
  };
  const field = issue.path.replace(/\[\d+\]/g, '');
  return clampRetMsg(field ? `${field} ${short[issue.code]}` : short[issue.code]);
}
