/**
 * The Charge directive's schema (`Connections.SendRequest`, name `Charge`) on
 * its own: the device validates only this message, and importing it from
 * here keeps the other messages' schemas out of the device's browser bundle.
 * `validate('chargeDirective', …)` (validate.ts) uses this same schema.
 */
import type { ValidationIssue } from './errors.js';
import type { ChargeDirective } from './types.js';
import { checkMessage, fen, issue, join, opt, str, type Schema, type ValidationResult } from './validate-engine.js';

const lineTotal = (v: Record<string, unknown>, path: string): ValidationIssue | undefined =>
  (v.price as number) * (v.count as number) !== v.totalFee ? issue(join(path, 'totalFee'), 'SUM_MISMATCH', 'must equal price × count') : undefined;

export const CHARGE_DIRECTIVE_SCHEMA: Schema = {
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
};

/** `validate('chargeDirective', value)`, without the other messages' schemas. */
export function validateChargeDirective(value: unknown): ValidationResult<ChargeDirective> {
  return checkMessage(CHARGE_DIRECTIVE_SCHEMA, value);
}
