/**
 * The bounded body reader (src/protocol/http-body.ts) on a real node:http
 * server: a body within the limit, one over it (refused at once, or drained
 * first), one declared too large, one that never finishes (timeout), one
 * aborted by the client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, type BodyResult, type ReadBodyOptions } from '../../src/protocol/http-body.js';

/** A server reading each request with `options`; resolves the result of the first request. */
async function serve(options: ReadBodyOptions, send: (port: number) => void): Promise<BodyResult> {
  let resolveResult!: (r: BodyResult) => void;
  const result = new Promise<BodyResult>((r) => (resolveResult = r));
  const server = createServer(async (req, res) => {
    const r = await readBody(req, options);
    resolveResult(r);
    res.writeHead(r.ok ? 200 : 413, { connection: 'close' }).end(r.ok ? String(r.body.length) : r.reason);
    if (!r.ok) res.on('finish', () => req.socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    send((server.address() as AddressInfo).port);
    return await result;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

function post(port: number, chunks: Buffer[], opts: { contentLength?: number; end?: boolean; abortAfterMs?: number } = {}) {
  const req = request({
    port,
    host: '127.0.0.1',
    method: 'POST',
    path: '/',
    headers: opts.contentLength !== undefined ? { 'content-length': opts.contentLength } : {},
  });
  req.on('error', () => {});
  req.on('response', (res) => res.resume());
  req.flushHeaders();
  for (const c of chunks) req.write(c);
  if (opts.end !== false) req.end();
  if (opts.abortAfterMs !== undefined) setTimeout(() => req.destroy(), opts.abortAfterMs);
}

test('a body within the limit arrives whole', async () => {
  const r = await serve({ limit: 10 }, (port) => post(port, [Buffer.from('hello'), Buffer.from('world')]));
  assert.equal(r.ok && r.body.toString(), 'helloworld');
});

test('over the limit: refused at once, or after draining up to drainBytes', async () => {
  assert.deepEqual(await serve({ limit: 4 }, (port) => post(port, [Buffer.from('hello')])), { ok: false, reason: 'too-large' });
  assert.deepEqual(await serve({ limit: 4, drainBytes: 100 }, (port) => post(port, [Buffer.from('hello')])), { ok: false, reason: 'too-large' });
  assert.deepEqual(await serve({ limit: 4, drainBytes: 2 }, (port) => post(port, [Buffer.alloc(64)], { end: false })), { ok: false, reason: 'too-large' });
});

test('a declared content-length over the limit is refused before any byte is read', async () => {
  assert.deepEqual(await serve({ limit: 4 }, (port) => post(port, [], { contentLength: 5000, end: false })), { ok: false, reason: 'too-large' });
});

test('a body that does not finish in time, and one the client aborts', async () => {
  assert.deepEqual(await serve({ limit: 100, timeoutMs: 100 }, (port) => post(port, [Buffer.from('he')], { end: false })), { ok: false, reason: 'timeout' });
  assert.deepEqual(await serve({ limit: 100 }, (port) => post(port, [Buffer.from('he')], { end: false, abortAfterMs: 50 })), { ok: false, reason: 'aborted' });
});
