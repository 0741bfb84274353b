import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  getSlotNumber,
  intentHandler,
  isIntent,
  isRequestType,
  isScreenDevice,
  NoHandlerError,
  requestHandler,
  SkillApplicationError,
  SkillBuilder,
  SkillRequestError,
  SkillResponseError,
  supportsAudioPlayer,
  type HandlerInput,
  type RequestHandler,
} from '../../src/skill/index.js';
import { chargeResponse, elementSelected, intent, launch, SECRET, sessionEnded, SKILL_ID, slot, textValue } from '../support/skill.js';

const say = (text: string): RequestHandler => ({ canHandle: () => true, handle: (i) => i.responseBuilder.speak(text) });
const speechOf = (a: { response: { outputSpeech: { text: string } } }) => a.response.outputSpeech.text;

describe('Skill.invoke: dispatch', () => {
  it('the first handler whose canHandle is true wins; later ones are not asked', async () => {
    const asked: string[] = [];
    const h = (name: string, can: boolean): RequestHandler => ({
      canHandle: async () => (asked.push(name), can),
      handle: (i) => i.responseBuilder.speak(name),
    });
    const skill = new SkillBuilder({ skillSecret: SECRET }).addRequestHandlers(h('a', false), h('b', true), h('c', true)).create();
    assert.equal(speechOf(await skill.invoke(launch())), 'b');
    assert.deepEqual(asked, ['a', 'b']);
  });

  it('intentHandler / requestHandler route by intent name and request type', async () => {
    const skill = new SkillBuilder({ skillSecret: SECRET })
      .addRequestHandlers(
        requestHandler('LaunchRequest', (i) => i.responseBuilder.speak('欢迎').keepSession()),
        intentHandler(['next', 'previous'], (i) => i.responseBuilder.speak(`nav:${i.request.intent.name}`)),
        intentHandler('play', (i) => i.responseBuilder.speak(`第${getSlotNumber(i, 'index')}集`)),
        requestHandler('Connections.Response', (i) => i.responseBuilder.speak(`paid:${i.request.payload.partnerOrderId}`)),
        requestHandler('Display.ElementSelected', (i) => i.responseBuilder.speak(`selected:${i.request.token}`)),
        requestHandler('SessionEndedRequest', (i) => i.responseBuilder.speak('')),
      )
      .create();
    const launchAnswer = await skill.invoke(launch());
    assert.deepEqual([speechOf(launchAnswer), launchAnswer.response.shouldEndSession], ['欢迎', false]);
    assert.equal(speechOf(await skill.invoke(intent('previous'))), 'nav:previous');
    assert.equal(speechOf(await skill.invoke(intent('play', { index: slot('index', textValue('第三十五集')) }))), '第35集');
    assert.equal(speechOf(await skill.invoke(chargeResponse())), 'paid:P20261201001');
    assert.equal(speechOf(await skill.invoke(elementSelected('ep-9'))), 'selected:ep-9');
    assert.equal(speechOf(await skill.invoke(sessionEnded())), '');
  });

  it('handler input: envelope, request, session, user (userId, accessToken), device, isNewSession, a fresh builder each time', async () => {
    const seen: HandlerInput[] = [];
    const skill = new SkillBuilder({ skillSecret: SECRET })
      .addRequestHandlers({ canHandle: () => true, handle: (i) => (seen.push(i), i.responseBuilder.speak('ok')) })
      .create();
    const env = intent('play', {}, { accessToken: 'tok-1', newSession: false, screen: true });
    await skill.invoke(env);
    await skill.invoke(chargeResponse());
    const [a, b] = seen as [HandlerInput, HandlerInput];
    assert.equal(a.envelope, env);
    assert.equal(a.request, env.request);
    assert.deepEqual(a.session, { new: false, sessionId: 'session-1' });
    assert.equal(a.isNewSession, false);
    assert.deepEqual(a.user, { userId: 'user-1', accessToken: 'tok-1' });
    assert.equal(a.device.deviceId, 'speaker-1');
    assert.equal(a.applicationId, SKILL_ID);
    assert.equal(a.responseBuilder.requestType, 'IntentRequest');
    assert.notEqual(a.responseBuilder, b.responseBuilder);
    assert.equal(b.session, undefined, 'Connections.Response has no session');
    assert.equal(b.responseBuilder.requestType, 'Connections.Response');
  });

  it('predicates: isIntent, isRequestType, isScreenDevice (Sandbox.Screen), supportsAudioPlayer', async () => {
    const skill = new SkillBuilder({ skillSecret: SECRET })
      .addRequestHandlers({
        canHandle: () => true,
        handle: (i) =>
          i.responseBuilder.speak(
            [
              isIntent(i),
              isIntent(i, 'play'),
              isIntent(i, 'stop', 'play'),
              isIntent(i, 'buy'),
              isRequestType(i, 'LaunchRequest'),
              isScreenDevice(i),
              supportsAudioPlayer(i),
            ]
              .map(Number)
              .join(''),
          ),
      })
      .create();
    assert.equal(speechOf(await skill.invoke(intent('play', {}, { screen: true }))), '1110011');
    assert.equal(speechOf(await skill.invoke(launch())), '0000101');
    const noPlayer = launch();
    noPlayer.context.System.device.supportedInterfaces = {};
    assert.equal(speechOf(await skill.invoke(noPlayer)), '0000100');
  });

  it('no handler: NoHandlerError from invoke; an error handler answers instead, from a fresh builder', async () => {
    const bare = new SkillBuilder({ skillSecret: SECRET }).addRequestHandlers(intentHandler('play', (i) => i.responseBuilder.speak('x'))).create();
    await assert.rejects(
      bare.invoke(intent('stop')),
      (e: unknown) => e instanceof NoHandlerError && e.code === 'ERR_SKILL_NO_HANDLER' && /stop/.test(e.message),
    );

    const errors: unknown[] = [];
    const skill = new SkillBuilder({ skillSecret: SECRET, onError: (e) => errors.push(e) })
      .addRequestHandlers(
        intentHandler('half', (i) => {
          i.responseBuilder.speak('half-built').play({ token: 't', url: 'https://cdn.example/a.mp3', title: 'a' });
          throw new Error('boom');
        }),
      )
      .addErrorHandler((i, e) => i.responseBuilder.speak(`抱歉：${e instanceof NoHandlerError ? 'no-handler' : (e as Error).message}`))
      .create();
    const a = await skill.invoke(intent('half'));
    assert.deepEqual(a.response, { outputSpeech: { type: 'PlainText', text: '抱歉：boom' }, shouldEndSession: true }, 'nothing half-built leaks');
    assert.equal(speechOf(await skill.invoke(intent('other'))), '抱歉：no-handler');
    assert.equal(errors.length, 2);
  });

  it('error handlers: the first whose canHandle accepts the error; a failing error handler rethrows', async () => {
    const skill = new SkillBuilder({ skillSecret: SECRET })
      .addRequestHandlers(
        intentHandler('a', () => {
          throw new RangeError('r');
        }),
        intentHandler('b', () => {
          throw new TypeError('t');
        }),
      )
      .addErrorHandlers(
        { canHandle: (_i, e) => e instanceof RangeError, handle: (i) => i.responseBuilder.speak('range') },
        {
          canHandle: (_i, e) => e instanceof TypeError,
          handle: () => {
            throw new Error('second');
          },
        },
      )
      .create();
    assert.equal(speechOf(await skill.invoke(intent('a'))), 'range');
    await assert.rejects(skill.invoke(intent('b')), /second/);
  });

  it('a handler may return the envelope itself; an invalid one is refused with the platform code', async () => {
    const skill = new SkillBuilder({ skillSecret: SECRET })
      .addRequestHandlers(
        intentHandler('built', (i) => i.responseBuilder.speak('b').getResponse()),
        intentHandler('alexa', () => ({ version: '1.0', response: { outputSpeech: { type: 'PlainText', text: 'x' }, reprompt: {} } }) as never),
        intentHandler('noSpeech', (i) => i.responseBuilder),
      )
      .create();
    assert.equal(speechOf(await skill.invoke(intent('built'))), 'b');
    await assert.rejects(
      skill.invoke(intent('alexa')),
      (e: unknown) => e instanceof SkillResponseError && e.retCode === 200503 && e.path === 'response.reprompt',
    );
    await assert.rejects(skill.invoke(intent('noSpeech')), (e: unknown) => e instanceof SkillResponseError && e.retCode === 200501);
  });

  it('settings reach the builder: a LinkAccount card only with accountLinking', async () => {
    const link = requestHandler('LaunchRequest', (i) => i.responseBuilder.speak('请绑定账号').linkAccount());
    const without = new SkillBuilder({ skillSecret: SECRET }).addRequestHandlers(link).create();
    await assert.rejects(without.invoke(launch()), (e: unknown) => e instanceof SkillResponseError && e.retCode === 200502);
    const withLinking = new SkillBuilder({ skillSecret: SECRET, settings: { accountLinking: true } }).addRequestHandlers(link).create();
    assert.deepEqual((await withLinking.invoke(launch())).response.card, { type: 'LinkAccount' });
  });

  it('interceptors: request interceptors before dispatch (shared attributes), response interceptors see the answer', async () => {
    const log: string[] = [];
    const skill = new SkillBuilder({ skillSecret: SECRET })
      .addRequestInterceptors((i) => void (i.attributes.partnerUser = `p:${i.user.userId}`))
      .addRequestHandlers({ canHandle: () => true, handle: (i) => i.responseBuilder.speak(String(i.attributes.partnerUser)) })
      .addResponseInterceptors((_i, r) => void log.push(r.response.outputSpeech.text))
      .create();
    assert.equal(speechOf(await skill.invoke(launch())), 'p:user-1');
    assert.deepEqual(log, ['p:user-1']);
  });

  it('invoke checks the envelope (SkillRequestError with path) and the skill id (SkillApplicationError)', async () => {
    const skill = new SkillBuilder({ skillSecret: SECRET, skillId: SKILL_ID }).addRequestHandlers(say('x')).create();
    await assert.rejects(
      skill.invoke({ version: '1.0' }),
      (e: unknown) => e instanceof SkillRequestError && e.code === 'ERR_SKILL_REQUEST' && e.path === 'context.System',
    );
    const bad = launch();
    (bad.request as { type: string }).type = 'CanFulfillIntentRequest';
    await assert.rejects(skill.invoke(bad), (e: unknown) => e instanceof SkillRequestError && e.path === 'request.type');
    await assert.rejects(skill.invoke(launch({ applicationId: 'other-skill' })), SkillApplicationError);
  });

  it('create() needs a skillSecret', () => {
    assert.throws(() => new SkillBuilder({ skillSecret: '' }).create(), { code: 'ERR_INVALID_ARGUMENT' });
  });
});

