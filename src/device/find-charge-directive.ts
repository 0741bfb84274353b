/**
 * Finding the Charge directive (`Connections.SendRequest`, name `Charge`) in
 * a skill answer's directives, as a speaker host does before it hands the
 * purchase to the companion.
 */
import type { ChargeDirective } from '../protocol/browser.js';
import { validateChargeDirective } from '../protocol/validate-charge.js';
import { CompanionError } from './errors.js';

/** The Charge directive among a skill response's directives, validated; undefined when there is none. */
export function findChargeDirective(directives: unknown): ChargeDirective | undefined {
  if (!Array.isArray(directives)) return undefined;
  for (const d of directives) {
    const o = d as { type?: unknown; name?: unknown } | null;
    if (o && o.type === 'Connections.SendRequest' && o.name === 'Charge') {
      const r = validateChargeDirective(d);
      if (!r.ok) throw new CompanionError('ERR_DEVICE_BAD_CHARGE', `invalid Charge directive: ${r.issues[0]?.path ?? ''} ${r.issues[0]?.message ?? ''}`);
      return r.value;
    }
  }
  return undefined;
}
