/**
 * A skill deployed as a Tencent Cloud SCF function (`deployment: "scf"`,
 * SKILL-PROTOCOL §1): the sandbox POSTs the wrapped request to a local SCF
 * stand-in and reads the wrapped answer. A skill on the kit's
 * `createScfHandler` works end to end through /sandbox/v1/say; a misbehaving
 * stand-in provokes 100403 (timeout), 100405 (abnormal answer) and 100406
 * (malformed wrapper), each visible in the /say reply and the call log; an
 * answer that unwraps well but breaks the protocol still gets the usual check.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';
import { SKILL_FALLBACK_SPEECH } from '../../src/sandbox/skill-router.js';
import { unwrapScfAnswer } from '../../src/sandbox/skill.js';
import { SandboxConfigError } from '../../src/sandbox/errors.js';
import { createScfHandler, intentHandler, requestHandler, SkillBuilder, type ScfEvent } from '../../src/skill/index.js';
import { api, platformKeys, SKILL_ID, SKILL_SECRET, skillInput, trust } from '../support/sandbox.js';

type Mode = 'ok' | 'slow' | 'notJsonBody' | 'bodyObject' | 'doubleEscaped' | 'notObject' | 'wrongSecret' | 'http500' | 'invalidAnswer';

const skill = new SkillBuilder({ skillSecret: SKILL_SECRET, skillId: SKILL_ID })
  .addRequestHandlers(
    intentHandler('play', (i) => i.responseBuilder.speak('好的，开始播放')),
    requestHandler('SessionEndedRequest', (i) => i.responseBuilder),
  )
  .create();
const main = createScfHandler(skill);
const otherSecret = createScfHandler(new SkillBuilder({ skillSecret: 'other-secret', skillId: SKILL_ID }).create());

interface StandIn {
  url: string;
  /** Behaviour per deviceId (SessionEndedRequest ERROR is always answered well). */
  plan: Map<string, Mode>;
  events: ScfEvent[];
  close(): Promise<void>;
}

