/**
 * PostgreSQL leases follow the database's clock, not each instance's: two
 * store instances on one database, one of them called with a skewed clock
 * (the `now` its partner handlers pass), never both hold a delivery claim or
 * a reconcile pass, and a nonce one of them remembered is live for the other.
 * `leaseClock: 'caller'` keeps the instance clock (and shows the old hazard).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { PostgresPartnerStore, type PostgresStoreOptions } from '../../src/partner/stores/index.js';
import { catalogFrom, createPartnerHandlers, type PartnerHandlers } from '../../src/partner/index.js';
import { CATALOG, createOrderBody, deliverBody, platform, readReply, signedRequest, skill, SKILL_ID } from '../support/partner-fixtures.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../support/postgres.js';

const MIN = 60_000;
const skip = postgresSkipReason();
let server: PostgresServer | undefined;
let url = '';
const open: PostgresPartnerStore[] = [];
const store = (o: Partial<PostgresStoreOptions> = {}) => {
  const s = new PostgresPartnerStore({ connectionString: url, poolSize: 2, ...o });
  open.push(s);
  return s;
};
let seq = 0;
const tradeNo = () => `C${Date.now().toString(36)}${(seq++).toString(36)}`;
const order = async (s: PostgresPartnerStore, createdAt = Date.now()) => {
  const t = tradeNo();
  await s.createOrder({
    tradeNo: t,
    skillId: 'skillAudio01',
    userToken: 'u1',
    details: [{ itemId: 'ep35', quantity: 1, amount: 200 }],
    totalAmt: 200,
    createdAt,
  });
  return t;
};

describe('PostgreSQL leases against the database clock', { skip }, () => {
  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase();
  });
  after(async () => {
    for (const s of open) await s.close();
    await server?.stop();
  });

  it('an instance whose clock runs 10 minutes ahead cannot take a live claim (plain and checked)', async () => {
    const a = store();
    const ahead = store();
    const t = await order(a);
    const first = await a.claimDelivery(t, 'tx-1', MIN, Date.now());
    assert.deepEqual([first.kind, first.kind === 'claimed' && first.attempt], ['claimed', 1]);
    assert.equal((await ahead.claimDelivery(t, 'tx-1', MIN, Date.now() + 10 * MIN)).kind, 'in-progress');
    const expect = { skillId: 'skillAudio01', userToken: 'u1', totalAmt: 200 };
    assert.equal((await ahead.claimDeliveryChecked(t, 'tx-1', expect, MIN, Date.now() + 10 * MIN)).kind, 'in-progress');
  });

  it("a claim taken by an instance whose clock runs behind still lasts its lease by the database's clock", async () => {
    const behind = store();
    const b = store();
    const t = await order(b);
    assert.equal((await behind.claimDelivery(t, 'tx-1', MIN, Date.now() - 10 * MIN)).kind, 'claimed');
    assert.equal((await b.claimDelivery(t, 'tx-1', MIN, Date.now())).kind, 'in-progress');
  });

  it('an expired lease is taken again whatever the caller clock says', async () => {
    const a = store();
    const behind = store();
    const t = await order(a);
    assert.equal((await a.claimDelivery(t, 'tx-1', 50, Date.now())).kind, 'claimed');
    await new Promise((r) => setTimeout(r, 250));
    const c = await behind.claimDelivery(t, 'tx-1', MIN, Date.now() - 60 * MIN);
    assert.equal(c.kind, 'claimed');
  });

  it('a reconcile pass leased by one instance is not handed to an instance whose clock runs ahead', async () => {
    const a = store();
    const ahead = store();
    const t = await order(a, Date.now() - 10 * MIN);
    const claim = (s: PostgresPartnerStore, now: number) => s.claimReconcileOrders({ createdBefore: now, now, limit: 50, leaseMs: MIN });
    assert.ok((await claim(a, Date.now())).some((c) => c.order.tradeNo === t));
    assert.ok(!(await claim(ahead, Date.now() + 10 * MIN)).some((c) => c.order.tradeNo === t), 'leased: not handed out twice');
  });

  it('a nonce remembered by an instance whose clock runs behind is still a replay for another', async () => {
    const behind = store();
    const b = store();
    const then = Date.now() - 10 * MIN;
    assert.equal(await behind.rememberNonce('n-skew-1', then + 6 * MIN, then), true);
    assert.equal(await b.rememberNonce('n-skew-1', Date.now() + 6 * MIN, Date.now()), false);
  });

  it('through the handlers: an instance 90 s ahead (inside the signature window) does not take over a delivery still running', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const runs: string[] = [];
    const handlers = (name: string, now: () => number): PartnerHandlers =>
      createPartnerHandlers({
        skillId: SKILL_ID,
        tskPublicKey: platform.publicKeyBase64,
        skillPrivateKey: skill.privateKeyPem,
        store: store(),
        catalog: catalogFrom(CATALOG),
        now,
        leaseMs: MIN,
        inProgressWaitMs: 0,
        deliver: async () => {
          runs.push(name);
          if (name === 'a') await gate;
        },
      });
    const a = handlers('a', () => Date.now());
    const ahead = handlers('ahead', () => Date.now() + 90_000);
    const created = readReply(await a.createOrder(signedRequest(JSON.stringify(createOrderBody()))), 'createOrderReply');
    const tradeNo = created.tradeNo!;
    const first = a.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo))));
    try {
      for (let i = 0; i < 500 && runs.length === 0; i++) await new Promise((r) => setTimeout(r, 5)); // a's hook holds the claim
      assert.deepEqual(runs, ['a']);
      const second = readReply(await ahead.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo)))), 'deliverNotifyReply');
      assert.deepEqual([second.retCode, second.retMsg], ['FAIL', 'delivery in progress']);
      release();
      assert.equal(readReply(await first, 'deliverNotifyReply').retCode, 'SUCCESS');
      assert.equal(readReply(await ahead.deliver(signedRequest(JSON.stringify(deliverBody(tradeNo)))), 'deliverNotifyReply').retCode, 'SUCCESS');
    } finally {
      release();
    }
    assert.deepEqual(runs, ['a'], 'the hook ran once');
  });

  it("leaseClock: 'caller' compares against the instance's own clock (the hazard the default avoids); a bad value throws", async () => {
    const a = store({ leaseClock: 'caller' });
    const ahead = store({ leaseClock: 'caller' });
    const t = await order(a);
    assert.equal((await a.claimDelivery(t, 'tx-1', MIN, Date.now())).kind, 'claimed');
    assert.equal((await ahead.claimDelivery(t, 'tx-1', MIN, Date.now() + 10 * MIN)).kind, 'claimed');
    assert.equal(store().leaseClock, 'database');
    assert.throws(() => new PostgresPartnerStore({ connectionString: url, leaseClock: 'wall' as never }), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
