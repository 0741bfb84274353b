import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  randomNonce,
  RET_MSG_ALREADY_OWNED,
  signedJsonHeaders,
  signHmac,
  validate,
  validateJson,
  verifyRsa2,
  checkSkillResponse,
  compactTimestamp,
  type ChargeDirective,
  type MessageKind,
  type SkillRequestType,
} from '../../src/protocol/index.js';
import { platform, signedRequest } from '../support/partner-fixtures.js';

const root = new URL('../..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'ddp-example-skill-'));
const children = new Set<ChildProcess>();

after(async () => {
  for (const c of children) await stop(c);
  rmSync(tmp, { recursive: true, force: true });
});

interface Record_ {
  url: string;
  skillId: string;
  skillSecret: string;
  skillPublicKey: string;
  skillEndpoint: string;
  createOrderUrl: string;
  deliverUrl: string;
  refundNotifyUrl: string;
}

async function start(args: string[]): Promise<{ child: ChildProcess; record: Record_; stderr: () => string }> {
  const child = spawn(process.execPath, [join(root, 'bin/dingdang-pay.js'), 'example-skill', '--port', '0', ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  children.add(child);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no JSON line within 20 s; stderr: ${err}`)), 20_000);
    lines.once('line', (l) => {
      clearTimeout(t);
      resolve(l);
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`exited ${code}: ${err}`));
    });
  });
  return { child, record: JSON.parse(first) as Record_, stderr: () => err };
}

function stop(child: ChildProcess): Promise<void> {
  children.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A request envelope exactly as the DingDang platform sends it (SKILL-PROTOCOL §2). */
function envelope(skillId: string, userId: string, request: { type: string }, screen = false) {
  const withSession = ['LaunchRequest', 'IntentRequest', 'SessionEndedRequest'].includes(request.type);
  return {
    version: '1.0',
    ...(withSession ? { session: { new: true, sessionId: randomNonce() } } : {}),
    context: {
      System: {
        application: { applicationId: skillId },
        device: {
          deviceId: 'spk1',
          supportedInterfaces: { AudioPlayer: { Play: true, Stop: true, ClearQueue: true }, ...(screen ? { 'Sandbox.Screen': {} } : {}) },
        },
        user: { userId },
      },
    },
    request: { requestId: randomNonce(), timestamp: compactTimestamp(Date.now()), ...request },
  };
}

const text = (value: string, origin = value) => ({ value: { type: 'text', value, origin } });
const slot = (name: string, ...values: ReturnType<typeof text>[]) => ({ name, confirmationStatus: 'NONE', values });
const playIntent = (album: string | null = '万古神帝', index: string | null = '35', origin = index, name = 'play') => ({
  type: 'IntentRequest',
  queryText: `我要听${album ?? ''}第${origin ?? ''}集`,
  dialogState: 'STARTED',
  intent: {
    name,
    confirmationStatus: 'NONE',
    slots: {
      ...(album !== null ? { album: slot('album', text(album)) } : {}),
      ...(index !== null ? { index: slot('index', text(index, origin ?? index)) } : {}),
    },
  },
});

/** POST a signed request; every 200 answer must pass the platform's check for its request type. */
async function askSkill(r: Record_, userId: string, request: { type: string }, secret = r.skillSecret, screen = false) {
  // odd spacing on purpose: the signature covers these bytes
  const body = JSON.stringify(envelope(r.skillId, userId, request, screen), null, 1);
  const started = Date.now();
  const res = await fetch(r.skillEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json;charset=UTF-8', authorization: signHmac(body, secret) },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const json = await res.json();
  const ms = Date.now() - started;
  if (res.status === 200) {
    const c = checkSkillResponse(json, { requestType: request.type as SkillRequestType });
    assert.ok(c.ok, `the platform accepts the answer to ${request.type}: ${c.ok ? '' : c.reason}`);
  }
  return { status: res.status, json, ms };
}

/** Call a pay route as the platform does; verify the reply with the skill's public key. */
async function platformCall<K extends MessageKind>(r: Record_, url: string, message: object, kind: K) {
  const req = signedRequest(JSON.stringify(message));
  const res = await fetch(url, {
    method: 'POST',
    headers: req.headers as Record<string, string>,
    body: new Uint8Array(req.rawBody),
    signal: AbortSignal.timeout(10_000),
  });
  const raw = Buffer.from(await res.arrayBuffer());
  const v = verifyRsa2(raw, res.headers.get('authorization'), r.skillPublicKey);
  assert.ok(v.ok, `reply signed by the skill: ${v.ok ? '' : v.message}`);
  const parsed = validateJson(kind, raw);
  assert.ok(parsed.ok, `valid ${kind}`);
  return parsed.value;
}

function chargeOf(json: any): ChargeDirective {
  const d = (json.response.directives as any[]).find((x) => x.type === 'Connections.SendRequest');
  const v = validate('chargeDirective', d);
  assert.ok(v.ok, 'a valid Charge directive');
  return v.value;
}

async function buy(r: Record_, charge: ChargeDirective, transactionId: string) {
  const info = charge.payload.chargeInfo;
  const details = info.items.map((i) => ({ itemId: i.itemId, quantity: i.count, amount: i.totalFee }));
  const totalAmt = details.reduce((s, d) => s + d.amount, 0);
  const created = await platformCall(
    r,
    r.createOrderUrl,
    { skillId: r.skillId, userToken: info.userId, details, totalAmt, nonceStr: randomNonce() },
    'createOrderReply',
  );
  return { created, deliver: { skillId: r.skillId, userToken: info.userId!, transactionId, tradeNo: created.tradeNo!, totalAmt } };
}

describe('example audiobook skill (dingdang-pay example-skill)', () => {
  const db = join(tmp, 'audiobook.db');
  let secret = '';

  it('prints the sandbox skill record, sells episode 35, then plays it', async () => {
    const { child, record: r } = await start(['--db', db, '--tsk-public-key', platform.publicKeyBase64]);
    secret = r.skillSecret;
    try {
      assert.deepEqual(Object.keys(r).sort(), [
        'accountLinking',
        'accountLinkingUrl',
        'createOrderUrl',
        'deliverUrl',
        'invocationName',
        'refundNotifyUrl',
        'skillEndpoint',
        'skillId',
        'skillPublicKey',
        'skillSecret',
        'url',
        'utterances',
      ]);
      assert.match(r.skillPublicKey, /^[A-Za-z0-9+/]+={0,2}$/);
      assert.ok(r.skillEndpoint.startsWith(r.url));

      // A forged or stale HMAC is refused.
      assert.equal((await askSkill(r, 'u1', playIntent(), 'wrong-secret')).status, 401);

      // Not owned: Charge + paid speech + end of session.
      const first = await askSkill(r, 'u1', playIntent());
      assert.equal(first.status, 200);
      assert.deepEqual(first.json.response.outputSpeech, { type: 'PlainText', text: '这是付费内容，需要购买才能播放哦' });
      assert.equal(first.json.response.shouldEndSession, true);
      const charge = chargeOf(first.json);
      assert.equal(charge.payload.chargeInfo.items[0]!.price, 200);
      // The partner's own stable id for the platform user (not an OAuth token).
      assert.equal(charge.payload.chargeInfo.userId, 'dd:u1');

      // A free episode plays at once.
      const free = await askSkill(r, 'u1', playIntent('万古神帝', '2', '二'));
      assert.equal(free.json.response.directives[0].type, 'AudioPlayer.Play');
      const list = free.json.response.directives[0].playlist as Array<{ stream: { url: string; token: string }; pay?: boolean }>;
      assert.deepEqual(
        list.slice(0, 3).map((i) => [i.stream.token, i.pay === true, i.stream.url !== '']),
        [
          ['wgsd002', false, true],
          ['wgsd003', false, true],
          ['wgsd004', true, false],
        ],
      );

      // The platform creates the order (price from the skill's own list) and delivers, twice.
      const tampered = await platformCall(
        r,
        r.createOrderUrl,
        { skillId: r.skillId, userToken: 'dd:u1', details: [{ itemId: 'wgsd035', quantity: 1, amount: 1 }], totalAmt: 1, nonceStr: randomNonce() },
        'createOrderReply',
      );
      assert.deepEqual([tampered.retCode, tampered.retMsg], ['FAIL', 'price mismatch']);
      const { created, deliver } = await buy(r, charge, 'DD000000001');
      assert.equal(created.retCode, 'SUCCESS');
      for (let i = 0; i < 2; i++) {
        const ack = await platformCall(r, r.deliverUrl, { ...deliver, nonceStr: randomNonce() }, 'deliverNotifyReply');
        assert.equal(ack.retCode, 'SUCCESS');
      }

      // Flow C: the re-run after payment answers with the content, no Dialog.* directives.
      const resumed = await askSkill(r, 'u1', {
        type: 'Connections.Response',
        name: 'Charge',
        payload: { dingdangOrderId: 'DD000000001', partnerOrderId: created.tradeNo },
      });
      const dirs = resumed.json.response.directives as any[];
      assert.equal(dirs[0].type, 'AudioPlayer.Play');
      assert.ok(dirs.every((d) => !String(d.type).startsWith('Dialog.')));
      assert.equal(resumed.json.response.shouldEndSession, true);

      // Later plain requests play too, and the audio link works.
      const again = await askSkill(r, 'u1', playIntent());
      const play = again.json.response.directives[0];
      assert.equal(play.type, 'AudioPlayer.Play');
      const audio = await fetch(play.playlist[0].stream.url);
      assert.equal(audio.status, 200);
      assert.equal(audio.headers.get('content-type'), 'audio/wav');
      assert.equal((await fetch(play.playlist[0].stream.url.replace(/t=.*/, 't=forged'))).status, 403);

      // Buying again is answered distinctly; another user still gets the Charge.
      const owned = await platformCall(
        r,
        r.createOrderUrl,
        { skillId: r.skillId, userToken: 'dd:u1', details: [{ itemId: 'wgsd035', quantity: 1, amount: 200 }], totalAmt: 200, nonceStr: randomNonce() },
        'createOrderReply',
      );
      assert.deepEqual([owned.retCode, owned.retMsg], ['FAIL', RET_MSG_ALREADY_OWNED]);
      const other = await askSkill(r, 'u2', playIntent());
      assert.equal(other.json.response.directives[0].type, 'Connections.SendRequest');
    } finally {
      await stop(child);
    }
  });

  it('speaks the whole protocol: launch, elicit, typed slots, element selected, templates on screen, goodbye', async () => {
    const { child, record: r } = await start(['--tsk-public-key', platform.publicKeyBase64]);
    try {
      const launch = await askSkill(r, 'u5', { type: 'LaunchRequest', queryText: '打开有声书' } as { type: string }, r.skillSecret, true);
      assert.match(launch.json.response.outputSpeech.text, /欢迎收听有声书/);
      assert.equal(launch.json.response.shouldEndSession, false, 'the mic opens again');
      assert.equal(launch.json.response.directives[0].template.type, 'HorizontialListTemplate');
      const launchless = await askSkill(r, 'u5', { type: 'LaunchRequest', queryText: '打开有声书' } as { type: string });
      assert.equal(launchless.json.response.directives, undefined, 'no template for a screenless speaker');

      const noAlbum = await askSkill(r, 'u5', playIntent(null, '3'));
      assert.deepEqual(noAlbum.json.response.directives, [{ type: 'Dialog.ElicitSlot', slotToElicit: 'album' }]);
      assert.equal(noAlbum.json.response.shouldEndSession, false);
      const unknown = await askSkill(r, 'u5', playIntent('三体', '1'));
      assert.match(unknown.json.response.outputSpeech.text, /没有找到《三体》/);

      // The episode arrives as the user said it when the platform did not normalise it.
      const spoken = await askSkill(r, 'u5', playIntent('万古神帝', '第三十五集', '第三十五集'));
      assert.equal(chargeOf(spoken.json).payload.chargeInfo.items[0]!.itemId, 'wgsd035');

      // Screen: the playlist plus the album window, with owned / free / price.
      const screen = await askSkill(r, 'u5', playIntent('万古神帝', '1'), r.skillSecret, true);
      const [play, render] = screen.json.response.directives;
      assert.equal(play.type, 'AudioPlayer.Play');
      assert.equal(render.type, 'Display.RenderTemplate');
      assert.deepEqual(
        render.template.listItems.slice(0, 4).map((i: any) => i.textContent.description),
        ['免费', '免费', '免费', '2元'],
      );

      // The player reached a paid item: its token → the Charge for that episode; a free token plays.
      const selected = await askSkill(r, 'u5', { type: 'Display.ElementSelected', token: 'wgsd004' } as { type: string });
      assert.equal(chargeOf(selected.json).payload.chargeInfo.items[0]!.itemId, 'wgsd004');
      const freeSel = await askSkill(r, 'u5', { type: 'Display.ElementSelected', token: 'wgsd001' } as { type: string });
      assert.equal(freeSel.json.response.directives[0].playlist[0].stream.token, 'wgsd001');

      const buy = await askSkill(r, 'u5', playIntent('斗破苍穹', null, null, 'buy'));
      assert.equal(chargeOf(buy.json).payload.chargeInfo.items[0]!.itemId, 'dpcq006', 'the first episode not owned');

      const bye = await askSkill(r, 'u5', { type: 'SessionEndedRequest', reason: 'USER_INITIATED' } as { type: string });
      assert.match(bye.json.response.outputSpeech.text, /再见/);
      assert.notEqual(bye.json.response.shouldEndSession, false);
    } finally {
      await stop(child);
    }
  });

  it('answers Connections.Response within the 1000 ms budget even when the order query hangs', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const hanging = createServer(() => {});
    hanging.on('connection', (c) => sockets.add(c));
    await new Promise<void>((res) => hanging.listen(0, '127.0.0.1', res));
    const payBaseUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    const { child, record: r } = await start(['--tsk-public-key', platform.publicKeyBase64, '--pay-base-url', payBaseUrl]);
    try {
      const charge = chargeOf((await askSkill(r, 'u8', playIntent('万古神帝', '50'))).json);
      const { created } = await buy(r, charge, 'DD000000008');
      const answer = await askSkill(r, 'u8', {
        type: 'Connections.Response',
        name: 'Charge',
        payload: { dingdangOrderId: 'DD000000008', partnerOrderId: created.tradeNo },
      } as { type: string });
      assert.match(answer.json.response.outputSpeech.text, /确认中/);
      assert.ok(answer.ms < 1000, `answered in ${answer.ms} ms`);
    } finally {
      await stop(child);
      for (const c of sockets) c.destroy();
      await new Promise((res) => hanging.close(res));
    }
  });

  it('keeps entitlements in the SQLite file across a restart', async () => {
    const { child, record: r } = await start(['--db', db, '--tsk-public-key', platform.publicKeyBase64, `--skill-secret=${secret}`]);
    try {
      const again = await askSkill(r, 'u1', playIntent());
      assert.equal(again.json.response.directives[0].type, 'AudioPlayer.Play');
    } finally {
      await stop(child);
    }
  });

  it('without --tsk-public-key: pay routes answer a signed FAIL until the key arrives on stdin', async () => {
    const { child, record: r, stderr } = await start([]);
    try {
      const play = await askSkill(r, 'u3', playIntent());
      const charge = chargeOf(play.json);
      const before = await buy(r, charge, 'DD000000002');
      assert.deepEqual([before.created.retCode, before.created.retMsg], ['FAIL', 'platform key not configured']);
      child.stdin!.write(JSON.stringify({ tskPublicKey: platform.publicKeyPem }) + '\n');
      const deadline = Date.now() + 10_000;
      while (!/platform configured: true/.test(stderr()) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      const { created, deliver } = await buy(r, charge, 'DD000000002');
      assert.equal(created.retCode, 'SUCCESS');
      assert.equal((await platformCall(r, r.deliverUrl, { ...deliver, nonceStr: randomNonce() }, 'deliverNotifyReply')).retCode, 'SUCCESS');
      assert.equal((await askSkill(r, 'u3', playIntent())).json.response.directives[0].type, 'AudioPlayer.Play');
    } finally {
      await stop(child);
    }
  });

  it('a Charge response that beats the delivery: confirmed by an order query, delivered once, content played', async () => {
    // A tiny /paycgi/orderquery playing the platform: NOTPAY first, then SUCCESS.
    let status = 'NOTPAY';
    const queries: Record<string, unknown>[] = [];
    const paycgi = createServer((req, res) => {
      let raw = '';
      req.on('data', (d) => (raw += d));
      req.on('end', () => {
        const q = JSON.parse(raw) as Record<string, unknown>;
        queries.push(q);
        const body = JSON.stringify({
          retCode: 'SUCCESS',
          skillId: q.skillId,
          transactionId: 'DD000000009',
          tradeNo: q.tradeNo,
          totalAmt: 200,
          tradeStatus: status,
          tradeStatusDesc: status === 'SUCCESS' ? '支付成功' : '未支付',
        });
        res.writeHead(200, signedJsonHeaders(body, platform.privateKey)).end(body);
      });
    });
    await new Promise<void>((r) => paycgi.listen(0, '127.0.0.1', r));
    const payBaseUrl = `http://127.0.0.1:${(paycgi.address() as AddressInfo).port}`;
    const { child, record: r, stderr } = await start(['--tsk-public-key', platform.publicKeyBase64, '--pay-base-url', payBaseUrl]);
    try {
      const charge = chargeOf((await askSkill(r, 'u9', playIntent('万古神帝', '40'))).json);
      const { created } = await buy(r, charge, 'DD000000009');
      assert.equal(created.retCode, 'SUCCESS');
      const chargeResponse = { type: 'Connections.Response', name: 'Charge', payload: { dingdangOrderId: 'DD000000009', partnerOrderId: created.tradeNo } };
      const notYet = await askSkill(r, 'u9', chargeResponse);
      assert.match(notYet.json.response.outputSpeech.text, /确认中/);
      assert.equal(notYet.json.response.directives, undefined);
      status = 'SUCCESS';
      const paid = await askSkill(r, 'u9', chargeResponse);
      assert.equal(paid.json.response.directives[0].type, 'AudioPlayer.Play');
      assert.ok(queries.length >= 2 && queries.every((q) => q.tradeNo === created.tradeNo));
      // The platform's own notification arrives later: SUCCESS, no second delivery.
      const late = await platformCall(
        r,
        r.deliverUrl,
        { skillId: r.skillId, userToken: 'dd:u9', transactionId: 'DD000000009', tradeNo: created.tradeNo, totalAmt: 200, nonceStr: randomNonce() },
        'deliverNotifyReply',
      );
      assert.equal(late.retCode, 'SUCCESS');
      assert.equal(
        stderr()
          .split('\n')
          .filter((l) => l.includes(`deliver ${created.tradeNo}`)).length,
        1,
      );
    } finally {
      await stop(child);
      paycgi.closeAllConnections();
      await new Promise((res) => paycgi.close(res));
    }
  });

  it('usage and start-up errors exit cleanly with a stable code', async () => {
    const { execFile } = await import('node:child_process');
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(root, 'bin/dingdang-pay.js'), 'example-skill', ...args],
          { timeout: 20_000, env: { ...process.env, NODE_OPTIONS: '' } },
          (e, _o, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? null) : 0, stderr }),
        );
      });
    const port = await run(['--port', 'abc']);
    assert.equal(port.code, 2);
    assert.match(port.stderr, /--port must be/);
    const key = await run(['--tsk-public-key', 'not-a-key']);
    assert.equal(key.code, 2);
    const db = await run(['--db', join(tmp, 'no', 'such', 'dir', 'x.db')]);
    assert.equal(db.code, 1);
    assert.match(db.stderr, /ERR_STORE/);
    assert.doesNotMatch(db.stderr, /\n\s+at /, 'no stack trace');
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      const inUse = await run(['--port', String((busy.address() as AddressInfo).port)]);
      assert.equal(inUse.code, 1);
      assert.match(inUse.stderr, /in use/);
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });
});
