import { readFileSync } from 'node:fs';
import { formatTskDatetime, parseTskDatetime } from '../../protocol/tsk.js';
import { UsageError } from '../io.js';

/** Accept `YYYYMMDDTHHMMSSZ` or anything `Date` parses (ISO-8601), return the TSK stamp. */
export function toTskDatetime(text: string, flag: string): string {
  if (parseTskDatetime(text) !== undefined) return text;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`${flag} must be YYYYMMDDTHHMMSSZ or ISO-8601, got ${JSON.stringify(text)}`);
  return formatTskDatetime(ms);
}

/** A secret file's content, without one trailing newline. */
export function readSecret(file: string): string {
  return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}
