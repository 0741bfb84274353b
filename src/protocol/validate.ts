/**
 * Validation of every wire message per SPEC §4: required fields, max lengths,
 * integer fen, `quantity` ≥ 1, either-or ids, `totalAmt` = Σ `details[].amount`,
 * `tradeNo`/`refundTradeNo` charset, `version` default. Unknown fields are kept
 * and ignored. Pure: no Node built-ins (the device bundles it for browsers).
 */
import { ValidationError, type IssueCode, type ValidationIssue } from './errors.js';
import { isFen } from './money.js';
import { DEFAULT_VERSION, REFUND_STATUSES, TRADE_STATUSES, type MessageKind, type MessageTypes } from './types.js';

/** `tradeNo` / `refundTradeNo`: 1–32 characters of `[0-9A-Za-z]`. */
export const ORDER_NO_RE = /^[0-9A-Za-z]{1,32}$/;

export function isOrderNo(value: unknown): value is string {
  return typeof value === 'string' && ORDER_NO_RE.test(value);
}

type Field =
  | { t: 'string'; required: boolean; max?: number; charset?: RegExp }
  | { t: 'fen'; required: boolean; min?: number }
  | { t: 'int'; required: boolean; min?: number }
  | { t: 'enum'; required: boolean; values: readonly string[] }
  | { t: 'const'; required: boolean; value: string }
  | { t: 'array'; required: boolean; of: Schema; minItems?: number }
  | { t: 'object'; required: boolean; of: Schema };

interface Schema {
  fields: Record<string, Field>;
  /** Message-level rules, run only when the fields themselves are valid. */
  rules?: Array<(v: Record<string, unknown>, path: string) => ValidationIssue | undefined>;
  /** Fields required only when `retCode` is SUCCESS (replies). */
  onSuccess?: string[];
  defaults?: Record<string, unknown>;
}

const str = (max?: number, required = true, charset?: RegExp): Field => ({ t: 'string', required, max, charset });
const opt = (max?: number): Field => str(max, false);
const fen = (required = true, min?: number): Field => ({ t: 'fen', required, min });
const orderNo = (required = true): Field => ({ t: 'string', required, max: 32, charset: /^[0-9A-Za-z]*$/ });

const detail: Schema = {
  fields: {
    itemId: str(32),
    quantity: { t: 'int', required: true, min: 1 },
    amount: fen(),
  },
};

const eitherOr =
  (a: string, b: string) =>
  (v: Record<string, unknown>, path: string): ValidationIssue | undefined =>
    v[a] === undefined && v[b] === undefined ? issue(path, 'EITHER_OR', `one of ${a} / ${b} is required`) : undefined;

const sumEquals =
  (totalField: string, listField: string, amountField: string) =>
  (v: Record<string, unknown>, path: string): ValidationIssue | undefined => {
    const list = v[listField] as Array<Record<string, number>>;
    let sum = 0;
    for (const line of list) sum += line[amountField] ?? 0;
    return sum !== v[totalField] ? issue(join(path, totalField), 'SUM_MISMATCH', `must equal the sum of ${listField}[].${amountField} (${sum})`) : undefined;
  };

const notAbove =
  (field: string, limit: string) =>
  (v: Record<string, unknown>, path: string): ValidationIssue | undefined =>
    typeof v[field] === 'number' && typeof v[limit] === 'number' && v[field] > v[limit]
      ? issue(join(path, field), 'EXCEEDS_TOTAL', `must not exceed ${limit}`)
      : undefined;

const lineTotal = (v: Record<string, unknown>, path: string): ValidationIssue | undefined =>
  (v.price as number) * (v.count as number) !== v.totalFee ? issue(join(path, 'totalFee'), 'SUM_MISMATCH', 'must equal price × count') : undefined;

const retFields = { retCode: { t: 'enum', required: true, values: ['SUCCESS', 'FAIL'] } as Field, retMsg: opt(32) };

