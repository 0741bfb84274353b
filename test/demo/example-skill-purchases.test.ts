/**
 * "我买过什么" through the sandbox: the stand-in NLU matches the example
 * skill's `purchases` samples (and the buy samples do not take them), and
 * the skill answers from the partner store's purchase history — nothing yet,
 * then the episodes bought (grouped by album), on a screen speaker also as a
 * list; an episode whose refund took it back is left out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UtteranceMatcher } from '../../src/sandbox/skill.js';
import { AUDIOBOOK_INTENTS, NO_PURCHASES_SPEECH, purchaseList } from '../../src/demo/example-skill/skill.js';
import { ALBUMS, episode } from '../../src/demo/example-skill/catalog.js';
import { SqlitePartnerStore } from '../../src/partner/index.js';
import { until } from '../support/sandbox.js';

const PHRASES = ['我买过什么', '我买了哪些', '我的购买记录', '我都买了什么', '查看购买记录'];

test('the matcher hears the history phrasings as `purchases`, and the buy samples do not take them', () => {
  const intents = AUDIOBOOK_INTENTS.map((i) => ({ intent: i.intent, samples: [...i.samples], slots: { ...i.slots } }));
  const matcher = new UtteranceMatcher([{ skillId: 'book', utterances: intents }]);
  for (const text of PHRASES) assert.equal(matcher.match(text)?.intent, 'purchases', text);
  assert.equal(matcher.match('我要买万古神帝第4集')?.intent, 'buy');
});

test('purchaseList groups by album, episodes ascending', () => {
  const [w, d] = ALBUMS as [(typeof ALBUMS)[0], (typeof ALBUMS)[0]];
  assert.equal(purchaseList([episode(d, 6)!, episode(w, 5)!, episode(w, 4)!]), '斗破苍穹第6集，万古神帝第4集、第5集');
});

test('through the sandbox: nothing bought yet, then the episodes bought; a revoked one is left out', async () => {
  const { startDemoStack } = await import('../../src/demo/stack.js');
  const stack = await startDemoStack({ log: () => {} });
  try {
    const deviceId = 'dev-history';
    const empty = await stack.client.say({ text: '我买过什么', deviceId });
    assert.equal(empty.matched, true);
    assert.equal(empty.speech, NO_PURCHASES_SPEECH);

    const buy = async (text: string) => {
      const said = await stack.client.say({ text, deviceId });
      assert.ok(said.purchaseId, `${text}: a Charge`);
      const placed = await stack.client.placeOrder(said.purchaseId);
      assert.equal(placed.kind, 'order');
      const tradeNo = placed.kind === 'order' ? placed.order.tradeNo : '';
      await stack.client.payPurchase(said.purchaseId, 'success');
      await until(() => (stack.deliveryCount(tradeNo) > 0 ? true : undefined), 10_000, `delivery of ${tradeNo}`);
      return tradeNo;
    };
    await buy('我要买万古神帝第4集');
    await buy('我要买万古神帝第5集');
    const dp = await buy('购买斗破苍穹第6集');

    const listed = await stack.client.say({ text: '我的购买记录', deviceId, mode: 'screen' });
    assert.equal(listed.speech, '你买过：斗破苍穹第6集，万古神帝第4集、第5集');
    const list = listed.answer?.directives?.find((x) => x.type === 'Display.RenderTemplate') as { template: { listItems: { token: string }[] } } | undefined;
    assert.deepEqual(
      list?.template.listItems.map((i) => i.token),
      ['dpcq006', 'wgsd005', 'wgsd004'],
    );

    // A refund that took the episode back (what the refund paths do on SUCCESS): no longer said.
    const store = new SqlitePartnerStore(stack.dbFile!);
    try {
      assert.equal(await store.revokeEntitlements(dp), 1);
    } finally {
      await store.close();
    }
    const after = await stack.client.say({ text: '我买了哪些', deviceId });
    assert.equal(after.speech, '你买过：万古神帝第4集、第5集');
  } finally {
    await stack.close();
  }
});
