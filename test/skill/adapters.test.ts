import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { signHmac } from '../../src/protocol/index.js';
import { requestHandler, SkillBuilder, type Skill } from '../../src/skill/index.js';
import { expressSkillRouter } from '../../src/skill/adapters/express.js';
import { fastifySkillPlugin } from '../../src/skill/adapters/fastify.js';
import { launch, post, postSigned, SECRET, SKILL_ID, T0 } from '../support/skill.js';

function makeSkill(): Skill {
  return new SkillBuilder({ skillSecret: SECRET, skillId: SKILL_ID, now: () => T0, maxBodyBytes: 4096 })
    .addRequestHandlers(requestHandler('LaunchRequest', (i) => i.responseBuilder.speak('欢迎收听有声书').keepSession()))
    .create();
}

function listenServer(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

const WELCOME = { version: '1.0', response: { outputSpeech: { type: 'PlainText', text: '欢迎收听有声书' }, shouldEndSession: false } };

/** The same checks through any adapter serving the skill at `${base}/skill`. */
function adapterSuite(name: string, start: (skill: Skill) => Promise<{ base: string; close: () => Promise<void> }>) {
  describe(name, () => {
    let base = '';
    let close: () => Promise<void> = async () => undefined;
    before(async () => {
      ({ base, close } = await start(makeSkill()));
    });
    after(() => close());

    it('a signed LaunchRequest with oddly spaced Chinese bytes → 200 and the answer (the raw bytes verify)', async () => {
      const body = JSON.stringify(launch(), null, 3).replace('"打开有声书"', '"\\u6253开有声书"');
      const r = await post(`${base}/skill`, body, { authorization: signHmac(body, SECRET, { now: T0 }) });
      assert.equal(r.status, 200, r.text);
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assert.deepEqual(r.json, WELCOME);
    });

    it('a text/plain content type works too', async () => {
      const body = JSON.stringify(launch());
      const r = await post(`${base}/skill`, body, { authorization: signHmac(body, SECRET, { now: T0 }), 'content-type': 'text/plain' });
      assert.deepEqual([r.status, r.json], [200, WELCOME]);
    });

    it('a changed byte is refused: 401 bad-signature', async () => {
      const env = launch();
      const r = await post(`${base}/skill`, JSON.stringify(env, null, 1), { authorization: signHmac(JSON.stringify(env), SECRET, { now: T0 }) });
      assert.deepEqual([r.status, r.json?.error?.reason], [401, 'bad-signature']);
    });

    it('the wrong secret is refused: 401', async () => {
      const r = await postSigned(`${base}/skill`, launch(), { secret: 'other-secret' });
      assert.deepEqual([r.status, r.json?.error?.code], [401, 'ERR_SIGNATURE']);
    });

    it('an oversized body → 413 ERR_SKILL_BODY_TOO_LARGE', async () => {
      const r = await postSigned(`${base}/skill`, JSON.stringify({ ...launch(), pad: '长'.repeat(3000) }));
      assert.deepEqual([r.status, r.json?.error?.code], [413, 'ERR_SKILL_BODY_TOO_LARGE']);
    });

    it("the app's other routes still parse JSON", async () => {
      const r = await post(`${base}/echo`, '{"a":1}', { 'content-type': 'application/json' });
      assert.deepEqual(r.json, { got: { a: 1 } });
    });
  });
}

adapterSuite('skill kit: express adapter', async (skill) => {
  const app = express();
  app.use(expressSkillRouter(skill, { path: '/skill' }));
  app.use(express.json());
  app.post('/echo', (req, res) => void res.json({ got: req.body }));
  const server = createServer(app);
  const base = await listenServer(server);
  return {
    base,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
});

adapterSuite('skill kit: fastify adapter', async (skill) => {
  const app = Fastify();
  await app.register(fastifySkillPlugin, { skill, path: '/skill' });
  app.post('/echo', async (req) => ({ got: req.body }));
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { base, close: () => app.close() };
});

describe('skill kit: express adapter misuse', () => {
  it('a global express.json() before the router → 500 ERR_RAW_BODY_UNAVAILABLE (never a check over re-serialised JSON)', async () => {
    const app = express();
    app.use(express.json());
    app.use(expressSkillRouter(makeSkill(), { path: '/skill' }));
    const server = createServer(app);
    const base = await listenServer(server);
    try {
      const r = await postSigned(`${base}/skill`, launch());
      assert.deepEqual([r.status, r.json?.error?.code], [500, 'ERR_RAW_BODY_UNAVAILABLE']);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
