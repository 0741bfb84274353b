/**
 * HTTP-layer fuzzing shared by test/heavy/fuzz-http-*.test.ts: raw bytes over
 * `net.connect` (request lines, targets, versions, header mutations, bodies),
 * slow clients, WebSocket upgrade junk and bad frames, against a server that
 * runs in this process with short timeouts.
 *
 * What every case must show: an answer, if any, is not a 5xx; the server
 * still answers a plain request afterwards; nothing reaches
 * `uncaughtException` / `unhandledRejection` (`processGuard`). A slow client
 * must be cut off by the server (the socket is closed from the server's end
 * while the client is still sending), waited for with a generous bound.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { fuzzParams, check } from './fuzz-common.js';

/** Short server timeouts for the fuzz: slow clients are cut off quickly (the bounds below are 20× these). */
export const FUZZ_LIMITS = { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 300, maxHeaderSize: 8 * 1024 } as const;

/** Generous bound for anything the server must do (answer, close). */
const BOUND_MS = 15_000;

/** Records what reaches the process-level handlers while a suite runs; `assertClean` fails on any. */
export function processGuard() {
  const seen: unknown[] = [];
  const onError = (e: unknown) => seen.push(e);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return {
    assertClean() {
      assert.deepEqual(
        seen.map((e) => String((e as Error)?.stack ?? e)),
        [],
        'no uncaught exception or unhandled rejection',
      );
    },
    dispose() {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    },
  };
}

export interface Exchange {
  /** Status of the first response, if one came. */
  status: number | undefined;
  /** Everything the server sent (latin1). */
  text: string;
  /** The server closed the connection (not our bound). */
  closedByServer: boolean;
}

function portOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/**
 * Write `chunks` (a string is latin1 bytes) one after the other, then read
 * until the server closes or `BOUND_MS` passes. With `keepOpen` our write side
 * stays open (a client that is still there); otherwise it is half-closed after
 * the last chunk only if `end` is set.
 */
export function exchange(url: string, chunks: Array<string | Buffer>, options: { end?: boolean; boundMs?: number } = {}): Promise<Exchange> {
  const { host, port } = portOf(url);
  // `Host: x` in a case stands for the server's own name, so the bytes get past the servers' Host
  // checks (DNS rebinding) and reach the routes; cases with another Host keep theirs (refused 421).
  const own = `Host: ${new URL(url).host}\r\n`;
  const named = (c: string | Buffer) => Buffer.from((typeof c === 'string' ? c : c.toString('latin1')).replaceAll('Host: x\r\n', own), 'latin1');
  return new Promise((resolve) => {
    const socket = connect(port, host);
    const got: Buffer[] = [];
    let byUs = false;
    const timer = setTimeout(() => {
      byUs = true;
      socket.destroy();
    }, options.boundMs ?? BOUND_MS);
    socket.on('connect', () => {
      for (const c of chunks) socket.write(named(c));
      if (options.end) socket.end();
    });
    socket.on('data', (d: Buffer) => got.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(got).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : undefined, text, closedByServer: !byUs });
    });
  });
}

/** Every response status in `text` (pipelined answers included). */
export function statuses(text: string): number[] {
  return [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}

/** A plain request still gets an answer below 500. */
export async function assertAlive(name: string, url: string, init: RequestInit = {}): Promise<void> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(BOUND_MS) });
  await res.arrayBuffer();
  assert.ok(res.status < 500, `${name} still answers a plain request (HTTP ${res.status})`);
}

export interface FuzzTarget {
  name: string;
  /** Base URL, e.g. http://127.0.0.1:1234 */
  url: string;
  /** Paths worth hitting (POST endpoints, pages); `/` is always added. */
  paths: string[];
  /** The plain request that must still succeed after each batch. */
  alive: () => Promise<void>;
}

const CRLF = '\r\n';

/** Reproducible noise (the same bytes every run). */
const noise = (n: number, salt = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (Math.imul(i + salt, 2654435761) >>> 23) & 0xff));

