/**
 * The device link's select call on the sandbox (docs/device-protocol.md §3.8,
 * `POST /device/v1/elements/selected`), every hop real: the example audiobook
 * skill and the sandbox on their own HTTP servers (127.0.0.1, port 0), the
 * device's own HTTP transport. The player reaches a `pay: true` item of the
 * skill's playlist → Display.ElementSelected → the Charge and the purchase
 * the platform opened → that purchase started, ordered, paid on the phone
 * page → the resume's AudioPlayer.Play begins at the bought item. Then the
 * refusals: 400, 401, 404, a failed skill call (200 with `error`), and
 * unsigned or altered replies refused by the transport.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHttpTransport, type FetchLike, type HttpTransport } from '../../src/device/transport/index.js';
import { PlatformError } from '../../src/device/errors.js';
import { loadExampleSkill } from '../../src/demo/stack.js';
import { SignatureError } from '../../src/protocol/errors.js';
import { verifyRsa2 } from '../../src/protocol/tsk-node.js';
import type { SelectElementRequest } from '../../src/protocol/device-link.js';
import type { SandboxClient } from '../../src/sandbox/client.js';
import { pressPage } from '../support/sandbox.js';
import { parseSandboxConfig } from '../../src/sandbox/config.js';
import { Sandbox } from '../../src/sandbox/sandbox.js';

const DEVICE = 'spk-select-1';
/** Configured, but never talked to a skill. */
const FRESH = 'spk-select-fresh';
const TOKEN = 'tok-select';

let sandbox: Sandbox;
let skill: Awaited<ReturnType<Awaited<ReturnType<typeof loadExampleSkill>>['startAudiobookSkill']>>;
let client: SandboxClient;
const transports: HttpTransport[] = [];

interface PlaylistItem {
  stream: { url?: string; token: string };
  pay?: boolean;
}
interface Directive {
  type: string;
  name?: string;
  playlist?: PlaylistItem[];
}

const signal = () => AbortSignal.timeout(10_000);

function transport(deviceId = DEVICE, extra: { deviceToken?: string; fetch?: FetchLike } = {}): HttpTransport {
  const t = createHttpTransport({
    platformUrl: sandbox.url,
    tskPublicKey: sandbox.tskPublicKey,
    deviceId,
    deviceToken: extra.deviceToken ?? TOKEN,
    requestTimeoutMs: 10_000,
    ...(extra.fetch ? { fetch: extra.fetch } : {}),
  });
  transports.push(t);
  return t;
}

