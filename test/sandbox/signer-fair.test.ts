/**
 * The sandbox signer under a backlog (src/sandbox/signer.ts), by structure:
 * an injected sign function that finishes only when the test says so, and an
 * injected signing clock. Device and backend jobs take turns (weighted),
 * neither starves, the TSK datetime (and with `signBody` the body and its
 * nonce) is made when the sign runs, and a full queue refuses with a typed
 * error.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { KeyObject } from 'node:crypto';
import { generateTskKeyPair, InvalidArgumentError, parseAuthorization, randomNonce, verifyRsa2 } from '../../src/protocol/index.js';
import { signRsa2Async } from '../../src/protocol/tsk-node.js';
import { OutboxFullError } from '../../src/sandbox/outbound.js';
import { Signer, type SignPriority } from '../../src/sandbox/signer.js';
import { deferred } from '../support/helpers.js';

const keys = generateTskKeyPair();

/** A sign function that records what it was asked and finishes (really signing) only on `release()`. */
function gatedSign() {
  const started: Array<{ raw: string; datetimeNow: number }> = [];
  const gates: Array<() => Promise<unknown>> = [];
  const signFn = (raw: string | Uint8Array, key: KeyObject, datetimeNow: number) => {
    started.push({ raw: String(raw), datetimeNow });
    const gate = deferred<void>();
    const signed = gate.promise.then(() => signRsa2Async(raw, key, { now: datetimeNow }));
    gates.push(() => {
      gate.resolve();
      return signed;
    });
    return signed;
  };
  /** Let the oldest running sign finish; resolves once the signer (and its caller) has seen the result. */
  const release = async () => {
    const open = gates.shift();
    assert.ok(open, 'a sign is running');
    await open();
    await new Promise((r) => setImmediate(r));
  };
  return { started, signFn, release, running: () => gates.length };
}

