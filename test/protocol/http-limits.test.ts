/**
 * The HTTP limits of the servers we start: defaults, overrides, a check
 * interval that follows a short timeout, typed errors for bad values, and a
 * real server that cuts a slow head off (server-side close).
 */
import { strict as assert } from 'node:assert';
import http from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { DEFAULT_HTTP_LIMITS, httpServerOptions, resolveHttpLimits } from '../../src/protocol/http-limits.js';
import { InvalidArgumentError } from '../../src/protocol/errors.js';

test('defaults, overrides, and the check interval follows the shortest timeout', () => {
  assert.deepEqual(resolveHttpLimits(), DEFAULT_HTTP_LIMITS);
  const o = httpServerOptions({ headersTimeoutMs: 200, requestTimeoutMs: 400, keepAliveTimeoutMs: 100, maxHeaderSize: 4096 });
  assert.equal(o.headersTimeout, 200);
  assert.equal(o.requestTimeout, 400);
  assert.equal(o.keepAliveTimeout, 100);
  assert.equal(o.maxHeaderSize, 4096);
  assert.ok(o.connectionsCheckingInterval! <= 200, `check every ${o.connectionsCheckingInterval} ms`);
  // A head timeout above the request timeout is brought down to it (Node refuses it otherwise).
  assert.equal(httpServerOptions({ requestTimeoutMs: 1000 }).headersTimeout, 1000);
});

test('bad values throw InvalidArgumentError with a stable code', () => {
  for (const bad of [
    { headersTimeoutMs: 0 },
    { requestTimeoutMs: -1 },
    { keepAliveTimeoutMs: 1.5 },
    { maxHeaderSize: '8k' },
    { headersTimeoutMs: Number.NaN },
  ]) {
    assert.throws(
      () => resolveHttpLimits(bad as never),
      (e: unknown) => e instanceof InvalidArgumentError && e.code === 'ERR_INVALID_ARGUMENT',
      JSON.stringify(bad),
    );
  }
  assert.throws(() => resolveHttpLimits(null as never), InvalidArgumentError);
});

test('a server with the limits closes a connection whose head never ends', { timeout: 30_000 }, async () => {
  const server = http.createServer(httpServerOptions({ headersTimeoutMs: 200, requestTimeoutMs: 400 }), (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const { port } = server.address() as AddressInfo;
    const result = await new Promise<{ byServer: boolean; text: string }>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n'));
      let text = '';
      const drip = setInterval(() => s.writable && s.write('X-A: 1\r\n'), 50);
      const bound = setTimeout(() => {
        clearInterval(drip);
        s.destroy();
        resolve({ byServer: false, text });
      }, 20_000);
      s.on('data', (d) => (text += d.toString('latin1')));
      s.on('error', () => undefined);
      s.on('close', () => {
        clearInterval(drip);
        clearTimeout(bound);
        resolve({ byServer: true, text });
      });
    });
    assert.ok(result.byServer, 'the server closed the connection');
    assert.match(result.text, /^HTTP\/1\.1 408 /);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
