/**
 * The seed's three flows end to end, every hop real: the example audiobook
 * skill (partner kit, SQLite file) and the sandbox platform on their own HTTP
 * servers, the device companion with the HTTP + WebSocket transport (ws), the
 * person's actions through the sandbox's phone pages (HTML forms).
 *
 *   A  screen speaker: goods → order → QR → WeChat pay page → pushed result
 *   B  screenless speaker: goods pushed to the DingDang app → order & pay there → pushed result
 *   C  after payment: the platform re-runs the original intent → AudioPlayer.Play
 *
 * Each flow asserts: delivery happened exactly once (even with duplicated
 * notifications), the resumed answer is AudioPlayer.Play and its audio link works.
 *
 * All three run twice: with the example skill as a web service, and deployed
 * as a Tencent Cloud SCF function (`deployment: 'scf'`: the sandbox sends the
 * wrapped request to `/skill`, the kit's createScfHandler answers the wrapped
 * answer; every skill call of the flows checked to have gone that way).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNodeTransport, DeviceCompanion, type PurchaseResult } from '../../src/device/node.js';
import { SpeakerHost, type PlayInfo } from '../../src/demo/host.js';
import { platformSay } from '../../src/demo/speaker-server.js';
import { startDemoStack, type DemoStack } from '../../src/demo/stack.js';
import { deviceAuth, pageTokenOf } from '../support/sandbox.js';

/** The stack of the suite running now (the suites run one after the other). */
let stack: DemoStack;

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A person presses a button on one of the sandbox's phone pages (a real form POST). */
async function pressOnPhone(pageUrl: string, action: 'success' | 'fail' | 'cancel'): Promise<string> {
  const page = await fetch(pageUrl, { signal: AbortSignal.timeout(10_000) });
  const html = await page.text();
  assert.equal(page.status, 200);
  assert.match(html, /<form id="actions" method="post"/, 'the page offers the pay buttons');
  const post = await fetch(pageUrl, {
    method: 'POST',
    body: new URLSearchParams({ action, pageToken: pageTokenOf(html) }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(post.status, 303);
  return html;
}

interface Speaker {
  host: SpeakerHost;
  companion: DeviceCompanion;
  states: string[];
  speech: string[];
  plays: Array<PlayInfo & { resumed: boolean }>;
  pushes: number;
  stop(): void;
}

function speaker(deviceId: string, mode: 'screen' | 'screenless'): Speaker {
  const companion = new DeviceCompanion({
    transport: createNodeTransport({ platformUrl: stack.sandbox.url, tskPublicKey: stack.sandbox.tskPublicKey, deviceId, ...deviceAuth(stack.sandbox) }),
    mode,
    countdownMs: 0,
  });
  const host = new SpeakerHost(companion, (text) => platformSay(stack.client, text, deviceId, mode));
  const s: Speaker = { host, companion, states: [], speech: [], plays: [], pushes: 0, stop: () => host.stop() };
  companion.on('state', (e) => s.states.push(e.state));
  host.on('speak', (e) => s.speech.push(e.text));
  host.on('play', (p) => s.plays.push(p));
  return s;
}

/** Flow C's checks: AudioPlayer.Play for the bought episode, a working audio link, exactly one delivery. */
async function assertResumedAndDeliveredOnce(sp: Speaker, result: PurchaseResult, purchaseId: string, itemId: string) {
  assert.equal(result.outcome, 'done');
  assert.equal(result.paid, true, 'paid only from a verified SUCCESS');
  // The skill's real answer: an AudioPlayer.Play playlist from the bought episode on (DingDang's shape, no audioItem).
  const directives = result.resume?.directives as Array<{ type: string; playlist?: Array<{ stream: { url?: string; token: string }; pay?: boolean }> }>;
  const play = directives.find((d) => d.type === 'AudioPlayer.Play');
  assert.ok(play?.playlist, `an AudioPlayer.Play playlist in ${JSON.stringify(directives)}`);
  assert.equal(play.playlist[0]!.stream.token, itemId);
  assert.match(play.playlist[0]!.stream.url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/audio\//);
  assert.notEqual(play.playlist[0]!.pay, true);
  assert.ok(
    play.playlist.slice(1).some((i) => i.pay === true && !i.stream.url),
    'the next, unbought episodes are marked pay: true without a url',
  );
  assert.equal(result.resume?.outputSpeech, `购买成功，开始播放万古神帝第${Number(itemId.slice(4))}集`);
  await until(() => sp.plays.length > 0, 5000, 'the host to start playing');
  assert.equal(sp.plays[0]!.resumed, true);
  const audio = await fetch(sp.plays[0]!.url!, { signal: AbortSignal.timeout(5000) });
  assert.equal(audio.status, 200);
  assert.equal(audio.headers.get('content-type'), 'audio/wav');
  assert.equal((await audio.arrayBuffer()).byteLength > 1000, true);

  const purchase = await stack.client.purchase(purchaseId);
  const tradeNo = purchase.tradeNo!;
  await until(
    async () => (await stack.client.notifications()).some((n) => n.transactionId === purchase.transactionId && n.state === 'delivered'),
    10_000,
    'the delivery notification to be acknowledged',
  );
  await new Promise((r) => setTimeout(r, 300)); // duplicates have landed
  assert.equal(stack.deliveryCount(tradeNo), 1, `order ${tradeNo} delivered exactly once`);
  const order = await stack.client.order(purchase.transactionId!);
  assert.equal(order.tradeStatus, 'SUCCESS');
  return { purchase, tradeNo };
}

/** SCF: the record said so, the sandbox took it, and every skill call's answer came back in the wrapped form. */
async function assertEverySkillCallWrapped(): Promise<void> {
  assert.equal(stack.skill?.deployment, 'scf');
  assert.equal(stack.config.skills[0]!.deployment, 'scf');
  const calls = (await stack.client.calls()).filter((c) => c.kind === 'skill');
  assert.ok(calls.length >= 6, `skill calls were made (${calls.length})`);
  for (const c of calls) {
    assert.equal(c.outcome, 'ok', JSON.stringify(c));
    const wrapped = JSON.parse(String(c.response)) as { header?: Record<string, string>; body?: unknown };
    assert.equal(wrapped.header?.['Content-Type'], 'application/json', `a wrapped answer: ${String(c.response).slice(0, 200)}`);
    assert.equal(typeof wrapped.body, 'string');
    assert.equal(JSON.parse(wrapped.body as string).version, '1.0');
  }
}

for (const deployment of ['http', 'scf'] as const) {
  describe(`the example skill deployed as ${deployment === 'scf' ? 'an SCF function' : 'a web service'}`, () => {
    before(async () => {
      stack = await startDemoStack({ deployment, sandbox: { timeScale: 0.01, device: { repeatStatusMs: 2000 } } });
    });
    after(async () => {
      if (deployment === 'scf') await assertEverySkillCallWrapped();
      await stack?.close();
    });

    test(
      'flow A + C: screen speaker — goods, QR, WeChat pay page, pushed result, resume with AudioPlayer.Play; delivered once despite duplicates',
      { timeout: 30_000 },
      async () => {
        await stack.client.setFaults({ duplicateDelivery: 2, duplicatePush: 1 });
        const sp = speaker('e2e-screen', 'screen');
        try {
          const heard = await sp.host.hear('我要听万古神帝第35集');
          assert.deepEqual(heard, { handledBy: 'platform', purchase: true });
          const run = sp.host.purchase!;
          await until(() => sp.companion.state === 'goods', 10_000, 'goods');
          assert.match(sp.speech.join('|'), /这是付费内容，需要购买才能播放哦。万古神帝 第35集，2元。/, JSON.stringify(sp.speech));
          const view = sp.companion.view();
          assert.equal(view?.kind, 'goods');
          // "买" goes to the running purchase, not to the platform.
          assert.deepEqual(await sp.host.hear('买'), { handledBy: 'device', intent: 'buy' });
          await until(() => sp.companion.state === 'paying.awaitingScan', 10_000, 'the QR code');
          const pay = sp.companion.view();
          assert.equal(pay?.kind, 'pay');
          if (pay?.kind !== 'pay') return;
          assert.equal(pay.amountFen, 200);
          assert.match(pay.payUrl, new RegExp(`^${stack.sandbox.url}/pay/DD`));
          assert.equal(pay.qr.text, pay.payUrl, 'the QR code encodes the pay URL');
          // The phone scans the QR code and pays on the WeChat page.
          const html = await pressOnPhone(pay.payUrl, 'success');
          assert.match(html, /¥2\.00/);
          const result = await run;
          assert.ok(sp.states.includes('paying.confirming'), `PROCESSING was shown: ${sp.states.join(' → ')}`);
          assert.deepEqual(sp.states.slice(-2), ['resuming', 'done']);
          const { purchase } = await assertResumedAndDeliveredOnce(sp, result, result.purchaseId!, 'wgsd035');
          const calls = (await stack.client.calls()).filter((c) => c.kind === 'deliver' && c.body.includes(purchase.transactionId!));
          assert.ok(calls.length >= 3, `the platform sent duplicated notifications (${calls.length})`);
          // Owned now: the same request plays at once, no purchase.
          sp.plays.length = 0;
          assert.deepEqual(await sp.host.hear('我要听万古神帝第35集'), { handledBy: 'platform' });
          assert.equal(sp.plays.length, 1);
          assert.equal(sp.plays[0]!.resumed, false);
        } finally {
          sp.stop();
          await stack.client.clearFaults();
        }
      },
    );

    test(
      'flow B + C: screenless speaker — goods pushed to the DingDang app, ordered and paid there, resume with AudioPlayer.Play; delivered once',
      { timeout: 30_000 },
      async () => {
        const sp = speaker('e2e-screenless', 'screenless');
        try {
          // Another episode: the user of this sandbox already owns 35 after flow A.
          await sp.host.hear('播放万古神帝第36集');
          const run = sp.host.purchase!;
          assert.ok(run, 'a purchase started');
          await until(() => sp.companion.state === 'app.pushed', 10_000, 'the app prompt');
          assert.match(sp.speech.join('|'), /已将商品信息推送到叮当APP/);
          const purchaseId = sp.companion.context!.purchaseId!;
          // The user opens the DingDang app page, orders and pays.
          const html = await pressOnPhone(`${stack.sandbox.url}/app/${purchaseId}`, 'success');
          assert.match(html, /万古神帝 第36集/);
          const result = await run;
          assert.ok(sp.states.includes('app.ordered') || sp.states.includes('app.confirming'), `app states: ${sp.states.join(' → ')}`);
          assert.equal(result.outcome, 'done');
          const directives = result.resume!.directives as Array<{ type: string; playlist: Array<{ stream: { token: string } }> }>;
          assert.equal(directives[0]!.type, 'AudioPlayer.Play');
          assert.equal(directives[0]!.playlist[0]!.stream.token, 'wgsd036');
          assert.equal(result.resume!.outputSpeech, '购买成功，开始播放万古神帝第36集');
          const purchase = await stack.client.purchase(purchaseId);
          await until(() => stack.deliveryCount(purchase.tradeNo!) === 1, 10_000, 'the delivery');
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(stack.deliveryCount(purchase.tradeNo!), 1);
          assert.match(sp.speech.at(-1)!, /开始播放万古神帝第36集/);
        } finally {
          sp.stop();
        }
      },
    );

    test('flow C on its own: the resume is idempotent and re-runs the original intent, not a new purchase', { timeout: 30_000 }, async () => {
      const sp = speaker('e2e-resume', 'screen');
      try {
        await sp.host.hear('我要听万古神帝第37集');
        const run = sp.host.purchase!;
        await until(() => sp.companion.state === 'goods', 10_000, 'goods');
        sp.host.touch('buy');
        await until(() => sp.companion.state === 'paying.awaitingScan', 10_000, 'the QR code');
        const view = sp.companion.view();
        assert.equal(view?.kind, 'pay');
        if (view?.kind !== 'pay') return;
        const before = (await stack.client.calls()).filter((c) => c.kind === 'skill').length;
        await pressOnPhone(view.payUrl, 'success');
        const result = await run;
        const { purchase } = await assertResumedAndDeliveredOnce(sp, result, result.purchaseId!, 'wgsd037');
        // The platform re-ran the original intent as a Connections.Response Charge event.
        const skillCalls = (await stack.client.calls()).filter((c) => c.kind === 'skill').slice(before);
        const resumeCall = skillCalls.map((c) => JSON.parse(c.body)).find((b) => b.request.type === 'Connections.Response');
        assert.ok(resumeCall, 'a Connections.Response was sent to the skill');
        assert.equal(resumeCall.request.name, 'Charge');
        assert.equal(resumeCall.request.payload.partnerOrderId, purchase.tradeNo);
        assert.equal(resumeCall.request.payload.dingdangOrderId, purchase.transactionId);
        // A repeated resume returns the same answer and re-runs nothing.
        const again = await stack.client.resume(result.purchaseId!);
        assert.deepEqual(again.directives, result.resume!.directives);
        const after = (await stack.client.calls()).filter((c) => c.kind === 'skill').length;
        assert.equal(after, before + skillCalls.length, 'no new skill call for a repeated resume');
        assert.equal(stack.deliveryCount(purchase.tradeNo!), 1);
      } finally {
        sp.stop();
      }
    });
  });
}
