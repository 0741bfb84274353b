import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { generateTskKeyPair, parseAuthorization, signRsa2, verifyRsa2 } from '../../src/protocol/index.js';
import { Signer } from '../../src/sandbox/signer.js';

const keys = generateTskKeyPair();

describe('sandbox Signer (thread pool, capped, device and backend work taking turns)', () => {
  it('gives the same header as signRsa2 at the signing clock of the call', async () => {
    let now = Date.parse('2026-11-26T12:00:00.500Z');
    const signer = new Signer(keys.privateKey, () => now, 2);
    const pending = signer.sign('{"a":1}');
    now += 60_000; // the clock moving afterwards does not change the datetime
    const header = await pending;
    assert.equal(header, signRsa2('{"a":1}', keys.privateKey, { datetime: '20261126T120000Z' }));
    assert.equal(verifyRsa2('{"a":1}', header, keys.publicKey, { now: Date.parse('2026-11-26T12:00:00Z') }).ok, true);
  });

  it('keeps at most maxInFlight signatures in the pool and alternates device and backend jobs', async () => {
    const signer = new Signer(keys.privateKey, () => Date.now(), 1);
    const order: string[] = [];
    const jobs: Array<Promise<unknown>> = [];
    // The first backend job starts at once (the pool is free); the rest queue.
    for (let i = 0; i < 3; i++) jobs.push(signer.sign(`b${i}`, 'backend').then(() => order.push(`b${i}`)));
    for (let i = 0; i < 3; i++) jobs.push(signer.sign(`d${i}`, 'device').then(() => order.push(`d${i}`)));
    await Promise.all(jobs);
    assert.deepEqual(order, ['b0', 'd0', 'b1', 'd1', 'b2', 'd2']);
  });

  it('signs many in parallel, each over its own body', async () => {
    const signer = new Signer(keys.privateKey, () => Date.now());
    const bodies = Array.from({ length: 20 }, (_, i) => `{"i":${i}}`);
    const headers = await Promise.all(bodies.map((b) => signer.sign(b)));
    headers.forEach((h, i) => {
      assert.ok(parseAuthorization(h));
      assert.equal(verifyRsa2(bodies[i]!, h, keys.publicKey).ok, true);
      assert.equal(verifyRsa2(bodies[(i + 1) % 20]!, h, keys.publicKey).ok, false);
    });
  });
});
