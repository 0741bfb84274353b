import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { checkSkillResponse, DingDangPayError, type SkillRequestType } from '../../src/protocol/index.js';
import {
  horizontialList,
  newsBody,
  newsBody1,
  playlistItem,
  ResponseBuilder,
  SKILL_RESPONSE_ERROR_CODES,
  SkillResponseError,
  textBody,
  type ResponseBuilderOptions,
} from '../../src/skill/index.js';

const rb = (requestType: SkillRequestType = 'IntentRequest', o: Omit<ResponseBuilderOptions, 'requestType'> = {}) => new ResponseBuilder({ requestType, ...o });

/** Assert `fn` throws a SkillResponseError with this platform code (and path, when given). */
function refused(fn: () => unknown, retCode: number, path?: string | RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SkillResponseError, `not a SkillResponseError: ${String(e)}`);
    assert.ok(e instanceof DingDangPayError);
    assert.equal(e.retCode, retCode, e.message);
    assert.equal(SKILL_RESPONSE_ERROR_CODES[e.code as keyof typeof SKILL_RESPONSE_ERROR_CODES], retCode, 'code and retCode agree');
    if (typeof path === 'string') assert.equal(e.path, path);
    else if (path) assert.match(e.path, path);
    return true;
  });
}

/** The answer passes the platform's own check (prose and, where asked, the schema's reading). */
function accepted(b: ResponseBuilder, requestType: SkillRequestType = 'IntentRequest', strict = false) {
  const answer = b.getResponse();
  const r = checkSkillResponse(answer, { requestType, skill: b.settings, strictSchema: strict });
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return answer;
}

const free = { token: 'ep-1', url: 'https://cdn.example/ep1.mp3', title: '第一集' };
const paid = { token: 'ep-2', title: '第二集', pay: true };

