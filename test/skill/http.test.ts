import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:net';
import { formatAuthorization, hmacSignature, signHmac, TSK_RSA2 } from '../../src/protocol/index.js';
import { intentHandler, listen, requestHandler, SkillBuilder, type ListeningSkill, type Skill } from '../../src/skill/index.js';
import { intent, launch, post, postSigned, SECRET, SKILL_ID, STAMP, T0 } from '../support/skill.js';

let clock = T0;
const errors: unknown[] = [];

function makeSkill(): Skill {
  return new SkillBuilder({ skillSecret: SECRET, skillId: SKILL_ID, now: () => clock, maxBodyBytes: 8 * 1024, onError: (e) => errors.push(e) })
    .addRequestHandlers(
      requestHandler('LaunchRequest', (i) => i.responseBuilder.speak('欢迎收听有声书').keepSession()),
      intentHandler('crash', () => {
        throw new Error('database down');
      }),
    )
    .create();
}

describe('Skill over node:http (signed requests, every refusal)', () => {
  let server: ListeningSkill;
  let url: string;
  before(async () => {
    server = await listen(makeSkill(), { path: '/skill', bodyTimeoutMs: 300 });
    url = server.url;
  });
  after(() => server.close());

  it('a signed LaunchRequest → 200 JSON answer', async () => {
    clock = T0;
    const r = await postSigned(url, launch());
    assert.equal(r.status, 200, r.text);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    assert.deepEqual(r.json, { version: '1.0', response: { outputSpeech: { type: 'PlainText', text: '欢迎收听有声书' }, shouldEndSession: false } });
  });

  it('the signature covers the raw bytes: a re-serialised body (same JSON, other bytes) is refused', async () => {
    const env = launch();
    const signedBody = JSON.stringify(env);
    const sent = JSON.stringify(env, null, 1);
    const r = await post(url, sent, { authorization: signHmac(signedBody, SECRET, { now: T0 }) });
    assert.deepEqual([r.status, r.json?.error?.reason], [401, 'bad-signature']);
  });

  const refusals: Array<[string, () => { body: string; authorization?: string }, number, string]> = [
    [
      'wrong secret',
      () => ({ body: JSON.stringify(launch()), authorization: signHmac(JSON.stringify(launch()), 'other-secret', { now: T0 }) }),
      401,
      'bad-signature',
    ],
    ['no Authorization header', () => ({ body: JSON.stringify(launch()) }), 401, 'malformed-header'],
    [
      'TSK-RSA2 algorithm name',
      () => {
        const body = JSON.stringify(launch());
        return { body, authorization: formatAuthorization({ algorithm: TSK_RSA2, datetime: STAMP, signature: hmacSignature(body, STAMP, SECRET) }) };
      },
      401,
      'algorithm-mismatch',
    ],
    [
      "40-hex signature (the docs' example length)",
      () => {
        const body = JSON.stringify(launch());
        return { body, authorization: `TSK-HMAC-SHA256-BASIC Datetime=${STAMP}, Signature=${hmacSignature(body, STAMP, SECRET).slice(0, 40)}` };
      },
      401,
      'bad-signature',
    ],
    [
      'signed 3 min 1 s ago (stale)',
      () => ({ body: JSON.stringify(launch()), authorization: signHmac(JSON.stringify(launch()), SECRET, { now: T0 - 181_000 }) }),
      401,
      'stale',
    ],
    [
      'signed 3 min 1 s ahead (future)',
      () => ({ body: JSON.stringify(launch()), authorization: signHmac(JSON.stringify(launch()), SECRET, { now: T0 + 181_000 }) }),
      401,
      'future',
    ],
  ];
  for (const [name, make, status, reason] of refusals) {
    it(`${name} → ${status} ${reason}`, async () => {
      clock = T0;
      const { body, authorization } = make();
      const r = await post(url, body, authorization ? { authorization } : {});
      assert.equal(r.status, status, r.text);
      assert.deepEqual([r.json.error.code, r.json.error.reason], ['ERR_SIGNATURE', reason]);
    });
  }

  it('exactly 3 minutes old is still inside the window; uppercase hex is accepted', async () => {
    clock = T0 + 180_000;
    const body = JSON.stringify(launch());
    const sig = hmacSignature(body, STAMP, SECRET).toUpperCase();
    const r = await post(url, body, { authorization: `TSK-HMAC-SHA256-BASIC Datetime=${STAMP}, Signature=${sig}` });
    assert.equal(r.status, 200, r.text);
  });

  it('replay: the same requestId again inside the window → 401 replay; another requestId passes', async () => {
    clock = T0;
    const env = launch();
    assert.equal((await postSigned(url, env)).status, 200);
    const again = await postSigned(url, env);
    assert.deepEqual([again.status, again.json.error.reason], [401, 'replay']);
    const other = { ...env, request: { ...env.request, requestId: `${env.request.requestId}-b` } };
    assert.equal((await postSigned(url, other)).status, 200);
  });

  it('a refused request does not use up its requestId', async () => {
    clock = T0;
    const env = launch();
    const body = JSON.stringify(env);
    assert.equal((await post(url, body, { authorization: signHmac(body, 'wrong', { now: T0 }) })).status, 401);
    assert.equal((await postSigned(url, env)).status, 200);
  });

  it('malformed bodies → 400 ERR_SKILL_REQUEST (JSON, UTF-8, envelope, request type)', async () => {
    clock = T0;
    const noType = launch() as unknown as { request: Record<string, unknown> };
    delete noType.request.type;
    const cases: Array<[string | Buffer, RegExp]> = [
      ['{"version":"1.0",', /not valid UTF-8 JSON/],
      [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), /not valid UTF-8 JSON/],
      [JSON.stringify({ version: '1.0', request: launch().request }), /context\.System/],
      [JSON.stringify(noType), /request\.type/],
      ['[]', /object/],
    ];
    for (const [body, why] of cases) {
      const r = await post(url, body, { authorization: signHmac(body, SECRET, { now: T0 }) });
      assert.equal(r.status, 400, `${String(body)}: ${r.text}`);
      assert.equal(r.json.error.code, 'ERR_SKILL_REQUEST');
      assert.match(r.json.error.message, why);
    }
  });

  it('a request for another skill id → 403', async () => {
    clock = T0;
    const r = await postSigned(url, launch({ applicationId: 'someone-else' }));
    assert.deepEqual([r.status, r.json.error.code], [403, 'ERR_SKILL_WRONG_APPLICATION']);
  });

  it('a body over maxBodyBytes → 413 and the connection closes', async () => {
    const body = JSON.stringify({ ...launch(), padding: 'x'.repeat(9000) });
    const r = await post(url, body, { authorization: signHmac(body, SECRET, { now: T0 }) });
    assert.deepEqual([r.status, r.json.error.code, r.headers.connection], [413, 'ERR_SKILL_BODY_TOO_LARGE', 'close']);
  });

  it('a handler failure without an error handler → 500 with a short JSON error (no internal message); no handler → 500 ERR_SKILL_NO_HANDLER', async () => {
    clock = T0;
    const r = await postSigned(url, intent('crash'));
    assert.deepEqual([r.status, r.json.error.code], [500, 'ERR_INTERNAL']);
    assert.doesNotMatch(r.text, /database/);
    assert.ok(
      errors.some((e) => (e as Error).message === 'database down'),
      'onError saw the failure',
    );
    const n = await postSigned(url, intent('unknown'));
    assert.deepEqual([n.status, n.json.error.code], [500, 'ERR_SKILL_NO_HANDLER']);
  });

  it('adapter: other path → 404, GET → 405', async () => {
    const other = await post(url.replace('/skill', '/other'), '{}');
    assert.equal(other.status, 404);
    const get = await post(url, '', {}, 'GET');
    assert.deepEqual([get.status, get.headers.allow], [405, 'POST']);
  });

  it('adapter: a body that does not arrive within bodyTimeoutMs → 408', async () => {
    const { port } = server;
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write('POST /skill HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"version"');
      });
      let got = '';
      socket.on('data', (c) => (got += c.toString()));
      const guard = setTimeout(() => socket.destroy(), 3000);
      socket.on('close', () => (clearTimeout(guard), resolve(got)));
      socket.on('error', reject);
    });
    assert.match(text, /^HTTP\/1\.1 408/);
  });
});

describe('Skill.handle never throws', () => {
  it('odd inputs become JSON refusals', async () => {
    const skill = makeSkill();
    const odd: unknown[] = [
      undefined,
      null,
      {},
      { headers: null, rawBody: 5 },
      { headers: { authorization: ['a', 'b'] }, rawBody: '' },
      { headers: {}, rawBody: 'x'.repeat(9000) },
    ];
    for (const req of odd) {
      const r = await skill.handle(req as never);
      assert.ok([400, 401, 413].includes(r.status), `${JSON.stringify(req)?.slice(0, 40)} → ${r.status}`);
      assert.ok(JSON.parse(new TextDecoder().decode(r.body)).error.code);
    }
  });

  it('headers in any case; a string body is signed as its UTF-8 bytes', async () => {
    clock = T0;
    const skill = makeSkill();
    const body = JSON.stringify(launch());
    const r = await skill.handle({ headers: { Authorization: signHmac(body, SECRET, { now: T0 }) }, rawBody: body });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(r.body.length));
  });
});
