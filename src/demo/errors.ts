/**
 * The demo layer's errors (the demo stack, the speaker page bundle, simulate
 * scripts). Each extends `DingDangPayError` with a stable `code`.
 */
import { DingDangPayError } from '../protocol/errors.js';

/** The demo could not start or run (a port in use, the page bundle missing…). */
export class DemoError extends DingDangPayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DEMO', message, options);
  }
}

/** A simulate script is malformed (names the step). */
export class ScriptError extends DingDangPayError {
  constructor(message: string) {
    super('ERR_SCRIPT', message);
  }
}

/** Code → class. */
export const DEMO_ERROR_CODES = {
  ERR_DEMO: DemoError,
  ERR_SCRIPT: ScriptError,
} as const;
export type DemoErrorCode = keyof typeof DEMO_ERROR_CODES;
