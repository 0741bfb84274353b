/**
 * Validation of every wire message per SPEC §4: required fields, max lengths,
 * integer fen, `quantity` ≥ 1, either-or ids, `totalAmt` = Σ `details[].amount`,
 * `tradeNo`/`refundTradeNo` charset, `version` default. Unknown fields are kept
 * and ignored. Pure: no Node built-ins. The engine (checks, issue codes and
 * messages) is validate-engine.ts and the Charge directive's schema
 * validate-charge.ts, which the device bundles alone.
 */
import { ValidationError, type ValidationIssue } from './errors.js';
import { DEFAULT_VERSION, REFUND_STATUSES, TRADE_STATUSES, type MessageKind, type MessageTypes } from './types.js';
import { CHARGE_DIRECTIVE_SCHEMA } from './validate-charge.js';
import { checkMessage, fen, issue, join, opt, orderNo, str, type Field, type Schema, type ValidationResult } from './validate-engine.js';

export { ORDER_NO_RE, isOrderNo, type ValidationResult } from './validate-engine.js';

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

/**
 * Every message's schema. Built in a function marked pure, so that a bundle
 * which uses other names of the protocol but not `validate` leaves the tables
 * out (the device's: it checks the Charge directive alone, validate-charge.ts).
 */
const SCHEMAS: Record<MessageKind, Schema> = /* @__PURE__ */ (() => {
  const detail: Schema = {
    fields: {
      itemId: str(32),
      quantity: { t: 'int', required: true, min: 1 },
      amount: fen(),
    },
  };

  const retFields = { retCode: { t: 'enum', required: true, values: ['SUCCESS', 'FAIL'] } as Field, retMsg: opt(32) };

  return {
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
    chargeDirective: CHARGE_DIRECTIVE_SCHEMA,
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
})();

/**
 * Check a decoded message of the given kind. On success `value` is a copy with
 * defaults applied (`version: "1.0"`) and unknown fields kept untouched.
 */
export function validate<K extends MessageKind>(kind: K, value: unknown): ValidationResult<MessageTypes[K]> {
  const schema = SCHEMAS[kind];
  if (!schema) throw new TypeError(`unknown message kind ${String(kind)}`);
  return checkMessage(schema, value);
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
export const MESSAGE_KINDS = /* @__PURE__ */ Object.keys(SCHEMAS) as MessageKind[];
