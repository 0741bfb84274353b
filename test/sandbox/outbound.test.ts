/**
 * The sandbox's outbound POST (src/sandbox/outbound.ts): a call started while
 * the sandbox is already closing is refused as a rejection — the request it
 * destroys must not surface as an uncaught "socket hang up".
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { post } from '../../src/sandbox/outbound.js';

test('a POST after the closing signal rejects and raises nothing uncaught', async () => {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    const closing = AbortSignal.abort();
    for (let i = 0; i < 20; i++) await assert.rejects(post(url, {}, '{}', 1000, closing), /closing/);
    await new Promise((r) => setTimeout(r, 200)); // let destroyed sockets report
    assert.deepEqual(uncaught, []);
    // And an ordinary call still works.
    const reply = await post(url, {}, '{}', 1000);
    assert.equal(reply.status, 200);
  } finally {
    process.off('uncaughtException', onUncaught);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