const SCHEMAS: Record<MessageKind, Schema> = {
  createOrderRequest: {
    fields: {
      skillId: str(32),
      userToken: str(),
      details: { t: 'array', required: true, of: detail, minItems: 1 },
      totalAmt: fen(),
      nonceStr: str(32),
    },
    rules: [sumEquals('totalAmt', 'details', 'amount')],
  },
  createOrderReply: { fields: { ...retFields, tradeNo: orderNo(false) }, onSuccess: ['tradeNo'] },
  deliverNotifyRequest: {
    fields: {
      skillId: str(32),
      userToken: str(),
      transactionId: str(32),
      tradeNo: orderNo(),
      totalAmt: fen(),
      nonceStr: str(32),
    },
  },
  deliverNotifyReply: { fields: { ...retFields } },
  orderQueryRequest: {
    fields: {
      skillId: str(32),
      transactionId: opt(32),
      tradeNo: orderNo(false),
      version: opt(5),
      nonceStr: str(32),
    },
    rules: [eitherOr('transactionId', 'tradeNo')],
    defaults: { version: DEFAULT_VERSION },
  },
  orderQueryReply: {
    fields: {
      ...retFields,
      skillId: opt(32),
      transactionId: opt(32),
      tradeNo: orderNo(false),
      totalAmt: fen(false),
      tradeStatus: { t: 'enum', required: false, values: TRADE_STATUSES },
      tradeStatusDesc: opt(16),
    },
    onSuccess: ['skillId', 'transactionId', 'tradeNo', 'totalAmt', 'tradeStatus', 'tradeStatusDesc'],
  },
  refundRequest: {
    fields: {
      skillId: str(32),
      transactionId: opt(32),
      tradeNo: orderNo(false),
      refundTradeNo: orderNo(),
      totalAmt: fen(),
      refundAmt: fen(true, 1),
      refundDesc: opt(64),
      refundDetails: { t: 'array', required: true, of: detail },
      version: opt(5),
      nonceStr: str(32),
    },
    rules: [eitherOr('transactionId', 'tradeNo'), notAbove('refundAmt', 'totalAmt')],
    defaults: { version: DEFAULT_VERSION },
  },
  refundReply: {
    fields: {
      ...retFields,
      skillId: opt(32),
      transactionId: opt(32),
      tradeNo: orderNo(false),
      refundTransactionId: opt(32),
      refundTradeNo: orderNo(false),
      totalAmt: fen(false),
      refundAmt: fen(false),
    },
    onSuccess: ['skillId', 'transactionId', 'tradeNo', 'refundTransactionId', 'refundTradeNo', 'totalAmt', 'refundAmt'],
  },
  refundQueryRequest: {
    fields: {
      skillId: str(32),
      refundTransactionId: opt(32),
      refundTradeNo: orderNo(false),
      version: opt(5),
      nonceStr: str(32),
    },
    rules: [eitherOr('refundTransactionId', 'refundTradeNo')],
    defaults: { version: DEFAULT_VERSION },
  },
  refundQueryReply: {
    fields: {
      ...retFields,
      skillId: opt(32),
      transactionId: opt(32),
      tradeNo: orderNo(false),
      refundTransactionId: opt(32),
      refundTradeNo: orderNo(false),
      totalAmt: fen(false),
      refundAmt: fen(false),
      refundStatus: { t: 'enum', required: false, values: REFUND_STATUSES },
      refundStatusDesc: opt(16),
    },
    onSuccess: ['skillId', 'transactionId', 'tradeNo', 'refundTransactionId', 'refundTradeNo', 'totalAmt', 'refundAmt', 'refundStatus', 'refundStatusDesc'],
  },
  refundNotifyRequest: {
    fields: {
      skillId: str(32),
      transactionId: str(32),
      tradeNo: orderNo(),
      refundTransactionId: str(32),
      refundTradeNo: orderNo(),
      totalAmt: fen(),
      refundAmt: fen(),
      refundStatus: { t: 'enum', required: true, values: REFUND_STATUSES },
      refundStatusDesc: str(16),
      nonceStr: str(32),
    },
    rules: [notAbove('refundAmt', 'totalAmt')],
  },
  refundNotifyReply: { fields: { ...retFields } },
  chargeDirective: {
    fields: {
      type: { t: 'const', required: true, value: 'Connections.SendRequest' },
      name: { t: 'const', required: true, value: 'Charge' },
      payload: {
        t: 'object',
        required: true,
        of: {
          fields: {
            chargeInfo: {
              t: 'object',
              required: true,
              of: {
                fields: {
                  name: str(),
                  description: opt(),
                  userId: opt(),
                  items: {
                    t: 'array',
                    required: true,
                    minItems: 1,
                    of: {
                      fields: {
                        itemId: str(32),
                        itemName: str(),
                        price: fen(),
                        count: { t: 'int', required: true, min: 1 },
                        totalFee: fen(),
                      },
                      rules: [lineTotal],
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
  chargeResponseEvent: {
    fields: {
      type: { t: 'const', required: true, value: 'Connections.Response' },
      name: { t: 'const', required: true, value: 'Charge' },
      requestId: str(),
      timestamp: str(),
      payload: {
        t: 'object',
        required: true,
        of: { fields: { dingdangOrderId: str(32), partnerOrderId: orderNo() } },
      },
    },
  },
};

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function issue(path: string, code: IssueCode, message: string): ValidationIssue {
  return { path, code, message };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function checkField(f: Field, v: unknown, path: string, out: ValidationIssue[]): unknown {
  switch (f.t) {
    case 'string': {
      if (typeof v !== 'string') return void out.push(issue(path, 'WRONG_TYPE', 'must be a string'));
      if (v.length === 0) return void out.push(issue(path, 'EMPTY', 'must not be empty'));
      if (f.max !== undefined && charCount(v) > f.max) return void out.push(issue(path, 'TOO_LONG', `must be at most ${f.max} characters`));
      if (f.charset && !f.charset.test(v)) return void out.push(issue(path, 'BAD_CHARSET', 'only 0-9, A-Z, a-z allowed'));
      return v;
    }
    case 'fen':
    case 'int': {
      if (typeof v !== 'number') return void out.push(issue(path, 'WRONG_TYPE', 'must be a number'));
      if (!Number.isSafeInteger(v)) return void out.push(issue(path, 'NOT_INTEGER', 'must be an integer'));
      if (f.t === 'fen' && !isFen(v)) return void out.push(issue(path, 'NEGATIVE', 'must not be negative'));
      if (f.min !== undefined && v < f.min) return void out.push(issue(path, 'TOO_SMALL', `must be at least ${f.min}`));
      return v;
    }
    case 'enum':
      if (typeof v !== 'string') return void out.push(issue(path, 'WRONG_TYPE', 'must be a string'));
      if (!f.values.includes(v)) return void out.push(issue(path, 'BAD_ENUM', `must be one of ${f.values.join(', ')}`));
      return v;
    case 'const':
      if (v !== f.value) return void out.push(issue(path, 'BAD_CONST', `must be ${JSON.stringify(f.value)}`));
      return v;
    case 'array': {
      if (!Array.isArray(v)) return void out.push(issue(path, 'WRONG_TYPE', 'must be an array'));
      if (f.minItems !== undefined && v.length < f.minItems) return void out.push(issue(path, 'EMPTY', `must have at least ${f.minItems} item(s)`));
      return v.map((item, i) => checkObject(f.of, item, join(path, i), out));
    }
    case 'object':
      return checkObject(f.of, v, path, out);
  }
}

function checkObject(schema: Schema, v: unknown, path: string, out: ValidationIssue[]): Record<string, unknown> | undefined {
  if (!isPlainObject(v)) {
    out.push(issue(path, path ? 'WRONG_TYPE' : 'NOT_OBJECT', 'must be a JSON object'));
    return undefined;
  }
  const before = out.length;
  const result: Record<string, unknown> = { ...v };
  const success = v.retCode === 'SUCCESS';
  for (const [key, f] of Object.entries(schema.fields)) {
    const value = v[key];
    const p = join(path, key);
    if (value === undefined || value === null) {
      const required = f.required || (success && schema.onSuccess?.includes(key));
      if (required) out.push(issue(p, 'REQUIRED', 'is required'));
      else if (schema.defaults && key in schema.defaults) result[key] = schema.defaults[key];
      else delete result[key];
      continue;
    }
    result[key] = checkField(f, value, p, out);
  }
  if (out.length === before && schema.rules) {
    for (const rule of schema.rules) {
      const problem = rule(result, path);
      if (problem) out.push(problem);
    }
  }
  return result;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

/**
 * Check a decoded message of the given kind. On success `value` is a copy with
 * defaults applied (`version: "1.0"`) and unknown fields kept untouched.
 */
export function validate<K extends MessageKind>(kind: K, value: unknown): ValidationResult<MessageTypes[K]> {
  const schema = SCHEMAS[kind];
  if (!schema) throw new TypeError(`unknown message kind ${String(kind)}`);
  const issues: ValidationIssue[] = [];
  const result = checkObject(schema, value, '', issues);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: result as MessageTypes[K] };
}

/** Like `validate` but throws a `ValidationError` (code `ERR_VALIDATION`). */
export function parseMessage<K extends MessageKind>(kind: K, value: unknown): MessageTypes[K] {
  const r = validate(kind, value);
  if (!r.ok) throw new ValidationError(r.issues, kind);
  return r.value;
}

/** Decode raw body bytes (UTF-8 JSON) and validate them. */
export function validateJson<K extends MessageKind>(kind: K, rawBody: Uint8Array | string): ValidationResult<MessageTypes[K]> {
  let decoded: unknown;
  try {
    const text = typeof rawBody === 'string' ? rawBody : new TextDecoder('utf-8', { fatal: true }).decode(rawBody);
    decoded = JSON.parse(text);
  } catch {
    return { ok: false, issues: [issue('', 'BAD_JSON', 'body is not valid UTF-8 JSON')] };
  }
  return validate(kind, decoded);
}

export function parseJsonMessage<K extends MessageKind>(kind: K, rawBody: Uint8Array | string): MessageTypes[K] {
  const r = validateJson(kind, rawBody);
  if (!r.ok) throw new ValidationError(r.issues, kind);
  return r.value;
}

/** The kinds `validate` knows. */
export const MESSAGE_KINDS = Object.keys(SCHEMAS) as MessageKind[];