describe('sandbox Signer: fair, dated when it signs, bounded', () => {
  it('alternates device and backend jobs under a backlog (FIFO within each)', async () => {
    const g = gatedSign();
    const signer = new Signer(keys.privateKey, () => Date.now(), { maxInFlight: 1, signFn: g.signFn });
    const done: Array<Promise<string>> = [];
    const add = (raw: string, p: SignPriority) => done.push(signer.sign(raw, p));
    add('d0', 'device'); // starts at once
    for (let i = 1; i < 6; i++) add(`d${i}`, 'device');
    for (let i = 0; i < 3; i++) add(`b${i}`, 'backend');
    assert.equal(signer.queued('device'), 5);
    assert.equal(signer.queued('backend'), 3);
    while (g.started.length < 9) await g.release();
    await g.release();
    await Promise.all(done);
    assert.deepEqual(
      g.started.map((s) => s.raw),
      ['d0', 'd1', 'b0', 'd2', 'b1', 'd3', 'b2', 'd4', 'd5'],
    );
    assert.deepEqual(signer.signatures, { device: 6, backend: 3 });
  });

  it('weights the turns: deviceWeight device jobs per backend job', async () => {
    const g = gatedSign();
    const signer = new Signer(keys.privateKey, () => Date.now(), { maxInFlight: 1, deviceWeight: 3, signFn: g.signFn });
    const done: Array<Promise<string>> = [];
    done.push(signer.sign('first', 'backend'));
    for (let i = 0; i < 7; i++) done.push(signer.sign(`d${i}`, 'device'));
    for (let i = 0; i < 2; i++) done.push(signer.sign(`b${i}`, 'backend'));
    while (g.started.length < 10) await g.release();
    await g.release();
    await Promise.all(done);
    assert.deepEqual(
      g.started.map((s) => s.raw),
      ['first', 'd0', 'd1', 'd2', 'b0', 'd3', 'd4', 'd5', 'b1', 'd6'],
    );
  });

  it('a flood of device work that never ends does not starve a backend notification', async () => {
    const g = gatedSign();
    const signer = new Signer(keys.privateKey, () => Date.now(), { maxInFlight: 2, signFn: g.signFn });
    // Every device job that finishes queues two more: the device queue never drains.
    let stop = false;
    const flood = (i: number): Promise<unknown> =>
      signer.sign(`d${i}`, 'device').then(() => (stop ? undefined : Promise.all([flood(i * 2 + 1), flood(i * 2 + 2)])));
    const floods = [flood(0), flood(1000)];
    await g.release();
    const backend = signer.sign('backend-notification', 'backend');
    let signed = false;
    void backend.then(() => (signed = true));
    for (let i = 0; i < 6 && !signed; i++) await g.release();
    assert.equal(signed, true, 'the backend job was signed within a few turns');
    const position = g.started.findIndex((s) => s.raw === 'backend-notification');
    assert.ok(position >= 0 && position <= 4, `signed as job ${position}`);
    assert.ok(signer.queued('device') > 0, 'device work was still waiting: it did not simply run out');
    stop = true;
    while (g.running() > 0) await g.release();
    await Promise.all(floods);
  });

  it('dates a signature when it signs, not when it was queued: a backlog never stamps it stale', async () => {
    const g = gatedSign();
    let now = Date.parse('2026-12-02T05:00:00Z');
    const signer = new Signer(keys.privateKey, () => now, { maxInFlight: 1, signFn: g.signFn });
    const first = signer.sign('{"first":1}', 'device');
    const queued = signer.sign('{"queued":1}', 'backend'); // waits behind the first
    now += 5 * 60_000; // five minutes of backlog: more than the ±3 minutes a receiver accepts
    await g.release();
    await g.release();
    const [h1, h2] = await Promise.all([first, queued]);
    assert.equal(parseAuthorization(h1).datetime, '20261202T050000Z');
    assert.equal(parseAuthorization(h2).datetime, '20261202T050500Z', 'the datetime of the moment it signed');
    assert.equal(verifyRsa2('{"queued":1}', h2, keys.publicKey, { now: () => now }).ok, true);
    assert.deepEqual(
      g.started.map((s) => s.datetimeNow),
      [Date.parse('2026-12-02T05:00:00Z'), now],
    );
  });

  it('signBody makes the body (and its nonce) when its turn comes', async () => {
    const g = gatedSign();
    let now = 1_000;
    const signer = new Signer(keys.privateKey, () => now, { maxInFlight: 1, signFn: g.signFn });
    const made: number[] = [];
    const make = () => {
      made.push(now);
      return JSON.stringify({ at: now, nonceStr: randomNonce() });
    };
    const a = signer.signBody(make, 'backend');
    const b = signer.signBody(make, 'backend');
    assert.deepEqual(made, [1_000], 'the second body is not made while it waits');
    now = 9_000;
    await g.release();
    await g.release();
    const [sa, sb] = await Promise.all([a, b]);
    assert.deepEqual(made, [1_000, 9_000]);
    assert.equal(JSON.parse(sb.raw).at, 9_000);
    assert.equal(sb.signedAt, 9_000);
    assert.notEqual(JSON.parse(sa.raw).nonceStr, JSON.parse(sb.raw).nonceStr);
    assert.equal(verifyRsa2(sb.raw, sb.authorization, keys.publicKey, { now: 9_000 }).ok, true);
  });

  it('a body that cannot be made rejects its own promise only', async () => {
    const signer = new Signer(keys.privateKey, () => Date.now(), 1);
    await assert.rejects(
      signer.signBody(() => {
        throw new Error('no body');
      }),
      /no body/,
    );
    assert.ok(parseAuthorization(await signer.sign('{}')));
  });

  it('a full queue refuses at once with ERR_OUTBOX_FULL; the other queue still takes work', async () => {
    const g = gatedSign();
    const signer = new Signer(keys.privateKey, () => Date.now(), { maxInFlight: 1, maxQueued: 2, signFn: g.signFn });
    const ok = [signer.sign('a', 'device'), signer.sign('b', 'device'), signer.sign('c', 'device')]; // one running, two waiting
    const refused = signer.sign('d', 'device');
    await assert.rejects(refused, (e: unknown) => e instanceof OutboxFullError && e.code === 'ERR_OUTBOX_FULL' && e.queue === 'device');
    assert.equal(signer.refused.device, 1);
    assert.equal(signer.queued('device'), 2);
    const backend = signer.sign('e', 'backend');
    while (g.started.length < 4) await g.release();
    await g.release();
    await Promise.all([...ok, backend]);
    assert.deepEqual(
      g.started.map((s) => s.raw),
      ['a', 'b', 'e', 'c'],
    );
    assert.equal(signer.total, 4);
  });

  it('refuses bad options with a typed error', () => {
    for (const o of [{ maxInFlight: 0 }, { maxQueued: -1 }, { deviceWeight: 1.5 }, { maxInFlight: Number.NaN }])
      assert.throws(() => new Signer(keys.privateKey, () => 0, o), InvalidArgumentError);
  });
});