describe('ResponseBuilder: what it builds', () => {
  it('speak: PlainText speech, shouldEndSession written (default true)', () => {
    assert.deepEqual(accepted(rb().speak('你好')), { version: '1.0', response: { outputSpeech: { type: 'PlainText', text: '你好' }, shouldEndSession: true } });
    assert.equal(accepted(rb().speak(''), 'IntentRequest', true).response.outputSpeech.text, '', 'empty speech is allowed');
  });

  it('keepSession / reprompt → shouldEndSession false; reprompt appends its text once; endSession closes again', () => {
    assert.equal(rb().speak('好').keepSession().getResponse().response.shouldEndSession, false);
    const r = rb().speak('欢迎收听。').reprompt('你想听哪本书？').getResponse().response;
    assert.deepEqual([r.outputSpeech.text, r.shouldEndSession], ['欢迎收听。你想听哪本书？', false]);
    assert.equal(rb().speak('你想听哪本书？').reprompt('你想听哪本书？').getResponse().response.outputSpeech.text, '你想听哪本书？');
    assert.equal(rb().reprompt('听什么？').getResponse().response.outputSpeech.text, '听什么？');
    assert.equal(rb().speak('欢迎收听').reprompt('想听哪本？').getResponse().response.outputSpeech.text, '欢迎收听。想听哪本？');
    assert.equal(rb().speak('Hi').reprompt('which book?').getResponse().response.outputSpeech.text, 'Hi which book?');
    assert.equal(rb().speak('x').keepSession().endSession().getResponse().response.shouldEndSession, true);
  });

  it('play: AudioPlayer.Play playlist; a paid item has url "" and pay: true (prose and schema reading)', () => {
    const a = accepted(
      rb()
        .speak('')
        .play([free, { ...paid, subtitle: '付费', art: 'https://cdn.example/c.png' }]),
      'IntentRequest',
      true,
    );
    assert.deepEqual(a.response.directives, [
      {
        type: 'AudioPlayer.Play',
        playlist: [
          { stream: { url: free.url, token: 'ep-1' }, info: { title: '第一集' } },
          { stream: { url: '', token: 'ep-2' }, info: { title: '第二集', subtitle: '付费', art: { source: { url: 'https://cdn.example/c.png' } } }, pay: true },
        ],
      },
    ]);
  });

  it('play accepts built playlist items, and a second play replaces the first', () => {
    const item = playlistItem(free);
    const a = accepted(
      rb()
        .speak('x')
        .play(item)
        .play([item, playlistItem(paid)]),
    );
    assert.equal(a.response.directives?.length, 1);
    assert.equal((a.response.directives?.[0] as { playlist: unknown[] }).playlist.length, 2);
  });

  it('renderTemplate with each of the four templates', () => {
    const templates = [
      newsBody({ title: '三体', description: '刘慈欣', backgroundImage: 'https://cdn.example/bg.png', backgroundAudio: 'https://cdn.example/bg.mp3' }),
      newsBody1({ title: '三体' }),
      textBody({ title: '三体', description: '第一部' }),
      horizontialList([
        { token: 'a1', title: '三体', image: 'https://cdn.example/a1.png' },
        { token: 'a2', title: '球状闪电', description: '长篇' },
      ]),
    ];
    for (const t of templates) {
      const a = accepted(rb('LaunchRequest').speak('看').renderTemplate('tpl', t), 'LaunchRequest', true);
      assert.deepEqual(a.response.directives, [{ type: 'Display.RenderTemplate', token: 'tpl', template: t }]);
    }
    assert.equal(templates[3]!.type, 'HorizontialListTemplate', 'spelled as on the wire');
  });

  it('charge: Connections.SendRequest Charge, count defaults to 1 and totalFee to price × count', () => {
    const a = accepted(
      rb()
        .speak('购买')
        .charge({
          name: '第二集',
          userId: 'u-1',
          items: [
            { itemId: 'ep-2', itemName: '第二集', price: 300 },
            { itemId: 'ep-3', itemName: '第三集', price: 300, count: 2, totalFee: 600 },
          ],
        }),
    );
    assert.deepEqual(a.response.directives, [
      {
        type: 'Connections.SendRequest',
        name: 'Charge',
        payload: {
          chargeInfo: {
            name: '第二集',
            userId: 'u-1',
            items: [
              { itemId: 'ep-2', itemName: '第二集', price: 300, count: 1, totalFee: 300 },
              { itemId: 'ep-3', itemName: '第三集', price: 300, count: 2, totalFee: 600 },
            ],
          },
        },
      },
    ]);
    accepted(
      rb('Display.ElementSelected')
        .speak('购买')
        .charge({ name: 'x', items: [{ itemId: 'ep-2', itemName: 'x', price: 1 }] }),
      'Display.ElementSelected',
    );
  });

  it('linkAccount with account linking configured → card LinkAccount', () => {
    assert.deepEqual(
      accepted(
        rb('LaunchRequest', { settings: { accountLinking: true } })
          .speak('请在叮当app中绑定账号')
          .linkAccount(),
        'LaunchRequest',
      ).response.card,
      { type: 'LinkAccount' },
    );
  });

  it('elicitSlot keeps the session; outside an IntentRequest with updatedIntent', () => {
    const a = accepted(rb().speak('第几集？').elicitSlot('index'));
    assert.deepEqual([a.response.directives, a.response.shouldEndSession], [[{ type: 'Dialog.ElicitSlot', slotToElicit: 'index' }], false]);
    const updatedIntent = { name: 'play', confirmationStatus: 'NONE' as const, slots: {} };
    accepted(rb('LaunchRequest').speak('听哪本？').elicitSlot('album', updatedIntent), 'LaunchRequest');
    const filled = accepted(rb('LaunchRequest').speak('听哪本？').elicitSlot('album', { name: 'play' }), 'LaunchRequest');
    assert.deepEqual(filled.response.directives, [{ type: 'Dialog.ElicitSlot', slotToElicit: 'album', updatedIntent }], 'confirmationStatus and slots default');
  });

  it('openUri, playVideo, feedbackAttributes (device maker), several directives in call order', () => {
    const a = accepted(
      rb('IntentRequest', { settings: { deviceMaker: true } })
        .speak('好')
        .openUri('https://example.com/x')
        .playVideo([{ url: 'https://cdn.example/v.mp4', token: 'v1' }], 'REPLACE_ALL')
        .feedbackAttributes({ k: 'v' }),
    );
    assert.deepEqual(
      a.response.directives?.map((d) => d.type),
      ['URI.Open', 'VideoPlayer.Play'],
    );
    assert.deepEqual(a.feedbackAttributes, { k: 'v' });
  });

  it('getResponse returns a copy: later calls do not change an earlier answer', () => {
    const b = rb().speak('一').play(free);
    const first = b.getResponse();
    b.speak('二').play({ ...free, title: '改' });
    assert.equal(first.response.outputSpeech.text, '一');
    assert.equal((first.response.directives?.[0] as { playlist: Array<{ info: { title: string } }> }).playlist[0]!.info.title, '第一集');
  });
});

