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

/** The repeatable `--allowed-origin` / `--allowed-host` values, each also a comma-separated list. */
function listValues(v: unknown): string[] {
  const all = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return all
    .filter((x): x is string => typeof x === 'string')
    .flatMap((x) => x.split(','))
    .map((x) => x.trim());
}

/** The option specs of the safety allow-lists (docs/sandbox.md "Safety on a developer's machine"). */
export const ALLOW_LIST_OPTIONS = {
  'allowed-origin': { type: 'string', multiple: true },
  'allowed-host': { type: 'string', multiple: true },
} as const;

/** `--allowed-origin URL`: `http(s)://host[:port]`, nothing after it; the origin as a browser sends it. */
export function allowedOrigins(v: unknown): string[] {
  return listValues(v).map((text) => {
    let u: URL | undefined;
    try {
      u = new URL(text);
    } catch {
      u = undefined;
    }
    const bare = u !== undefined && u.pathname === '/' && u.search === '' && u.hash === '' && u.username === '' && u.password === '';
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || !bare || !/^https?:\/\/[^/]+\/?$/i.test(text))
      throw new UsageError(`--allowed-origin must be an origin http(s)://host[:port], got ${JSON.stringify(text.slice(0, 80))}`);
    return u.origin;
  });
}

const HOST_NAME = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(?::(\d{1,5}))?$/i;

/** `--allowed-host NAME[:PORT]`: a host name (or [IPv6]) accepted in the Host header, lower-cased. */
export function allowedHosts(v: unknown): string[] {
  return listValues(v).map((text) => {
    const m = HOST_NAME.exec(text);
    if (!m || (m[1] !== undefined && (Number(m[1]) < 1 || Number(m[1]) > 65535)))
      throw new UsageError(`--allowed-host must be a host name, optionally with :port (1–65535), got ${JSON.stringify(text.slice(0, 80))}`);
    return text.toLowerCase();
  });
}
