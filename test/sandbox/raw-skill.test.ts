/**
 * The sandbox with a skill written on raw node:http straight from
 * SKILL-PROTOCOL.md (test/sandbox/raw-skill.ts, its own HMAC check): launch
 * by invocation name, an intent with a typed slot, a slot elicited across
 * turns, the session ended by 退出, Display.ElementSelected from the control
 * API — every request in the real format, one session per device.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSkillRequest } from '../../src/protocol/skill-request-check.js';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import type { Slot } from '../../src/protocol/skill-types.js';
import { api, control, platformKeys, SKILL_PUBLIC, trust, until } from '../support/sandbox.js';
import { startRawSkill, type RawSkill } from '../support/raw-skill.js';

let skill: RawSkill;
let sandbox: Sandbox;
let base: string;

before(async () => {
  skill = await startRawSkill();
  const config = parseSandboxConfig({
    skills: [
      {
        skillId: 'stories',
        skillEndpoint: skill.url,
        skillSecret: skill.secret,
        createOrderUrl: 'http://127.0.0.1:9/create',
        deliverUrl: 'http://127.0.0.1:9/deliver',
        skillPublicKey: SKILL_PUBLIC,
        invocationName: '睡前故事',
        utterances: [{ intent: 'tell', samples: ['讲第{number}个故事', '讲个故事', '讲故事'], slots: { number: 'number' } }],
      },
    ],
    platformPrivateKey: platformKeys().privateKeyPem,
  });
  assert.deepEqual(config.warnings, []);
  sandbox = trust(await Sandbox.start({ config, processingMs: 0 }));
  base = sandbox.url;
});

after(async () => {
  await sandbox.close();
  await skill.close();
});

const say = async (text: string, deviceId: string, mode: 'screen' | 'screenless' = 'screen') => {
  const r = await api(base).say({ text, deviceId, userId: 'u-raw', mode });
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  return r;
};

test('launch, typed slot, elicited slot across turns, 退出: one session, real requests', async () => {
  const dev = 'raw-dev-1';
  const from = skill.received.length;

  const launched = await say('打开睡前故事', dev);
  assert.equal(launched.matched, true);
  assert.equal(launched.requestType, 'LaunchRequest');
  assert.equal(launched.speech, '欢迎来到睡前故事，你想听第几个故事？');
  assert.deepEqual(launched.answer.outputSpeech, { type: 'PlainText', text: launched.speech });
  assert.equal(launched.shouldEndSession, false, 'the skill kept the session');
  const sessionId = launched.sessionId;
  assert.equal(typeof sessionId, 'string');
  const launch = skill.received[from];
  assert.equal(launch.request.type, 'LaunchRequest');
  assert.equal(launch.request.queryText, '打开睡前故事');
  assert.deepEqual(launch.session, { new: true, sessionId });
  assert.equal(launch.context.System.application.applicationId, 'stories');
  assert.deepEqual(launch.context.System.device, {
    deviceId: dev,
    supportedInterfaces: { AudioPlayer: { Play: true, Stop: true, ClearQueue: true }, 'Sandbox.Screen': {} },
  });
  assert.deepEqual(launch.context.System.user, { userId: 'u-raw' });

  const told = await say('讲第三十五个故事', dev);
  assert.equal(told.requestType, 'IntentRequest');
  assert.equal(told.sessionId, sessionId, 'the same session');
  assert.equal(told.speech, '从前有座山，这是第35个故事。还想听吗？');
  assert.equal(told.answer.directives[0].type, 'AudioPlayer.Play');
  assert.equal(told.answer.directives[0].playlist[0].stream.token, 'story-35');
  const intent = skill.received[from + 1];
  assert.deepEqual(intent.session, { new: false, sessionId });
  assert.equal(intent.request.queryText, '讲第三十五个故事');
  assert.equal(intent.request.dialogState, 'STARTED');
  assert.deepEqual(intent.request.intent, {
    name: 'tell',
    confirmationStatus: 'NONE',
    slots: { number: { name: 'number', confirmationStatus: 'NONE', values: [{ value: { type: 'text', value: '35', origin: '三十五' } }] } },
  });

  const asked = await say('讲个故事', dev);
  assert.equal(asked.speech, '你想听第几个故事？');
  assert.equal(asked.answer.directives[0].type, 'Dialog.ElicitSlot');
  assert.equal(asked.shouldEndSession, false);
  const session = (await api(base).sessions()).find((s) => s.deviceId === dev);
  assert.equal(session.elicit.slot, 'number');
  assert.equal(session.elicit.intent.name, 'tell');

  const filled = await say('第七个', dev);
  assert.equal(filled.requestType, 'IntentRequest');
  assert.equal(filled.speech, '从前有座山，这是第7个故事。还想听吗？');
  const elicited = skill.received[from + 3];
  assert.deepEqual(elicited.session, { new: false, sessionId });
  assert.equal(elicited.request.dialogState, 'IN_PROGRESS');
  assert.equal(elicited.request.queryText, '第七个');
  assert.deepEqual(elicited.request.intent.slots.number.values, [{ value: { type: 'text', value: '7', origin: '第七个' } }]);

  const bye = await say('退出', dev);
  assert.equal(bye.requestType, 'SessionEndedRequest');
  assert.equal(bye.speech, '晚安，再见');
  assert.equal(bye.shouldEndSession, true);
  const ended = skill.received[from + 4];
  assert.deepEqual(ended.session, { new: false, sessionId });
  assert.equal(ended.request.reason, 'USER_INITIATED');
  assert.equal(ended.request.error, undefined);
  assert.equal(
    (await api(base).sessions()).some((s) => s.deviceId === dev),
    false,
    'the session is gone',
  );

  // After the session: a new one; 退出 outside a session reaches no skill.
  const again = await say('讲第一个故事', dev);
  assert.notEqual(again.sessionId, sessionId);
  assert.equal(skill.received[from + 5].session.new, true);
  assert.equal(skill.received[from + 5].request.intent.slots.number.values[0].value.value, '1');
  assert.equal(again.shouldEndSession, false);
  await say('再见', dev);
  const none = await say('退出', dev);
  assert.equal(none.matched, false);
  assert.equal(skill.received.length, from + 7);

  for (const env of skill.received.slice(from)) assert.equal(checkSkillRequest(env).ok, true, JSON.stringify(checkSkillRequest(env)));
  assert.deepEqual(skill.violations, [], 'the hand-written skill found nothing off-protocol');
  const calls = (await api(base).calls()).filter((c) => c.kind === 'skill');
  assert.ok(calls.length >= 7 && calls.every((c) => c.outcome === 'ok' && c.code === undefined));
});

test('sessions are per device; a screenless speaker has no Sandbox.Screen', async () => {
  const a = await say('打开睡前故事', 'raw-dev-a');
  const b = await say('打开睡前故事', 'raw-dev-b', 'screenless');
  assert.notEqual(a.sessionId, b.sessionId);
  assert.deepEqual(skill.received.at(-1).context.System.device.supportedInterfaces, { AudioPlayer: { Play: true, Stop: true, ClearQueue: true } });
  const b2 = await say('讲第二个故事', 'raw-dev-b', 'screenless');
  assert.equal(b2.sessionId, b.sessionId);
  const a2 = await say('讲第三个故事', 'raw-dev-a');
  assert.equal(a2.sessionId, a.sessionId);
  await say('退出', 'raw-dev-a');
  const b3 = await say('讲第四个故事', 'raw-dev-b', 'screenless');
  assert.equal(b3.sessionId, b.sessionId, 'device b still in its session');
  await say('退出', 'raw-dev-b', 'screenless');
  assert.deepEqual(skill.violations, []);
});

test('Display.ElementSelected from the control API: no session, token as given; a Charge opens a purchase', async () => {
  const dev = 'raw-dev-select';
  await say('讲第九个故事', dev);
  const n = skill.received.length;
  const r = await api(base).select({ deviceId: dev, token: 'story-10', userId: 'u-raw' });
  assert.equal(r.requestType, 'Display.ElementSelected');
  assert.equal(r.speech, '第10个故事需要购买');
  assert.match(r.purchaseId ?? '', /^P/);
  const env = skill.received[n];
  assert.equal(env.request.type, 'Display.ElementSelected');
  assert.equal(env.request.token, 'story-10');
  assert.equal(env.session, undefined, 'ElementSelected carries no session');
  const p = await api(base).purchase(r.purchaseId!);
  assert.equal(p.charge.payload.chargeInfo.name, '第10个故事');
  assert.equal(p.deviceId, dev);
  assert.equal((await control(base, 'POST', '/select', { deviceId: dev })).status, 400, 'token required');
  await until(() => skill.received.length === n + 1, 1000, 'no stray request');
  assert.deepEqual(skill.violations, []);
});

test('POST /intent: string slots become text slots, typed slots pass as given, a malformed slot is refused', async () => {
  const dev = 'raw-dev-intent';
  const n = skill.received.length;
  const r = await api(base).intent({ intent: 'tell', slots: { number: '12' }, query: '讲第十二个故事', deviceId: dev });
  assert.equal(r.speech, '从前有座山，这是第12个故事。还想听吗？');
  assert.deepEqual(skill.received[n].request.intent.slots.number.values, [{ value: { type: 'text', value: '12', origin: '12' } }]);
  assert.equal(skill.received[n].request.queryText, '讲第十二个故事');
  const typed: Slot = { name: 'number', confirmationStatus: 'NONE', values: [{ value: { type: 'text', value: '13', origin: '十三' } }] };
  const t = await api(base).intent({ intent: 'tell', slots: { number: typed }, deviceId: dev });
  assert.equal(t.sessionId, r.sessionId, 'the open session');
  assert.deepEqual(skill.received[n + 1].request.intent.slots.number, typed);
  const bad = await control(base, 'POST', '/intent', { intent: 'tell', slots: { number: { value: '13' } }, deviceId: dev });
  assert.equal(bad.status, 400);
  assert.equal(skill.received.length, n + 2, 'a refused intent reaches no skill');
  await say('退出', dev);
  assert.deepEqual(skill.violations, []);
});