describe('createScfHandler (SCF wrapper)', () => {
  it('answers the wrapped request in the wrapper; refusals too; never throws', async () => {
    const { createScfHandler } = await import('../../src/skill/index.js');
    const { signHmac } = await import('../../src/protocol/index.js');
    const { T0 } = await import('../support/skill.js');
    const skill = new SkillBuilder({ skillSecret: SECRET, now: () => T0 }).addRequestHandlers(say('你好')).create();
    const scf = createScfHandler(skill);
    const body = JSON.stringify(launch());
    const ok = await scf({ header: { Authorization: signHmac(body, SECRET, { now: T0 }) }, body });
    assert.deepEqual(ok.header, { 'Content-Type': 'application/json' });
    assert.equal(JSON.parse(ok.body).response.outputSpeech.text, '你好');
    assert.deepEqual(Object.keys(ok).sort(), ['body', 'header'], "exactly DingDang's wrapper fields");
    const bad = await scf({ header: { Authorization: signHmac(body, 'wrong', { now: T0 }) }, body });
    assert.equal(JSON.parse(bad.body).error.reason, 'bad-signature');
    const notString = await scf({ header: {}, body: { already: 'parsed' } });
    assert.equal(JSON.parse(notString.body).error.code, 'ERR_SKILL_REQUEST');
    assert.equal(JSON.parse((await scf(undefined as never)).body).error.code, 'ERR_SKILL_REQUEST');
  });
});