describe('ResponseBuilder: what it refuses (platform return codes)', () => {
  it('no speech → 200501 at getResponse; speech not a string → 100501', () => {
    refused(() => rb().getResponse(), 200501, 'response.outputSpeech');
    refused(() => rb().speak(42 as unknown as string), 100501);
  });

  it('playlist items: non-http(s) url, no url, a paid item with a url, empty list, duplicate tokens, bad art', () => {
    refused(() => rb().play({ ...free, url: 'ftp://cdn.example/ep1.mp3' }), 100501, 'response.directives[0].playlist[0].stream.url');
    refused(() => rb().play({ token: 'ep-1', title: 'x' }), 200501, 'response.directives[0].playlist[0].stream.url');
    refused(() => rb().play([free, { ...paid, url: 'https://cdn.example/ep2.mp3' }]), 100501, 'response.directives[0].playlist[1].stream.url');
    refused(() => rb().play([]), 100501);
    refused(() => rb().play([free, { ...free, title: '又一遍' }]), 100501, 'response.directives[0].playlist[1].stream.token');
    refused(() => rb().play({ ...free, art: 'file:///etc/passwd' }), 100501, /info\.art\.source\.url$/);
    refused(() => rb().play({ ...free, title: '' }), 200501, /info\.title$/);
    refused(() => rb().play({ ...free, token: '' }), 200501, /stream\.token$/);
    refused(
      () =>
        rb()
          .speak('x')
          .play(free)
          .play({ ...free, url: 'javascript:alert(1)' }),
      100501,
      'response.directives[0].playlist[0].stream.url',
    );
  });

  it('templates: non-http(s) image, empty title, empty list', () => {
    refused(() => newsBody({ title: 'x', backgroundImage: 'javascript:1' }), 100501, 'template.backgroundImage.source.url');
    refused(() => textBody({ title: '' }), 200501, 'template.textContent.title');
    refused(() => horizontialList([]), 100501, 'template.listItems');
    refused(() => horizontialList([{ token: '', title: 'x' }]), 200501, 'template.listItems[0].token');
    refused(() => rb().renderTemplate('', textBody({ title: 'x' })), 200501, 'response.directives[0].token');
  });

  it('answer to Connections.Response: no Dialog.* (100502); playing the bought item is fine', () => {
    refused(() => rb('Connections.Response').speak('x').elicitSlot('index'), 100502, 'response.directives[0].type');
    accepted(rb('Connections.Response').speak('购买成功，开始播放').play(free), 'Connections.Response');
  });

  it('answer to SessionEndedRequest: only Display.RenderTemplate (100502), the session must end (200502)', () => {
    const se = () => rb('SessionEndedRequest').speak('再见');
    refused(() => se().play(free), 100502, 'response.directives[0].type');
    refused(() => se().charge({ name: 'x', items: [{ itemId: 'i', itemName: 'x', price: 1 }] }), 100502);
    refused(() => se().openUri('https://example.com'), 100502);
    refused(() => se().elicitSlot('index'), 100502);
    refused(() => se().keepSession(), 200502, 'response.shouldEndSession');
    refused(() => se().reprompt('还听吗？'), 200502);
    accepted(se().renderTemplate('bye', textBody({ title: '再见' })), 'SessionEndedRequest');
  });

  it('card without settings.accountLinking → 200502; feedbackAttributes without deviceMaker → 200502, ≥ 1 KB → 100501', () => {
    refused(() => rb().speak('x').linkAccount(), 200502, 'response.card');
    refused(() => rb().feedbackAttributes({ a: 1 }), 200502, 'feedbackAttributes');
    refused(() => rb('IntentRequest', { settings: { deviceMaker: true } }).feedbackAttributes({ a: 'x'.repeat(1024) }), 100501);
  });

  it('charge: totalFee ≠ price × count, non-integer fen, missing fields, no items', () => {
    const item = { itemId: 'ep-2', itemName: '第二集', price: 300 };
    refused(() => rb().charge({ name: 'x', items: [{ ...item, count: 2, totalFee: 300 }] }), 100501, /items\[0\]/);
    refused(() => rb().charge({ name: 'x', items: [{ ...item, price: 2.5 }] }), 100501, /items\[0\]\.price$/);
    refused(() => rb().charge({ name: 'x', items: [{ ...item, itemId: undefined as unknown as string }] }), 200501, /items\[0\]\.itemId$/);
    refused(() => rb().charge({ name: '', items: [item] }), 100501, /chargeInfo\.name$/);
    refused(() => rb().charge({ name: 'x', items: [] }), 100501, /chargeInfo\.items$/);
  });

  it('elicitSlot: outside an IntentRequest without updatedIntent → 200501; openUri / playVideo: non-http(s) → 100501', () => {
    refused(() => rb('LaunchRequest').elicitSlot('album'), 200501, 'response.directives[0].updatedIntent');
    refused(() => rb().elicitSlot(''), 200501);
    refused(() => rb().openUri('tel:10086'), 100501, 'response.directives[0].url');
    refused(() => rb().playVideo([{ url: 'rtsp://x/v', token: 'v' }]), 100501);
    refused(() => rb().playVideo([{ url: 'https://x/v', token: 'v' }], 'SHUFFLE' as never), 100501);
  });
});
