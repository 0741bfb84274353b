/**
 * Shared by the fuzz tests: run counts, arbitraries that turn a valid signed
 * request into something broken (or, sometimes, still valid), and a loopback
 * HTTP poster. DINGDANG_FUZZ_RUNS raises the number of runs per property
 * (default: small, for CI).
 */
import http from 'node:http';
import fc from 'fast-check';
import { formatTskDatetime, signRsa2, type KeyInput } from '../../src/protocol/index.js';

/** Runs per property: DINGDANG_FUZZ_RUNS, else `ci`. */
export function fuzzRuns(ci: number): number {
  const n = Number(process.env.DINGDANG_FUZZ_RUNS);
  return Number.isSafeInteger(n) && n > 0 ? n : ci;
}

/** Test timeout for a property of `ci` runs: grows with DINGDANG_FUZZ_RUNS (about 100 ms per run on loopback). */
export function fuzzTimeout(ci: number): number {
  return 60_000 + fuzzRuns(ci) * 100;
}

/** A seed for reproducing a failure: DINGDANG_FUZZ_SEED, else random (printed by fast-check on failure). */
export function fuzzParams<T = unknown>(ci: number): fc.Parameters<T> {
  const seed = Number(process.env.DINGDANG_FUZZ_SEED);
  return { numRuns: fuzzRuns(ci), ...(Number.isSafeInteger(seed) ? { seed } : {}), endOnFailure: true };
}

/** fc.assert that reports the failing assertion itself, not only the counterexample. */
export async function check<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>, params: fc.Parameters<Ts>): Promise<void> {
  try {
    await fc.assert(property as fc.IAsyncProperty<Ts>, params);
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    if (cause instanceof Error) (e as Error).message += `\nCaused by: ${cause.stack ?? cause.message}`;
    throw e;
  }
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Odd values that probe validators: wrong types, bounds, unicode, huge numbers. */
export const nastyValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(
    null,
    '',
    ' ',
    -1,
    0,
    1.5,
    2 ** 53,
    -(2 ** 31),
    1e308,
    '200',
    'x'.repeat(33),
    'x'.repeat(65),
    '万古神帝'.repeat(10),
    '😀'.repeat(20),
    '../..',
    '<script>',
    'a\u0000b',
    true,
    [],
    {},
    'SUCCESS',
    'FAIL',
    '1.0',
  ),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  fc.string({ maxLength: 40 }),
  fc.integer(),
);

export type Mutation =
  | { op: 'delete'; key: number }
  | { op: 'set'; key: number; value: Json }
  | { op: 'add'; key: string; value: Json }
  | { op: 'line'; key: string; value: Json }
  | { op: 'none' };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.nat() }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), key: fc.nat(), value: nastyValue }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('add' as const), key: fc.string({ maxLength: 12 }), value: nastyValue }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constantFrom('line' as const), key: fc.constantFrom('itemId', 'quantity', 'amount', 'extra'), value: nastyValue }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'none' as const }) },
);

/** Apply field-level mutations to a copy of a JSON object. */
export function mutate(template: Record<string, Json>, ms: Mutation[]): Record<string, Json> {
  const o: Record<string, Json> = JSON.parse(JSON.stringify(template));
  for (const m of ms) {
    const keys = Object.keys(o);
    if (m.op === 'delete' && keys.length) delete o[keys[m.key % keys.length]!];
    else if (m.op === 'set' && keys.length) o[keys[m.key % keys.length]!] = m.value;
    else if (m.op === 'add' && m.key !== '__proto__') o[m.key] = m.value;
    else if (m.op === 'line' && Array.isArray(o.details) && o.details[0] && typeof o.details[0] === 'object')
      (o.details[0] as Record<string, Json>)[m.key] = m.value;
  }
  return o;
}

/** Byte edits on serialised text: (position, delete count, inserted text). */
export const byteEdits = fc.array(fc.tuple(fc.nat(), fc.nat({ max: 4 }), fc.string({ maxLength: 4 })), { minLength: 1, maxLength: 4 });

export function applyEdits(text: string, edits: Array<[number, number, string]>): string {
  let s = text;
  for (const [at, del, ins] of edits) {
    const p = at % (s.length + 1);
    s = s.slice(0, p) + ins + s.slice(p + del);
  }
  return s;
}

/** How the Authorization header is made. Only `good` can be accepted. */
export type SignMode = 'good' | 'none' | 'tampered' | 'wrong-key' | 'stale' | 'future' | 'other-algorithm' | 'garbage' | 'twice';
export const signMode: fc.Arbitrary<SignMode> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('good' as const) },
  { weight: 4, arbitrary: fc.constantFrom<SignMode>('none', 'tampered', 'wrong-key', 'stale', 'future', 'other-algorithm', 'garbage', 'twice') },
);

const printable = fc.stringMatching(/^[\x20-\x7e]{0,80}$/);

export interface SignedBody {
  body: Buffer;
  /** Header name/value pairs, sent in this order (duplicates allowed). */
  headers: Array<[string, string]>;
}

/**
 * Headers for `body` in `mode`, signed with `key` (the right key) or `otherKey`.
 * `tampered` signs, then changes one byte of the body.
 */
export function signAs(mode: SignMode, body: Buffer, key: KeyInput, otherKey: KeyInput, garbage: string): SignedBody {
  const now = Date.now();
  const sign = (k: KeyInput, at = now) => signRsa2(body, k, { datetime: formatTskDatetime(at) });
  const ct: [string, string] = ['content-type', 'application/json'];
  switch (mode) {
    case 'good':
      return { body, headers: [ct, ['authorization', sign(key)]] };
    case 'none':
      return { body, headers: [ct] };
    case 'tampered': {
      const auth = sign(key);
      const b = Buffer.from(body);
      if (b.length === 0) return { body: Buffer.from(' '), headers: [ct, ['authorization', auth]] };
      b[b.length >> 1] = b[b.length >> 1]! ^ 0x01;
      return { body: b, headers: [ct, ['authorization', auth]] };
    }
    case 'wrong-key':
      return { body, headers: [ct, ['authorization', sign(otherKey)]] };
    case 'stale':
      return { body, headers: [ct, ['authorization', sign(key, now - 10 * 60_000)]] };
    case 'future':
      return { body, headers: [ct, ['authorization', sign(key, now + 10 * 60_000)]] };
    case 'other-algorithm':
      return { body, headers: [ct, ['authorization', sign(key).replace('TSK-RSA2', 'TSK-HMAC-SHA256-BASIC')]] };
    case 'garbage':
      return { body, headers: [ct, ['authorization', garbage]] };
    case 'twice':
      // Node keeps the first of repeated Authorization headers; in-process handlers refuse the pair.
      return { body, headers: [ct, ['authorization', sign(otherKey)], ['authorization', sign(key)]] };
  }
}

export const garbageHeader = printable;

export interface Posted {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** POST over loopback with raw header pairs; bounded by a timeout. */
export function post(url: string, body: Buffer, headers: Array<[string, string]>, timeoutMs = 10_000): Promise<Posted> {
  const u = new URL(url);
  // With an array of headers Node adds no Host header itself (HTTP/1.1 servers answer 400 without one).
  const flat: string[] = ['host', u.host];
  for (const [k, v] of [...headers, ['content-length', String(body.length)] as [string, string]]) flat.push(k, v);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: flat as unknown as http.OutgoingHttpHeaders, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`POST ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Characters, not UTF-16 units. */
export const charLength = (s: string) => Array.from(s).length;
