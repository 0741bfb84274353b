/** The command line's errors. Each extends `DingDangPayError` with a stable `code`; exit code 2. */
import { DingDangPayError } from '../protocol/errors.js';

/** Bad flags or arguments: the CLI prints one line and exits 2. */
export class UsageError extends DingDangPayError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/** Code → class. */
export const CLI_ERROR_CODES = { ERR_USAGE: UsageError } as const;
export type CliErrorCode = keyof typeof CLI_ERROR_CODES;