/** A raw device-link request, to send what the transport never would. */
async function post(path: string, body: string, deviceId = DEVICE, token = TOKEN) {
  const res = await fetch(`${sandbox.url}/device/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-dingdang-device-id': deviceId, 'x-dingdang-device-token': token },
    body,
    signal: signal(),
  });
  const raw = await res.text();
  return { status: res.status, raw, json: JSON.parse(raw), authorization: res.headers.get('authorization') };
}

const skillCalls = async () => (await client.calls()).filter((c) => c.kind === 'skill');

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The playlist of the skill's answer to "我要听万古神帝" on DEVICE. */
async function playlist(): Promise<PlaylistItem[]> {
  const said = await client.say({ text: '我要听万古神帝', deviceId: DEVICE, mode: 'screen' });
  const play = (said.answer?.directives as Directive[] | undefined)?.find((d) => d.type === 'AudioPlayer.Play');
  assert.ok(play?.playlist, `an AudioPlayer.Play playlist in ${JSON.stringify(said.answer)}`);
  return play.playlist;
}

before(async () => {
  const { startAudiobookSkill } = await loadExampleSkill();
  skill = await startAudiobookSkill({ port: 0, log: () => {} });
  const { url: _url, ...record } = skill.record;
  const config = parseSandboxConfig({
    skills: [{ ...record, name: '有声书 (example)' }],
    devices: [
      { deviceId: DEVICE, deviceToken: TOKEN },
      { deviceId: FRESH, deviceToken: TOKEN },
    ],
  });
  sandbox = await Sandbox.start({ config, port: 0, processingMs: 50 });
  skill.configurePlatform({ tskPublicKey: sandbox.tskPublicKey, payBaseUrl: sandbox.url });
  client = sandbox.client();
});

after(async () => {
  for (const t of transports) t.close();
  await sandbox?.close();
  await skill?.close();
});

describe('POST /device/v1/elements/selected on the sandbox', () => {
  test('a pay:true item → Charge + purchaseId → started, ordered, paid → the resume plays from the bought item', { timeout: 30_000 }, async () => {
    const items = await playlist();
    assert.equal(items[0]!.pay, undefined, 'episode 1 is free');
    const locked = items.find((i) => i.pay === true);
    assert.ok(locked, `a locked item in ${JSON.stringify(items)}`);
    assert.equal(locked.stream.token, 'wgsd004', 'the first paid episode after the three free ones');

    const t = transport();
    const before = (await skillCalls()).length;
    const selected = await t.selectElement!({ token: locked.stream.token, mode: 'screen', cause: 'ended' }, signal());
    assert.equal(selected.token, 'wgsd004');
    assert.equal(selected.skillId, skill.record.skillId, 'the skill that last answered this device');
    assert.equal(selected.outputSpeech, '这是付费内容，需要购买才能播放哦');
    assert.equal(selected.error, undefined);
    const charge = (selected.directives as Directive[]).find((d) => d.type === 'Connections.SendRequest' && d.name === 'Charge');
    assert.ok(charge, `a Charge in ${JSON.stringify(selected.directives)}`);
    assert.ok(selected.purchaseId, 'the purchase the platform opened for the Charge');

    // Recorded like any turn: one skill call, Display.ElementSelected with the item's token.
    const calls = (await skillCalls()).slice(before);
    assert.equal(calls.length, 1);
    const sent = JSON.parse(calls[0]!.body) as { request: { type: string; token: string } };
    assert.equal(sent.request.type, 'Display.ElementSelected');
    assert.equal(sent.request.token, 'wgsd004');
    const purchase = await client.purchase(selected.purchaseId);
    assert.equal(purchase.deviceId, DEVICE, 'the purchase belongs to the device that asked');
    assert.equal(purchase.skillId, skill.record.skillId);

    // The existing purchase flow, with the known purchaseId.
    const started = await t.startPurchase(
      { purchaseId: selected.purchaseId, mode: 'screen', charge: charge as never, originalRequest: { token: selected.token } },
      signal(),
    );
    assert.equal(started.purchaseId, selected.purchaseId, 'idempotent with the known purchaseId');
    const placed = await t.placeOrder(selected.purchaseId, signal());
    assert.equal(placed.kind, 'order');
    if (placed.kind !== 'order') return;
    assert.equal(placed.order.totalAmt, 200);
    // The phone pays on the WeChat page the QR code opens (a real form POST).
    const paid = await pressPage(placed.order.payUrl, 'success');
    assert.equal(paid.status, 303);
    await until(async () => (await t.queryStatus(selected.purchaseId!, signal())).tradeStatus === 'SUCCESS', 10_000, 'SUCCESS');

    const resumed = await t.resume(selected.purchaseId, signal());
    assert.equal(resumed.error, undefined);
    assert.equal(resumed.outputSpeech, '购买成功，开始播放万古神帝第4集');
    const play = (resumed.directives as Directive[]).find((d) => d.type === 'AudioPlayer.Play');
    assert.ok(play?.playlist, `an AudioPlayer.Play in ${JSON.stringify(resumed.directives)}`);
    assert.equal(play.playlist[0]!.stream.token, 'wgsd004', 'the playlist begins at the bought item');
    assert.notEqual(play.playlist[0]!.pay, true);
    assert.match(play.playlist[0]!.stream.url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/audio\/wgsd004\.wav/);
    assert.equal(play.playlist[1]!.pay, true, 'the next episode is still locked');

    // Owned now: the same item selected again plays at once, no purchase.
    const again = await t.selectElement!({ token: 'wgsd004', mode: 'screen', cause: 'retry' }, signal());
    assert.equal(again.purchaseId, undefined);
    assert.equal((again.directives as Directive[])[0]!.type, 'AudioPlayer.Play');
    assert.equal((again.directives as Directive[])[0]!.playlist![0]!.stream.token, 'wgsd004');
  });

  test('the reply is signed over its exact bytes and carries the answer as documented', async () => {
    const r = await post('/elements/selected', JSON.stringify({ token: 'wgsd001', mode: 'screen', cause: 'tap', future: { field: 1 } }));
    assert.equal(r.status, 200, r.raw);
    assert.equal(verifyRsa2(r.raw, r.authorization, sandbox.tskPublicKey).ok, true);
    assert.deepEqual(Object.keys(r.json).sort(), ['directives', 'outputSpeech', 'shouldEndSession', 'skillId', 'token']);
    assert.equal(r.json.token, 'wgsd001');
    assert.equal(r.json.shouldEndSession, true);
    assert.equal(r.json.directives[0].type, 'AudioPlayer.Play', 'a free episode plays');
  });

  test('a malformed body is 400 BAD_REQUEST with a short message; nothing reaches the skill', async () => {
    const before = (await skillCalls()).length;
    const ok = { token: 'wgsd004', mode: 'screen', cause: 'ended' };
    for (const [body, message] of [
      ['not json', /not JSON/],
      ['[]', /JSON object/],
      [JSON.stringify({ ...ok, token: '' }), /token/],
      [JSON.stringify({ ...ok, token: 'x'.repeat(1025) }), /token/],
      [JSON.stringify({ ...ok, mode: 'tv' }), /mode/],
      [JSON.stringify({ ...ok, cause: 'shuffle' }), /cause/],
      [JSON.stringify({ ...ok, skillId: '' }), /skillId/],
    ] as const) {
      const r = await post('/elements/selected', body);
      assert.equal(r.status, 400, body);
      assert.equal(r.json.error.code, 'BAD_REQUEST', body);
      assert.match(r.json.error.message, message, body);
      assert.ok(r.json.error.message.length < 200);
    }
    await assert.rejects(
      transport().selectElement!({ ...ok, cause: 'bogus' } as unknown as SelectElementRequest, signal()),
      (e: unknown) => e instanceof PlatformError && e.status === 400 && e.platformCode === 'BAD_REQUEST',
    );
    assert.equal((await skillCalls()).length, before);
  });

  test('an unknown device or a wrong token is 401 UNAUTHORIZED', async () => {
    const req = { token: 'wgsd004', mode: 'screen', cause: 'ended' } as const;
    await assert.rejects(
      transport('spk-not-configured').selectElement!(req, signal()),
      (e: unknown) => e instanceof PlatformError && e.status === 401 && e.platformCode === 'UNAUTHORIZED',
    );
    await assert.rejects(
      transport(DEVICE, { deviceToken: 'wrong' }).selectElement!(req, signal()),
      (e: unknown) => e instanceof PlatformError && e.status === 401 && e.platformCode === 'UNAUTHORIZED',
    );
    const raw = await post('/elements/selected', JSON.stringify(req), '../x');
    assert.equal(raw.status, 401);
  });

  test('no skill to send it to is 404 NOT_FOUND; naming the skill works for a device no skill answered yet', async () => {
    const t = transport(FRESH);
    const before = (await skillCalls()).length;
    const req = { token: 'wgsd001', mode: 'screen', cause: 'start' } as const;
    await assert.rejects(t.selectElement!(req, signal()), (e: unknown) => e instanceof PlatformError && e.status === 404 && e.platformCode === 'NOT_FOUND');
    await assert.rejects(
      t.selectElement!({ ...req, skillId: 'noSuchSkill' }, signal()),
      (e: unknown) => e instanceof PlatformError && e.status === 404 && e.platformCode === 'NOT_FOUND',
    );
    assert.equal((await skillCalls()).length, before, 'no skill call for a 404');
    const named = await t.selectElement!({ ...req, skillId: skill.record.skillId }, signal());
    assert.equal(named.skillId, skill.record.skillId);
    assert.equal((named.directives as Directive[])[0]!.type, 'AudioPlayer.Play');
    // Now a skill has answered this device: it is the target without skillId.
    assert.equal((await t.selectElement!(req, signal())).skillId, skill.record.skillId);
  });

  test('a failed skill call is still 200, with the fallback line and the platform return code', async () => {
    await client.setFaults({ partner: { mode: 'fail', calls: ['skill'], count: 1 } });
    try {
      const r = await transport().selectElement!({ token: 'wgsd005', mode: 'screen', cause: 'next' }, signal());
      assert.ok(r.error, 'error carried');
      assert.equal(Number.isSafeInteger(r.error.code), true);
      assert.equal(r.outputSpeech, '抱歉，技能暂时无法回答，请稍后再试');
      assert.deepEqual(r.directives, []);
      assert.equal(r.purchaseId, undefined, 'no purchase without a usable answer');
    } finally {
      await client.clearFaults();
    }
  });

  test('an unsigned or altered reply is refused by the transport, its content never used', async () => {
    const req = { token: 'wgsd006', mode: 'screen', cause: 'ended' } as const;
    const tamper =
      (change: (body: string, headers: Headers) => string): FetchLike =>
      async (input, init) => {
        const res = await fetch(input, init);
        const headers = new Headers(res.headers);
        headers.delete('content-length');
        return new Response(change(await res.text(), headers), { status: res.status, headers });
      };
    const unsigned = transport(DEVICE, {
      fetch: tamper((body, headers) => {
        headers.delete('authorization');
        return body;
      }),
    });
    await assert.rejects(unsigned.selectElement!(req, signal()), (e: unknown) => e instanceof SignatureError && e.code === 'ERR_SIGNATURE');
    // The signature stays, the purchase it names does not.
    const altered = transport(DEVICE, { fetch: tamper((body) => body.replace(/"purchaseId":"[^"]+"/, '"purchaseId":"Pforged"')) });
    await assert.rejects(altered.selectElement!(req, signal()), (e: unknown) => e instanceof SignatureError && e.reason === 'bad-signature');
  });
});
