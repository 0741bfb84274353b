/**
 * Where the partner options meet: the deliver hook's time limit must end
 * before the delivery claim's lease, checked when the handlers are made
 * (`ERR_INVALID_ARGUMENT`), with the default limit fitted to a short lease.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { catalogFrom, createPartnerHandlers, MemoryPartnerStore, type PartnerOptions } from '../../src/partner/index.js';
import { resolvePartnerOptions } from '../../src/partner/partner-context.js';
import { CATALOG, platform, skill, SKILL_ID } from '../support/partner-fixtures.js';

const options = (over: Partial<PartnerOptions> = {}): PartnerOptions => ({
  skillId: SKILL_ID,
  tskPublicKey: platform.publicKeyBase64,
  skillPrivateKey: skill.privateKeyPem,
  store: new MemoryPartnerStore(),
  catalog: catalogFrom(CATALOG),
  deliver: async () => {},
  ...over,
});
const invalid = (pattern: RegExp) => (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ARGUMENT' && pattern.test((e as Error).message);

describe('partner options: deliverTimeoutMs against leaseMs', () => {
  it('deliverTimeoutMs at or above leaseMs throws at construction', () => {
    assert.throws(
      () => createPartnerHandlers(options({ leaseMs: 10_000, deliverTimeoutMs: 10_000 })),
      invalid(/deliverTimeoutMs \(10000 ms\) must be below leaseMs \(10000 ms\)/),
    );
    assert.throws(() => createPartnerHandlers(options({ leaseMs: 5_000, deliverTimeoutMs: 20_000 })), invalid(/below leaseMs/));
    // against the default lease (60 s)
    assert.throws(() => createPartnerHandlers(options({ deliverTimeoutMs: 90_000 })), invalid(/leaseMs \(60000 ms, the default\)/));
  });

  it('a fitting combination is kept as given; the defaults are 20 s under a 60 s lease', () => {
    const given = resolvePartnerOptions(options({ leaseMs: 10_000, deliverTimeoutMs: 9_999 }));
    assert.deepEqual([given.leaseMs, given.deliverTimeoutMs], [10_000, 9_999]);
    const defaults = resolvePartnerOptions(options());
    assert.deepEqual([defaults.leaseMs, defaults.deliverTimeoutMs], [60_000, 20_000]);
    assert.equal(typeof createPartnerHandlers(options({ leaseMs: 120_000, deliverTimeoutMs: 60_000 })).deliver, 'function');
  });

  it('a short lease alone gets half of it as the hook limit (never the 20 s default above it)', () => {
    const short = resolvePartnerOptions(options({ leaseMs: 1_500 }));
    assert.equal(short.deliverTimeoutMs, 750);
    assert.ok(short.deliverTimeoutMs < short.leaseMs);
    assert.equal(resolvePartnerOptions(options({ leaseMs: 40_000 })).deliverTimeoutMs, 20_000);
  });

  it('non-positive or non-finite values still throw as before', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => createPartnerHandlers(options({ deliverTimeoutMs: bad })), invalid(/deliverTimeoutMs must be a positive number/), String(bad));
      assert.throws(() => createPartnerHandlers(options({ leaseMs: bad })), invalid(/leaseMs must be a positive number/), String(bad));
    }
  });
});
