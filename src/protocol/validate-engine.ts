/**
 * The validation engine behind `validate` (validate.ts): field and schema
 * shapes, the checks with their issue codes and messages, and the order-number
 * charset. Each message's schema lives with its users: validate-charge.ts
 * holds the Charge directive's (all the device needs), validate.ts the rest.
 * Pure: no Node built-ins (the device bundles it for browsers).
 */
import type { IssueCode, ValidationIssue } from './errors.js';
import { isFen } from './money.js';

/** `tradeNo` / `refundTradeNo`: 1–32 characters of `[0-9A-Za-z]`. */
export const ORDER_NO_RE = /^[0-9A-Za-z]{1,32}$/;

export function isOrderNo(value: unknown): value is string {
  return typeof value === 'string' && ORDER_NO_RE.test(value);
}

export type Field =
  | { t: 'string'; required: boolean; max?: number; charset?: RegExp }
  | { t: 'fen'; required: boolean; min?: number }
  | { t: 'int'; required: boolean; min?: number }
  | { t: 'enum'; required: boolean; values: readonly string[] }
  | { t: 'const'; required: boolean; value: string }
  | { t: 'array'; required: boolean; of: Schema; minItems?: number }
  | { t: 'object'; required: boolean; of: Schema };

export interface Schema {
  fields: Record<string, Field>;
  /** Message-level rules, run only when the fields themselves are valid. */
  rules?: Array<(v: Record<string, unknown>, path: string) => ValidationIssue | undefined>;
  /** Fields required only when `retCode` is SUCCESS (replies). */
  onSuccess?: string[];
  defaults?: Record<string, unknown>;
}

export const str = (max?: number, required = true, charset?: RegExp): Field => ({ t: 'string', required, max, charset });
export const opt = (max?: number): Field => str(max, false);
export const fen = (required = true, min?: number): Field => ({ t: 'fen', required, min });
export const orderNo = (required = true): Field => ({ t: 'string', required, max: 32, charset: /^[0-9A-Za-z]*$/ });

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

export function issue(path: string, code: IssueCode, message: string): ValidationIssue {
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

export function checkObject(schema: Schema, v: unknown, path: string, out: ValidationIssue[]): Record<string, unknown> | undefined {
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

/** Check a decoded message against `schema` (the body of `validate`). */
export function checkMessage<T>(schema: Schema, value: unknown): ValidationResult<T> {
  const issues: ValidationIssue[] = [];
  const result = checkObject(schema, value, '', issues);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: result as T };
}
