/**
 * The audiobook skill's accounts table (src/demo/example-skill/accounts.ts):
 * a linked user's `accessToken` maps to the partner's stable user id — two
 * different tokens of the same account (a rotation) give one id, which is
 * what the Charge's `chargeInfo.userId` carries; without a token it stays
 * `dd:<userId>`; the id survives a change of the platform's userId while the
 * token is the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryPartnerStore } from '../../src/partner/index.js';
import type { SkillUser } from '../../src/protocol/index.js';
import { intentRequest, newIntent, skillEnvelope, textSlot } from '../../src/sandbox/skill.js';
import { PartnerAccounts } from '../../src/demo/example-skill/accounts.js';
import { createAudiobookSkill, partnerUserId } from '../../src/demo/example-skill/skill.js';

const SKILL_ID = 'audiobook';

async function chargeUserId(accounts: PartnerAccounts, user: SkillUser): Promise<string | undefined> {
  const skill = createAudiobookSkill({ skillId: SKILL_ID, skillSecret: 's', store: new MemoryPartnerStore(), publicUrl: () => 'http://127.0.0.1:9', accounts });
  const request = intentRequest(
    newIntent('buy', { album: textSlot('album', '万古神帝'), index: textSlot('index', '35', '三十五') }),
    '我要买万古神帝第三十五集',
    'STARTED',
    Date.now(),
  );
  const env = skillEnvelope({ skillId: SKILL_ID, user, deviceId: 'dev-1', mode: 'screenless', session: { new: true, sessionId: 's-1' }, request });
  const answer = await skill.invoke(env);
  const charge = answer.response.directives?.find((d) => d.type === 'Connections.SendRequest');
  return charge?.payload.chargeInfo.userId;
}

test('two tokens of the same account (a rotation) map to one partner id, in the Charge too', async () => {
  const accounts = new PartnerAccounts();
  const t1 = accounts.issueToken('u-1');
  const t2 = accounts.issueToken('u-1');
  assert.notEqual(t1, t2);
  assert.equal(accounts.accountOf(t1), accounts.accountOf(t2));
  const id1 = await chargeUserId(accounts, { userId: 'u-1', accessToken: t1 });
  const id2 = await chargeUserId(accounts, { userId: 'u-1', accessToken: t2 });
  assert.ok(id1);
  assert.equal(id1, id2);
  assert.notEqual(id1, t1, 'the token is never the key');
  // Another user's account is another id.
  const other = await chargeUserId(accounts, { userId: 'u-2', accessToken: accounts.issueToken('u-2') });
  assert.notEqual(other, id1);
});

test('tokens minted elsewhere (the sandbox itself): a rotated token of the same linked user keeps the id', () => {
  const accounts = new PartnerAccounts();
  const a = accounts.partnerIdOf({ userId: 'u-5', accessToken: 'sbx-at-first' });
  const b = accounts.partnerIdOf({ userId: 'u-5', accessToken: 'sbx-at-rotated' });
  assert.equal(a, b);
  // The platform's userId changed (followed again), the token is the account's: same id.
  assert.equal(accounts.partnerIdOf({ userId: 'u-5-new', accessToken: 'sbx-at-rotated' }), a);
  assert.equal(accounts.partnerIdOf({ userId: 'u-6', accessToken: 'sbx-at-other' }), 'dd:u-6');
});

test('without a token: dd:<userId>, with or without a table', async () => {
  assert.equal(partnerUserId({ userId: 'u-7' }), 'dd:u-7');
  assert.equal(partnerUserId({ userId: 'u-7' }, new PartnerAccounts()), 'dd:u-7');
  assert.equal(await chargeUserId(new PartnerAccounts(), { userId: 'u-7' }), 'dd:u-7');
});

test('the example server is its own token endpoint: linking in the sandbox takes the partner’s token, and the linked user keeps the same partner id', async () => {
  const { startDemoStack } = await import('../../src/demo/stack.js');
  const stack = await startDemoStack({ log: () => {} });
  try {
    assert.match(stack.skill!.accountLinkingUrl, /^http:\/\/127\.0\.0\.1:\d+\/account-link$/);
    const before = await stack.client.say({ text: '我要听万古神帝第35集', userId: 'u-link', deviceId: 'dev-link', mode: 'screenless' });
    const unlinkedId = (before.answer?.directives?.find((d) => d.type === 'Connections.SendRequest') as { payload: { chargeInfo: { userId: string } } }).payload
      .chargeInfo.userId;
    assert.equal(unlinkedId, 'dd:u-link');
    const link = await stack.client.link({ userId: 'u-link' });
    assert.equal(link.source, 'partner', 'the token came from the example’s accountLinkingUrl');
    assert.match(link.accessToken, /^wg-at-/);
    const after = await stack.client.say({ text: '我要听万古神帝第36集', userId: 'u-link', deviceId: 'dev-link', mode: 'screenless' });
    assert.equal(after.matched, true);
    const skillCalls = (await stack.client.calls()).filter((c) => c.kind === 'skill');
    assert.ok(skillCalls.at(-1)!.body.includes(`"accessToken":"${link.accessToken}"`), 'the request after linking carries the token');
    assert.ok(!skillCalls[0]!.body.includes('accessToken'), 'the one before did not');
    const linkedId = (after.answer?.directives?.find((d) => d.type === 'Connections.SendRequest') as { payload: { chargeInfo: { userId: string } } }).payload
      .chargeInfo.userId;
    assert.equal(linkedId, 'dd:u-link', 'what the user bought before linking stays theirs');
    // The endpoint refuses what is not { userId }.
    const bad = await fetch(stack.skill!.accountLinkingUrl, { method: 'POST', body: '{"userId": 7}', signal: AbortSignal.timeout(5000) });
    assert.equal(bad.status, 400);
    const get = await fetch(stack.skill!.accountLinkingUrl, { signal: AbortSignal.timeout(5000) });
    assert.equal(get.status, 405);
  } finally {
    await stack.close();
  }
});