/** Hand-picked raw requests: request lines, versions, headers, bodies. `p` is a path of the target. */
export function fixedCases(p: string): Array<{ why: string; bytes: Array<string | Buffer> }> {
  const big = 'a'.repeat(64 * 1024);
  const json = '{"skillId":"x","nonceStr":"n"}';
  const post = (headers: string, body = '') => [`POST ${p} HTTP/1.1${CRLF}Host: x${CRLF}${headers}${CRLF}${body}`];
  return [
    { why: 'bad method', bytes: [`FOO ${p} HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'method with junk', bytes: [`G\x00ET ${p} HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'lower-case method', bytes: [`get ${p} HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'CONNECT', bytes: [`CONNECT x:443 HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'OPTIONS *', bytes: [`OPTIONS * HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'TRACE', bytes: [`TRACE ${p} HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'HTTP/0.9', bytes: [`GET ${p}${CRLF}`] },
    { why: 'HTTP/2.0 version', bytes: [`GET ${p} HTTP/2.0${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'HTTP/1.2 version', bytes: [`GET ${p} HTTP/1.2${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'HTTP/9.9 version', bytes: [`GET ${p} HTTP/9.9${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'garbled version', bytes: [`GET ${p} HTXP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'HTTP/1.0 no Host', bytes: [`GET ${p} HTTP/1.0${CRLF}${CRLF}`] },
    { why: 'HTTP/1.1 no Host', bytes: [`GET ${p} HTTP/1.1${CRLF}${CRLF}`] },
    { why: 'two Hosts', bytes: [`GET ${p} HTTP/1.1${CRLF}Host: a${CRLF}Host: b${CRLF}${CRLF}`] },
    { why: 'a foreign Host (DNS rebinding)', bytes: [`GET ${p} HTTP/1.1${CRLF}Host: evil.example${CRLF}${CRLF}`] },
    { why: 'target //', bytes: [`GET // HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'target http://', bytes: [`GET http:// HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'absolute target', bytes: [`GET http://evil.example${p} HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'bad escapes', bytes: [`GET ${p}/%E0%A4%A/%ZZ/% HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'dot segments', bytes: [`GET /../../etc/passwd HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'huge target', bytes: [`GET /${'x'.repeat(20_000)} HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'huge query', bytes: [`GET ${p}?${'a=1&'.repeat(3000)} HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    {
      why: 'utf-8 target',
      bytes: [Buffer.concat([Buffer.from('GET /万古/'), Buffer.from([0xff, 0xfe]), Buffer.from(` HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`)])],
    },
    { why: 'control chars in target', bytes: [`GET /a\x01b\x7f HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`] },
    { why: 'bare LF line ends', bytes: [`GET ${p} HTTP/1.1\nHost: x\n\n`] },
    { why: 'huge header', bytes: [`GET ${p} HTTP/1.1${CRLF}Host: x${CRLF}X-Big: ${'b'.repeat(20_000)}${CRLF}${CRLF}`] },
    { why: 'many headers', bytes: [`GET ${p} HTTP/1.1${CRLF}Host: x${CRLF}${'X-A: 1\r\n'.repeat(3000)}${CRLF}`] },
    { why: 'header without colon', bytes: [`GET ${p} HTTP/1.1${CRLF}Host: x${CRLF}NoColon${CRLF}${CRLF}`] },
    { why: 'header name with space', bytes: [`GET ${p} HTTP/1.1${CRLF}Host: x${CRLF}Bad Name: v${CRLF}${CRLF}`] },
    { why: 'obs-fold', bytes: [`GET ${p} HTTP/1.1${CRLF}Host: x${CRLF}X-A: 1${CRLF} folded${CRLF}${CRLF}`] },
    { why: 'NUL in header value', bytes: [`GET ${p} HTTP/1.1${CRLF}Host: x${CRLF}X-A: a\x00b${CRLF}${CRLF}`] },
    {
      why: 'three Authorization headers',
      bytes: post(`Authorization: a${CRLF}Authorization: b${CRLF}Authorization: c${CRLF}Content-Length: ${json.length}${CRLF}`, json),
    },
    { why: 'two content-lengths, different', bytes: post(`Content-Length: 3${CRLF}Content-Length: 5${CRLF}`, 'abcde') },
    { why: 'negative content-length', bytes: post(`Content-Length: -1${CRLF}`, 'x') },
    { why: 'non-numeric content-length', bytes: post(`Content-Length: abc${CRLF}`, 'x') },
    { why: 'huge content-length', bytes: post(`Content-Length: 99999999999999999999${CRLF}`, 'x') },
    { why: 'content-length beyond the body limit', bytes: post(`Content-Type: application/json${CRLF}Content-Length: 50000000${CRLF}`, 'x'.repeat(1000)) },
    { why: 'truncated body', bytes: post(`Content-Type: application/json${CRLF}Content-Length: 1000${CRLF}`, json) },
    { why: 'body longer than content-length (pipelined junk)', bytes: post(`Content-Length: 2${CRLF}`, '{}GARBAGE GARBAGE\r\n\r\n') },
    { why: 'chunked junk', bytes: post(`Transfer-Encoding: chunked${CRLF}`, `zz${CRLF}abc${CRLF}0${CRLF}${CRLF}`) },
    { why: 'chunk size overflow', bytes: post(`Transfer-Encoding: chunked${CRLF}`, `ffffffffffffffffff${CRLF}abc${CRLF}`) },
    { why: 'chunked without the last chunk', bytes: post(`Transfer-Encoding: chunked${CRLF}`, `3${CRLF}abc${CRLF}`) },
    { why: 'chunk extension junk', bytes: post(`Transfer-Encoding: chunked${CRLF}`, `3;\x01=\x02${CRLF}abc${CRLF}0${CRLF}${CRLF}`) },
    { why: 'TE and CL both', bytes: post(`Content-Length: 3${CRLF}Transfer-Encoding: chunked${CRLF}`, `0${CRLF}${CRLF}`) },
    { why: 'TE gzip, chunked', bytes: post(`Transfer-Encoding: gzip, chunked${CRLF}`, `3${CRLF}abc${CRLF}0${CRLF}${CRLF}`) },
    { why: 'TE chunked, identity', bytes: post(`Transfer-Encoding: chunked, identity${CRLF}`, `3${CRLF}abc${CRLF}0${CRLF}${CRLF}`) },
    { why: 'two TE headers', bytes: post(`Transfer-Encoding: chunked${CRLF}Transfer-Encoding: identity${CRLF}`, `0${CRLF}${CRLF}`) },
    { why: 'TE unknown', bytes: post(`Transfer-Encoding: xchunked${CRLF}`, `abc`) },
    {
      why: 'oversize chunked body',
      bytes: post(`Transfer-Encoding: chunked${CRLF}`, `${big.length.toString(16)}${CRLF}${big}${CRLF}`.repeat(40) + `0${CRLF}${CRLF}`),
    },
    { why: 'wrong content-type', bytes: post(`Content-Type: text/html; charset=latin-1${CRLF}Content-Length: ${json.length}${CRLF}`, json) },
    { why: 'multipart content-type', bytes: post(`Content-Type: multipart/form-data; boundary=x${CRLF}Content-Length: 5${CRLF}`, '--x--') },
    { why: 'content-encoding gzip junk', bytes: post(`Content-Type: application/json${CRLF}Content-Encoding: gzip${CRLF}Content-Length: 5${CRLF}`, 'abcde') },
    { why: 'charset junk', bytes: post(`Content-Type: application/json; charset=ebcdic${CRLF}Content-Length: ${json.length}${CRLF}`, json) },
    {
      why: 'invalid UTF-8 body',
      bytes: [
        Buffer.concat([
          Buffer.from(`POST ${p} HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Content-Length: 6${CRLF}${CRLF}`),
          Buffer.from([0x7b, 0xc3, 0x28, 0xff, 0xfe, 0x7d]),
        ]),
      ],
    },
    { why: 'JSON bomb-ish body', bytes: post(`Content-Type: application/json${CRLF}Content-Length: 20000${CRLF}`, '['.repeat(10_000) + ']'.repeat(10_000)) },
    { why: 'Expect: 100-continue', bytes: post(`Expect: 100-continue${CRLF}Content-Length: 2${CRLF}`, '{}') },
    { why: 'Expect: junk', bytes: post(`Expect: 999-nope${CRLF}Content-Length: 2${CRLF}`, '{}') },
    {
      why: 'Upgrade: h2c',
      bytes: [`GET ${p} HTTP/1.1${CRLF}Host: x${CRLF}Connection: Upgrade, HTTP2-Settings${CRLF}Upgrade: h2c${CRLF}HTTP2-Settings: AAA${CRLF}${CRLF}`],
    },
    { why: 'HTTP/2 preface', bytes: ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'] },
    { why: 'TLS ClientHello', bytes: [Buffer.from('16030100a5010000a10303', 'hex')] },
    { why: 'binary noise', bytes: [noise(4096)] },
    { why: 'pipelined mix', bytes: [`GET / HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}GET // HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}BAD${CRLF}${CRLF}`] },
    { why: 'nothing but CRLFs', bytes: ['\r\n'.repeat(5000)] },
  ];
}

/** Assert one exchange's invariant: any answer below 500 (and, when several were pipelined, every one). */
export function assertNo5xx(target: string, why: string, x: Exchange): void {
  for (const s of statuses(x.text)) assert.ok(s < 500, `${target} / ${why}: answered HTTP ${s}: ${x.text.slice(0, 200)}`);
}

/** Run `fn` over `items`, `n` at a time. */
export async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** The hand-picked cases on every path of the target, then a plain request. */
export async function fuzzFixed(t: FuzzTarget): Promise<void> {
  const paths = [...new Set(['/', ...t.paths])];
  const cases = paths.flatMap((p) => fixedCases(p).map((c) => ({ ...c, why: `${p}: ${c.why}` })));
  await pool(cases, 8, async (c) => {
    const x = await exchange(t.url, c.bytes, { end: false });
    assert.ok(x.closedByServer, `${t.name} / ${c.why}: the server closed the connection within the bound`);
    assertNo5xx(t.name, c.why, x);
  });
  await t.alive();
}

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/);
const anyLatin1 = (max: number) => fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: max });

/** Random raw requests: methods, targets, versions, header lists and bodies, mostly near-valid. */
export function rawRequest(paths: string[]): fc.Arbitrary<string> {
  const method = fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'), token, anyLatin1(12));
  const target = fc.oneof(
    fc.constantFrom(...paths, '/', '//', '*', '/%', '/%%30', '/a?b=%zz'),
    fc.constantFrom(...paths).chain((p) => anyLatin1(40).map((s) => p + s)),
    anyLatin1(60),
  );
  const version = fc.oneof(fc.constantFrom('HTTP/1.1', 'HTTP/1.0', '', 'HTTP/2', 'HTTP/1.1 extra', 'http/1.1'), anyLatin1(10));
  const header = fc.oneof(
    fc.tuple(
      fc.constantFrom('Host', 'Content-Length', 'Transfer-Encoding', 'Content-Type', 'Authorization', 'Connection', 'Expect', 'Upgrade', 'Origin'),
      anyLatin1(40),
    ),
    fc.tuple(token, anyLatin1(40)),
    fc.tuple(anyLatin1(10), anyLatin1(20)),
  );
  const headers = fc.array(header, { maxLength: 8 });
  const body = fc.oneof(
    fc.constant(''),
    anyLatin1(300),
    fc.json().map((j) => j.slice(0, 2000)),
  );
  return fc
    .tuple(method, target, version, headers, body)
    .map(([m, tg, v, hs, b]) => `${m} ${tg} ${v}${CRLF}${hs.map(([k, val]) => `${k}: ${val}${CRLF}`).join('')}${CRLF}${b}`);
}

/** A seeded, CI-sized run of random raw requests against the target, then a plain request. */
export async function fuzzRandom(t: FuzzTarget, runs: number): Promise<void> {
  const paths = [...new Set(['/', ...t.paths])];
  await check(
    fc.asyncProperty(fc.array(rawRequest(paths), { minLength: 4, maxLength: 4 }), async (requests) => {
      await Promise.all(
        requests.map(async (r) => {
          const x = await exchange(t.url, [r]);
          assert.ok(x.closedByServer, `${t.name}: the server closed the connection within the bound (${JSON.stringify(r.slice(0, 80))})`);
          assertNo5xx(t.name, JSON.stringify(r.slice(0, 120)), x);
        }),
      );
    }),
    fuzzParams(runs),
  );
  await t.alive();
}

/**
 * Slow clients: a head that never ends (a header line every 50 ms), a body
 * that trickles (a byte every 50 ms), an idle connection, an idle keep-alive
 * connection after one answer. Each must be closed by the server while the
 * client is still there.
 */
export async function fuzzSlow(t: FuzzTarget, postPath = t.paths[0] ?? '/'): Promise<void> {
  const { host, port } = portOf(t.url);
  const drip = (head: string, drip: () => string) =>
    new Promise<Exchange>((resolve) => {
      const socket: Socket = connect(port, host);
      const got: Buffer[] = [];
      let byUs = false;
      let timer: ReturnType<typeof setInterval> | undefined;
      const bound = setTimeout(() => {
        byUs = true;
        socket.destroy();
      }, BOUND_MS);
      socket.on('connect', () => {
        socket.write(head);
        timer = setInterval(() => {
          if (!socket.destroyed && socket.writable) socket.write(drip());
        }, 50);
      });
      socket.on('data', (d: Buffer) => got.push(d));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(bound);
        clearInterval(timer);
        const text = Buffer.concat(got).toString('latin1');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
        resolve({ status: m ? Number(m[1]) : undefined, text, closedByServer: !byUs });
      });
    });
  let n = 0;
  const headers = await drip(`GET / HTTP/1.1${CRLF}Host: x${CRLF}`, () => `X-Slow-${n++}: ${'a'.repeat(5)}${CRLF}`);
  assert.ok(headers.closedByServer, `${t.name}: a head that never ends is cut off by the server`);
  assertNo5xx(t.name, 'slow head', headers);
  const body = await drip(`POST ${postPath} HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Content-Length: 100000${CRLF}${CRLF}`, () => ' ');
  assert.ok(body.closedByServer, `${t.name}: a body that trickles is cut off by the server`);
  assertNo5xx(t.name, 'slow body', body);
  const idle = await exchange(t.url, []);
  assert.ok(idle.closedByServer, `${t.name}: a connection that sends nothing is closed by the server`);
  const kept = await exchange(t.url, [`GET / HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`]);
  assert.ok(
    kept.closedByServer && kept.status !== undefined && kept.status < 500,
    `${t.name}: an idle keep-alive connection is closed after its answer (${kept.status})`,
  );
  await t.alive();
}

/** A WebSocket handshake for `path` with a valid key; returns the raw request and the expected accept value. */
export function wsHandshake(path: string, extra = ''): { request: string; accept: string } {
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1')
    .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
    .digest('base64');
  return {
    request: `GET ${path} HTTP/1.1${CRLF}Host: x${CRLF}Upgrade: websocket${CRLF}Connection: Upgrade${CRLF}Sec-WebSocket-Key: ${key}${CRLF}Sec-WebSocket-Version: 13${CRLF}${extra}${CRLF}`,
    accept,
  };
}

/** A masked client frame. */
export function frame(opcode: number, payload: Buffer, options: { fin?: boolean; mask?: boolean; rsv?: number; lengthOverride?: bigint } = {}): Buffer {
  const fin = options.fin ?? true;
  const mask = options.mask ?? true;
  const b0 = (fin ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (opcode & 0x0f);
  const len = options.lengthOverride ?? BigInt(payload.length);
  let head: Buffer;
  if (len < 126n) head = Buffer.from([b0, (mask ? 0x80 : 0) | Number(len)]);
  else if (len < 65536n) {
    head = Buffer.alloc(4);
    head[0] = b0;
    head[1] = (mask ? 0x80 : 0) | 126;
    head.writeUInt16BE(Number(len), 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = (mask ? 0x80 : 0) | 127;
    head.writeBigUInt64BE(len, 2);
  }
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!));
  return Buffer.concat([head, key, masked]);
}

/** Upgrade junk and bad frames against a WebSocket path; each connection must end from the server's side, never a 5xx. */
export async function fuzzWebSocket(t: FuzzTarget, path: string): Promise<void> {
  const upgradeJunk = [
    `GET ${path} HTTP/1.1${CRLF}Host: x${CRLF}Upgrade: websocket${CRLF}Connection: Upgrade${CRLF}${CRLF}`, // no key
    `GET ${path} HTTP/1.1${CRLF}Host: x${CRLF}Upgrade: websocket${CRLF}Connection: Upgrade${CRLF}Sec-WebSocket-Key: short${CRLF}Sec-WebSocket-Version: 13${CRLF}${CRLF}`,
    `GET ${path} HTTP/1.1${CRLF}Host: x${CRLF}Upgrade: websocket${CRLF}Connection: Upgrade${CRLF}Sec-WebSocket-Key: ${'A'.repeat(22)}==${CRLF}Sec-WebSocket-Version: 99${CRLF}${CRLF}`,
    `POST ${path} HTTP/1.1${CRLF}Host: x${CRLF}Upgrade: websocket${CRLF}Connection: Upgrade${CRLF}Sec-WebSocket-Key: ${'A'.repeat(22)}==${CRLF}Sec-WebSocket-Version: 13${CRLF}${CRLF}`,
    `GET ${path} HTTP/1.1${CRLF}Host: x${CRLF}Upgrade: wobsocket${CRLF}Connection: Upgrade${CRLF}Sec-WebSocket-Key: ${'A'.repeat(22)}==${CRLF}Sec-WebSocket-Version: 13${CRLF}${CRLF}`,
    `GET ${path}/../x HTTP/1.1${CRLF}Host: x${CRLF}Upgrade: websocket${CRLF}Connection: Upgrade${CRLF}Sec-WebSocket-Key: ${'A'.repeat(22)}==${CRLF}Sec-WebSocket-Version: 13${CRLF}${CRLF}`,
    wsHandshake(path, `Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99; junk${CRLF}`).request,
    wsHandshake(path, `Sec-WebSocket-Protocol: a, , b,,${CRLF}`).request,
    wsHandshake(`${path}?%E0%A4%A`).request,
  ];
  await pool(upgradeJunk, 4, async (r) => {
    const x = await exchange(t.url, [r], { end: false });
    assert.ok(x.closedByServer, `${t.name} ws upgrade junk: closed by the server (${JSON.stringify(r.slice(0, 60))})`);
    assertNo5xx(t.name, `ws upgrade ${JSON.stringify(r.slice(0, 80))}`, x);
  });
  const badFrames: Array<[string, Buffer[]]> = [
    ['unmasked frame', [frame(1, Buffer.from('{"type":"hello"}'), { mask: false })]],
    ['reserved opcode', [frame(3, Buffer.from('x'))]],
    ['RSV bits without an extension', [frame(1, Buffer.from('x'), { rsv: 7 })]],
    ['invalid UTF-8 text', [frame(1, Buffer.from([0xc3, 0x28, 0xff]))]],
    ['fragmented ping', [frame(9, Buffer.from('x'), { fin: false })]],
    ['oversized ping', [frame(9, Buffer.alloc(200, 1))]],
    ['2^63 length', [frame(2, Buffer.alloc(0), { lengthOverride: 2n ** 63n - 1n })]],
    ['frame over the size limit', [frame(1, Buffer.alloc(2 * 1024 * 1024, 0x61))]],
    ['continuation without a start', [frame(0, Buffer.from('x'))]],
    ['new message inside a fragmented one', [frame(1, Buffer.from('{'), { fin: false }), frame(1, Buffer.from('}'))]],
    ['close with a bad code', [frame(8, Buffer.from([0x03, 0xe7]))]],
    ['close with a 1-byte payload', [frame(8, Buffer.from([1]))]],
    ['text that is not JSON', [frame(1, Buffer.from('not json'))]],
    ['JSON of the wrong shape', [frame(1, Buffer.from('{"type":"subscribe","purchaseId":{"$ne":1}}'))]],
    ['binary noise', [noise(2048, 7)]],
  ];
  await pool(badFrames, 4, async ([why, frames]) => {
    const hs = wsHandshake(path);
    const x = await exchange(t.url, [hs.request, ...frames], { end: false });
    assert.match(x.text, /^HTTP\/1\.1 101 /, `${t.name} ws ${why}: the handshake itself is accepted`);
    assert.ok(x.text.includes(hs.accept), `${t.name} ws ${why}: the accept key answers ours`);
    assert.ok(x.closedByServer, `${t.name} ws ${why}: the server ends the connection`);
  });
  await t.alive();
}
