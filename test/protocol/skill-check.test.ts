/**
 * The platform's check of skill answers (SKILL-PROTOCOL §4–§5): each kind of
 * answer the platform refuses is refused with its return code; valid answers
 * of every directive and template pass.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkSkillRequest,
  checkSkillResponse,
  checkSkillResponseText,
  compactTimestamp,
  parseSkillTimestamp,
  type SkillCheckOptions,
  type SkillRequestType,
} from '../../src/protocol/index.js';

const speech = { type: 'PlainText', text: '好的' };
const answer = (response: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  version: '1.0',
  response: { outputSpeech: speech, ...response },
  ...extra,
});
const check = (v: unknown, requestType: SkillRequestType = 'IntentRequest', o: Partial<SkillCheckOptions> = {}) => checkSkillResponse(v, { requestType, ...o });
const codeOf = (v: unknown, requestType: SkillRequestType = 'IntentRequest', o: Partial<SkillCheckOptions> = {}) => {
  const r = check(v, requestType, o);
  return r.ok ? 'ok' : r.code;
};
const img = { contentDescription: '封面', source: { url: 'https://example.com/a.png' } };
const playlist = [
  { stream: { url: 'https://example.com/1.mp3', token: 'ep1' }, info: { title: '第1集', subtitle: '万古神帝', art: img } },
  { stream: { url: '', token: 'ep2' }, info: { title: '第2集' }, pay: true },
  { stream: { token: 'ep3' }, pay: true },
];
const charge = {
  type: 'Connections.SendRequest',
  name: 'Charge',
  payload: {
    chargeInfo: {
      name: '第35集',
      description: '永久收听',
      userId: 'u1',
      items: [{ itemId: 'wg-35', itemName: '第35集', price: 200, count: 1, totalFee: 200 }],
    },
  },
};
const intent = {
  name: 'play',
  confirmationStatus: 'NONE',
  slots: { album: { name: 'album', confirmationStatus: 'NONE', values: [{ value: { type: 'text', value: '万古神帝', origin: '万古神帝' } }] } },
};

describe('checkSkillResponse: valid answers', () => {
  const valid: Array<[string, unknown, SkillRequestType?, Partial<SkillCheckOptions>?]> = [
    ['speech only', answer({})],
    ['speech, keep session', answer({ shouldEndSession: false })],
    [
      'empty speech with a playlist',
      { version: '1.0', response: { outputSpeech: { type: 'PlainText', text: '' }, directives: [{ type: 'AudioPlayer.Play', playlist }] } },
    ],
    ['Charge', answer({ directives: [charge], shouldEndSession: true })],
    [
      'VideoPlayer.Play',
      answer({ directives: [{ type: 'VideoPlayer.Play', playBehavior: 'ENQUEUE', playlist: [{ stream: { url: 'http://x/v.mp4', token: 'v' } }] }] }),
    ],
    [
      'NewsBodyTemplate',
      answer({
        directives: [
          {
            type: 'Display.RenderTemplate',
            token: 't',
            template: {
              type: 'NewsBodyTemplate',
              textContent: { title: 'a', description: 'b' },
              backgroundImage: img,
              backgroundAudio: { source: { url: 'https://x/a.mp3' } },
            },
          },
        ],
      }),
    ],
    [
      'NewsBodyTemplate1',
      answer({ directives: [{ type: 'Display.RenderTemplate', token: 't', template: { type: 'NewsBodyTemplate1', textContent: { title: 'a' } } }] }),
    ],
    [
      'TextBodyTemplate',
      answer({
        directives: [{ type: 'Display.RenderTemplate', token: 't', template: { type: 'TextBodyTemplate', textContent: { title: 'a', description: 'b' } } }],
      }),
    ],
    [
      'HorizontialListTemplate',
      answer({
        directives: [
          {
            type: 'Display.RenderTemplate',
            token: 't',
            template: {
              type: 'HorizontialListTemplate',
              listItems: [
                { token: 'i1', textContent: { title: '第1集' }, image: img },
                { token: 'i2', textContent: { title: '第2集', description: '需购买' } },
              ],
            },
          },
        ],
      }),
    ],
    ['ElicitSlot in an intent', answer({ shouldEndSession: false, directives: [{ type: 'Dialog.ElicitSlot', slotToElicit: 'index', updatedIntent: intent }] })],
    ['ElicitSlot without updatedIntent in an intent', answer({ shouldEndSession: false, directives: [{ type: 'Dialog.ElicitSlot', slotToElicit: 'index' }] })],
    ['URI.Open', answer({ directives: [{ type: 'URI.Open', url: 'https://example.com' }] })],
    ['LinkAccount with account linking', answer({ card: { type: 'LinkAccount' } }), 'LaunchRequest', { skill: { accountLinking: true } }],
    ['feedbackAttributes from a device maker', answer({}, { feedbackAttributes: { k: 'v' } }), 'IntentRequest', { skill: { deviceMaker: true } }],
    [
      'RenderTemplate on SessionEndedRequest',
      answer({
        shouldEndSession: true,
        directives: [{ type: 'Display.RenderTemplate', token: 't', template: { type: 'TextBodyTemplate', textContent: { title: '再见' } } }],
      }),
      'SessionEndedRequest',
    ],
    [
      'Connections.Response with shouldEndSession false (the platform sets it true)',
      answer({ shouldEndSession: false, directives: [{ type: 'AudioPlayer.Play', playlist }] }),
      'Connections.Response',
    ],
    [
      'datetime and unit slots in updatedIntent',
      answer({
        shouldEndSession: false,
        directives: [
          {
            type: 'Dialog.ElicitSlot',
            slotToElicit: 'when',
            updatedIntent: {
              name: 'remind',
              confirmationStatus: 'NONE',
              slots: {
                when: {
                  name: 'when',
                  confirmationStatus: 'NONE',
                  values: [
                    {
                      value: {
                        type: 'datetime',
                        origin: '每周一',
                        value: {
                          type: 'REPEAT',
                          repeatType: 'WEEK',
                          amount: '1',
                          start: { date: '2018-01-01' },
                          end: { date: '2018-02-01', time: '08:00:00' },
                        },
                      },
                    },
                  ],
                },
                len: { name: 'len', confirmationStatus: 'CONFIRMED', values: [{ value: { type: 'unit', amount: '3', unit: '米', origin: '三米' } }] },
                at: { name: 'at', confirmationStatus: 'NONE', values: [{ value: { type: 'address', city: '深圳', origin: '深圳' } }] },
              },
            },
          },
        ],
      }),
      'LaunchRequest',
    ],
  ];
  for (const [name, v, rt, o] of valid) {
    it(name, () => {
      const r = check(v, rt, o);
      assert.equal(r.ok, true, r.ok ? '' : JSON.stringify(r.violations));
    });
  }
});

describe('checkSkillResponse: refusals with the platform return code', () => {
  const cases: Array<[string, number, unknown, SkillRequestType?, Partial<SkillCheckOptions>?]> = [
    ['not an object', 100501, 'hello'],
    ['bare-string outputSpeech (Alexa-ish shortcut)', 100501, { version: '1.0', response: { outputSpeech: '好的' } }],
    ['SSML speech type', 100501, { version: '1.0', response: { outputSpeech: { type: 'SSML', text: 'a' } } }],
    ['version 2.0', 100501, { version: '2.0', response: { outputSpeech: speech } }],
    ['shouldEndSession a string', 100501, answer({ shouldEndSession: 'false' })],
    ['playlist empty', 100501, answer({ directives: [{ type: 'AudioPlayer.Play', playlist: [] }] })],
    ['stream url not http', 100501, answer({ directives: [{ type: 'AudioPlayer.Play', playlist: [{ stream: { url: 'ftp://x/a.mp3', token: 'a' } }] }] })],
    [
      'paid item with a url',
      100501,
      answer({ directives: [{ type: 'AudioPlayer.Play', playlist: [{ stream: { url: 'https://x/a.mp3', token: 'a' }, pay: true }] }] }),
    ],
    [
      'duplicate tokens',
      100501,
      answer({
        directives: [{ type: 'AudioPlayer.Play', playlist: [{ stream: { url: 'https://x/a', token: 'a' } }, { stream: { url: 'https://x/b', token: 'a' } }] }],
      }),
    ],
    [
      'unknown template type',
      100501,
      answer({ directives: [{ type: 'Display.RenderTemplate', token: 't', template: { type: 'BodyTemplate1', textContent: { title: 'a' } } }] }),
    ],
    [
      'Charge with a float price',
      100501,
      answer({
        directives: [
          {
            ...charge,
            payload: { chargeInfo: { ...charge.payload.chargeInfo, items: [{ itemId: 'a', itemName: 'a', price: 1.5, count: 1, totalFee: 1.5 }] } },
          },
        ],
      }),
    ],
    ['not JSON', 100501, undefined],
    ['undefined directive type', 100502, answer({ directives: [{ type: 'AudioPlayer.Stop' }] })],
    ['Connections.SendRequest other than Charge', 100502, answer({ directives: [{ type: 'Connections.SendRequest', name: 'Buy', payload: {} }] })],
    ['Dialog.ElicitSlot after a Charge', 100502, answer({ directives: [{ type: 'Dialog.ElicitSlot', slotToElicit: 'x' }] }), 'Connections.Response'],
    ['AudioPlayer.Play on SessionEndedRequest', 100502, answer({ directives: [{ type: 'AudioPlayer.Play', playlist }] }), 'SessionEndedRequest'],
    ['two Charges', 100502, answer({ directives: [charge, charge] })],
    ['no outputSpeech', 200501, { version: '1.0', response: { shouldEndSession: true } }],
    ['no response', 200501, { version: '1.0' }],
    ['no version', 200501, { response: { outputSpeech: speech } }],
    ['outputSpeech without text', 200501, { version: '1.0', response: { outputSpeech: { type: 'PlainText' } } }],
    ['stream without token', 200501, answer({ directives: [{ type: 'AudioPlayer.Play', playlist: [{ stream: { url: 'https://x/a' } }] }] })],
    ['free item without url', 200501, answer({ directives: [{ type: 'AudioPlayer.Play', playlist: [{ stream: { token: 'a' } }] }] })],
    [
      'info without title',
      200501,
      answer({ directives: [{ type: 'AudioPlayer.Play', playlist: [{ stream: { url: 'https://x/a', token: 'a' }, info: { subtitle: 's' } }] }] }),
    ],
    ['directive without type', 200501, answer({ directives: [{ playlist }] })],
    [
      'RenderTemplate without token',
      200501,
      answer({ directives: [{ type: 'Display.RenderTemplate', template: { type: 'TextBodyTemplate', textContent: { title: 'a' } } }] }),
    ],
    ['Charge without items', 200501, answer({ directives: [{ type: 'Connections.SendRequest', name: 'Charge', payload: { chargeInfo: { name: 'a' } } }] })],
    [
      'ElicitSlot on LaunchRequest without updatedIntent',
      200501,
      answer({ shouldEndSession: false, directives: [{ type: 'Dialog.ElicitSlot', slotToElicit: 'x' }] }),
      'LaunchRequest',
    ],
    ['card without account linking', 200502, answer({ card: { type: 'LinkAccount' } })],
    ['feedbackAttributes from an ordinary skill', 200502, answer({}, { feedbackAttributes: { k: 'v' } })],
    ['shouldEndSession false on SessionEndedRequest', 200502, answer({ shouldEndSession: false }), 'SessionEndedRequest'],
    [
      "Alexa's audioItem",
      200503,
      answer({ directives: [{ type: 'AudioPlayer.Play', playBehavior: 'REPLACE_ALL', audioItem: { stream: { url: 'https://x', token: 'a' } } }] }),
    ],
    ['undefined top-level field', 200503, { ...answer({}), sessionAttributes: {} }],
    ['undefined response field', 200503, answer({ reprompt: { outputSpeech: speech } })],
    ['old paymentRequired flag', 200503, answer({ directives: [{ type: 'AudioPlayer.Play', playlist: [{ stream: { token: 'a' }, paymentRequired: true }] }] })],
    [
      'undefined field deep inside a template',
      200503,
      answer({
        directives: [{ type: 'Display.RenderTemplate', token: 't', template: { type: 'TextBodyTemplate', textContent: { title: 'a', subtitle: 'b' } } }],
      }),
    ],
    [
      'undefined field in a Charge item',
      200503,
      answer({
        directives: [
          { ...charge, payload: { chargeInfo: { ...charge.payload.chargeInfo, items: [{ ...charge.payload.chargeInfo.items[0], currency: 'CNY' }] } } },
        ],
      }),
    ],
  ];
  for (const [name, code, v, rt, o] of cases) {
    it(`${code}: ${name}`, () => {
      const r = v === undefined ? checkSkillResponseText('{"version":', { requestType: rt ?? 'IntentRequest' }) : check(v, rt, o);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.code, code, JSON.stringify(r.violations));
      assert.ok(r.reason.length > 0 && r.violations.every((x) => x.reason && x.path));
    });
  }

  it('reports every violation, the first decides the code', () => {
    const r = check({ version: '1.0', response: { directives: [{ type: 'Nope' }], extra: 1 } });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.violations.map((v) => v.code).sort(), [100502, 200501, 200503]);
    assert.ok(r.violations.some((v) => v.path === 'response.extra'));
  });

  it('strictSchema: shouldEndSession required, stream.url present on paid items, unique items', () => {
    const prose = answer({ directives: [{ type: 'AudioPlayer.Play', playlist: [{ stream: { token: 'a' }, pay: true }] }] });
    assert.equal(codeOf(prose), 'ok');
    assert.equal(codeOf(prose, 'IntentRequest', { strictSchema: true }), 200501);
    const withEnd = answer({ shouldEndSession: true, directives: [{ type: 'AudioPlayer.Play', playlist: [{ stream: { url: '', token: 'a' }, pay: true }] }] });
    assert.equal(codeOf(withEnd, 'IntentRequest', { strictSchema: true }), 'ok');
    assert.equal(codeOf(answer({ shouldEndSession: true, directives: [charge] }), 'IntentRequest', { strictSchema: true }), 'ok');
  });

  it('checkSkillResponseText: invalid UTF-8 is 100501; valid text passes', () => {
    const bad = checkSkillResponseText(new Uint8Array([0x7b, 0xff, 0x7d]), { requestType: 'IntentRequest' });
    assert.equal(bad.ok ? 'ok' : bad.code, 100501);
    const good = checkSkillResponseText(new TextEncoder().encode(JSON.stringify(answer({}))), { requestType: 'IntentRequest' });
    assert.equal(good.ok, true);
  });
});

describe('checkSkillRequest', () => {
  const env = (request: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    version: '1.0',
    session: { new: true, sessionId: 's1' },
    context: {
      System: { application: { applicationId: 'app' }, device: { deviceId: 'd', supportedInterfaces: { AudioPlayer: { Play: true } } }, user: { userId: 'u' } },
    },
    request: { requestId: 'r1', timestamp: '20170720T193559Z', ...request },
    ...extra,
  });
  it('accepts every request type in the real format (and unknown extra fields)', () => {
    for (const r of [
      { type: 'LaunchRequest', queryText: '打开有声书' },
      { type: 'IntentRequest', queryText: '我要听万古神帝', dialogState: 'STARTED', intent },
      { type: 'SessionEndedRequest', reason: 'ERROR', error: { type: 'INVALID_RESPONSE', message: 'x' } },
      { type: 'Connections.Response', name: 'Charge', payload: { dingdangOrderId: 'T1', partnerOrderId: 'P1' } },
      { type: 'Display.ElementSelected', token: 'ep4' },
    ]) {
      const c = checkSkillRequest(env(r, { futureField: 1 }));
      assert.equal(c.ok, true, JSON.stringify(c));
    }
  });
  it('refuses what a skill cannot rely on, naming the path', () => {
    const bad: Array<[unknown, string]> = [
      [[], ''],
      [{ ...env({ type: 'LaunchRequest' }), version: '2' }, 'version'],
      [env({ type: 'Unknown' }), 'request.type'],
      [
        env({ type: 'IntentRequest', intent: { name: 'play', slots: { album: { name: 'album', values: [{ value: 'x' }] } } } }),
        'request.intent.slots.album.values[0].value',
      ],
      [env({ type: 'IntentRequest', intent: { name: 'play', slots: [] } }), 'request.intent.slots'],
      [env({ type: 'SessionEndedRequest', reason: 'BORED' }), 'request.reason'],
      [env({ type: 'Display.ElementSelected' }), 'request.token'],
      [
        { ...env({ type: 'LaunchRequest' }), context: { System: { application: { applicationId: 'a' }, device: { deviceId: 'd' }, user: {} } } },
        'context.System.user.userId',
      ],
    ];
    for (const [v, path] of bad) {
      const c = checkSkillRequest(v);
      assert.equal(c.ok, false);
      if (!c.ok) assert.equal(c.path, path, c.reason);
    }
  });
});

describe('timestamps', () => {
  it('compact basic form, both ways', () => {
    const ms = Date.UTC(2017, 6, 20, 19, 35, 59);
    assert.equal(compactTimestamp(ms + 123), '20170720T193559Z');
    assert.equal(parseSkillTimestamp('20170720T193559Z'), ms);
    assert.equal(parseSkillTimestamp('2017-07-20T19:35:59Z'), ms);
    assert.ok(Number.isNaN(parseSkillTimestamp('yesterday')));
  });
});