/** The SCF stand-in: the wrapped JSON in, the function's wrapped answer (or a broken one) out. */
async function startStandIn(): Promise<StandIn> {
  const s: StandIn = { url: '', plan: new Map(), events: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ScfEvent;
        s.events.push(event);
        const env = JSON.parse(event.body as string);
        const ending = env.request.type === 'SessionEndedRequest' && env.request.reason === 'ERROR';
        const mode: Mode = ending ? 'ok' : (s.plan.get(env.context.System.device.deviceId) ?? 'ok');
        const answer = await (mode === 'wrongSecret' ? otherSecret : main)(event);
        let status = 200;
        let out: unknown = answer;
        if (mode === 'notJsonBody') out = { ...answer, body: '<html>502 Bad Gateway</html>' };
        if (mode === 'bodyObject') out = { ...answer, body: JSON.parse(answer.body) };
        if (mode === 'doubleEscaped') out = { ...answer, body: JSON.stringify(answer.body) };
        if (mode === 'notObject') out = [answer];
        if (mode === 'http500') status = 500;
        if (mode === 'invalidAnswer') out = { ...answer, body: JSON.stringify({ version: '1.0', response: { outputSpeech: '好的' } }) };
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(out));
        };
        if (mode === 'slow') setTimeout(send, 600).unref();
        else send();
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/scf`;
  s.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return s;
}

let standIn: StandIn;
let sandbox: Sandbox;
let base: string;

before(async () => {
  const keys = platformKeys();
  standIn = await startStandIn();
  const config = parseSandboxConfig({
    skills: [skillInput('http://127.0.0.1:9', { skillEndpoint: standIn.url, deployment: 'scf', responseTimeoutMs: 250 })],
    platformPrivateKey: keys.privateKeyPem,
  });
  sandbox = trust(await Sandbox.start({ config, processingMs: 0 }));
  base = sandbox.url;
});

after(async () => {
  await sandbox.close();
  await standIn.close();
});

const say = (deviceId: string) => api(base).say({ text: '我要听万古神帝第1集', deviceId, userId: `u-${deviceId}` });

test('config: deployment is "http" by default, "scf" when set, anything else refused', () => {
  const keys = platformKeys();
  const parse = (extra: Record<string, unknown>) =>
    parseSandboxConfig({ skills: [{ ...skillInput('http://127.0.0.1:9'), ...extra }], platformPrivateKey: keys.privateKeyPem });
  assert.equal(parse({}).skills[0]!.deployment, 'http');
  assert.equal(parse({ deployment: 'scf' }).skills[0]!.deployment, 'scf');
  assert.deepEqual(parse({ deployment: 'scf' }).warnings, []);
  for (const bad of ['SCF', 'lambda', 1, null]) {
    assert.throws(
      () => parse({ deployment: bad }),
      (e: unknown) => e instanceof SandboxConfigError && /skills\[0\]\.deployment/.test(e.message),
      String(bad),
    );
  }
});

test('a skill on createScfHandler answers through /say: the wrapped request in, the wrapped answer out', async () => {
  const r = await say('scf-ok');
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.deepEqual([r.matched, r.requestType, r.speech], [true, 'IntentRequest', '好的，开始播放']);
  const event = standIn.events.at(-1)!;
  assert.deepEqual(Object.keys(event).sort(), ['body', 'header']);
  assert.equal(typeof event.body, 'string', 'body is the envelope as a string');
  assert.match(String(event.header?.Authorization), /^TSK-HMAC-SHA256-BASIC Datetime=\d{8}T\d{6}Z, Signature=[0-9a-f]{64}$/);
  assert.equal(JSON.parse(event.body as string).context.System.device.deviceId, 'scf-ok');
  const call = (await api(base).calls()).find((c) => c.kind === 'skill' && c.deviceId === 'scf-ok');
  assert.equal(call?.outcome, 'ok');
  assert.equal(JSON.parse(call.body).request.type, 'IntentRequest', 'the call log keeps the envelope itself');
});

const faults: Array<[Mode, number, RegExp]> = [
  ['slow', 100403, /did not answer within 250 ms/],
  ['notJsonBody', 100405, /body is not JSON/],
  ['http500', 100405, /HTTP status 500/],
  // The kit refused the request: its error inside the wrapper is no skill answer.
  ['wrongSecret', 200503, /field "error" is not defined/],
  ['bodyObject', 100406, /body is a object, not a string/],
  ['doubleEscaped', 100406, /escaped twice/],
  ['notObject', 100406, /not a JSON object/],
  ['invalidAnswer', 100501, /outputSpeech/],
];

for (const [mode, code, reason] of faults) {
  test(`SCF stand-in ${mode} → ${code} in the /say reply and the call log`, async () => {
    const deviceId = `scf-${mode}`;
    standIn.plan.set(deviceId, mode);
    const r = await say(deviceId);
    assert.equal(r.error?.code, code, JSON.stringify(r.error));
    assert.match(r.error.reason, reason);
    assert.equal(r.speech, SKILL_FALLBACK_SPEECH);
    assert.equal(r.answer, undefined);
    const calls = (await api(base).calls()).filter((c) => c.kind === 'skill' && c.deviceId === deviceId);
    const failed = calls.find((c) => c.requestType === 'IntentRequest');
    assert.equal(failed?.code, code, JSON.stringify(calls));
    assert.equal(failed.outcome, 'error');
    assert.equal(failed.reason, r.error.reason);
  });
}

test('unwrapScfAnswer: the wrapped answer of the kit unwraps to its body', async () => {
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  assert.deepEqual(unwrapScfAnswer(enc({ header: { 'Content-Type': 'application/json' }, body: '{"version":"1.0"}' })), {
    ok: true,
    body: '{"version":"1.0"}',
  });
  assert.equal((unwrapScfAnswer(new Uint8Array([0xff, 0xfe])) as { code: number }).code, 100406);
  assert.equal((unwrapScfAnswer(enc({ header: {} })) as { code: number }).code, 100406);
  assert.equal((unwrapScfAnswer(enc(null)) as { code: number }).code, 100406);
});
