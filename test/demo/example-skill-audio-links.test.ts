/**
 * The example skill's paid audio links (our own extension, audio-links.ts):
 * signed for the user who owns the episode, with an expiry; refused when
 * expired, tampered, re-targeted at another user, or after the entitlement is
 * gone. Free episodes stay open. A real example-skill server on 127.0.0.1.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { compactTimestamp, randomNonce, signHmac } from '../../src/protocol/index.js';
import { startAudiobookSkill, type AudiobookServer } from '../../src/demo/example-skill/server.js';
import { checkAudioLink, DEFAULT_AUDIO_LINK_TTL_MS, paidAudioQuery } from '../../src/demo/example-skill/audio-links.js';
import { platform, signedRequest } from '../support/partner-fixtures.js';

let server: AudiobookServer;
const clock = { offset: 0 };
const TTL = 10 * 60_000;

before(async () => {
  server = await startAudiobookSkill({
    tskPublicKey: platform.publicKeyBase64,
    log: () => {},
    reconcile: false,
    audioLinkTtlMs: TTL,
    audioClock: () => Date.now() + clock.offset,
  });
});
after(() => server.close());

/** Ask the skill to play 《万古神帝》 episode `index` for the platform user `userId`; the first playlist item's URL (or the Charge). */
async function play(userId: string, index: number) {
  const r = server.record;
  const body = JSON.stringify({
    version: '1.0',
    session: { new: true, sessionId: randomNonce() },
    context: {
      System: { application: { applicationId: r.skillId }, device: { deviceId: 'spk1', supportedInterfaces: { AudioPlayer: {} } }, user: { userId } },
    },
    request: {
      requestId: randomNonce(),
      timestamp: compactTimestamp(Date.now()),
      type: 'IntentRequest',
      queryText: `我要听万古神帝第${index}集`,
      dialogState: 'STARTED',
      intent: {
        name: 'play',
        confirmationStatus: 'NONE',
        slots: {
          album: { name: 'album', confirmationStatus: 'NONE', values: [{ value: { type: 'text', value: '万古神帝', origin: '万古神帝' } }] },
          index: { name: 'index', confirmationStatus: 'NONE', values: [{ value: { type: 'text', value: String(index), origin: String(index) } }] },
        },
      },
    },
  });
  const res = await fetch(r.skillEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: signHmac(body, r.skillSecret) },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(res.status, 200);
  const json = (await res.json()) as { response: { directives: Array<{ type: string; playlist?: Array<{ stream: { url: string } }> }> } };
  const d = json.response.directives[0]!;
  return d.type === 'AudioPlayer.Play' ? d.playlist![0]!.stream.url : undefined;
}

/** The platform creates and delivers an order of episode 35 for `userToken`. */
async function buy35(userToken: string): Promise<string> {
  const r = server.record;
  const call = async (url: string, message: object) => {
    const req = signedRequest(JSON.stringify(message));
    const res = await fetch(url, { method: 'POST', headers: req.headers as Record<string, string>, body: new Uint8Array(req.rawBody) });
    return (await res.json()) as { retCode: string; tradeNo?: string };
  };
  const details = [{ itemId: 'wgsd035', quantity: 1, amount: 200 }];
  const created = await call(r.createOrderUrl, { skillId: r.skillId, userToken, details, totalAmt: 200, nonceStr: randomNonce() });
  assert.equal(created.retCode, 'SUCCESS');
  const tradeNo = created.tradeNo!;
  const ack = await call(r.deliverUrl, {
    skillId: r.skillId,
    userToken,
    transactionId: `DD${tradeNo.slice(0, 20)}`,
    tradeNo,
    totalAmt: 200,
    nonceStr: randomNonce(),
  });
  assert.equal(ack.retCode, 'SUCCESS');
  return tradeNo;
}

const get = async (url: string) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return {
    status: res.status,
    text: res.headers.get('content-type')?.startsWith('text/') ? await res.text() : `<${(await res.arrayBuffer()).byteLength} bytes>`,
  };
};
const withParam = (url: string, name: string, value: string) => {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.href;
};

describe('example skill: paid audio links', () => {
  let tradeA = '';
  let linkA = '';

  it('a paid episode plays through a link signed for its owner, with an expiry; a free one stays open', async () => {
    assert.equal(await play('ua', 35), undefined, 'not owned: the Charge, no link');
    tradeA = await buy35('dd:ua');
    linkA = (await play('ua', 35))!;
    const u = new URL(linkA);
    assert.equal(u.pathname, '/audio/wgsd035.wav');
    assert.equal(u.searchParams.get('u'), 'dd:ua');
    const [expires] = u.searchParams.get('t')!.split('.');
    const ttl = Number(expires) * 1000 - Date.now();
    assert.ok(ttl > TTL - 5_000 && ttl <= TTL, `expires in the configured ${TTL} ms (got ${ttl})`);
    assert.equal((await get(linkA)).status, 200);

    const free = (await play('ua', 2))!;
    assert.doesNotMatch(free, /[?&]u=/, 'free links name no user');
    assert.equal((await get(free)).status, 200);
  });

  it('a tampered link is refused: another user, expiry, episode or signature', async () => {
    await buy35('dd:ub'); // ub owns the episode too: only the binding refuses ua's link for ub
    const [expires, sig] = new URL(linkA).searchParams.get('t')!.split('.');
    for (const bad of [
      withParam(linkA, 'u', 'dd:ub'),
      withParam(linkA, 'u', 'dd:nobody'),
      withParam(linkA, 't', `${Number(expires) + 3600}.${sig}`),
      withParam(linkA, 't', `${expires}.${'0'.repeat(32)}`),
      withParam(linkA, 't', 'forged'),
      linkA.replace('wgsd035', 'wgsd036'),
      linkA.split('&u=')[0]!,
    ])
      assert.deepEqual(await get(bad), { status: 403, text: 'bad link' }, bad);
    // ub's own link works for ub
    const linkB = (await play('ub', 35))!;
    assert.notEqual(linkB, linkA);
    assert.equal((await get(linkB)).status, 200);
  });

  it('an expired link is refused; a fresh answer gives a fresh link', async () => {
    clock.offset = TTL + 1_000;
    try {
      assert.deepEqual(await get(linkA), { status: 403, text: 'link expired' });
      const fresh = (await play('ua', 35))!;
      assert.equal((await get(fresh)).status, 200);
    } finally {
      clock.offset = 0;
    }
  });

  it('a link stops working once its user no longer owns the episode (a refund revokes it)', async () => {
    assert.equal((await get(linkA)).status, 200);
    assert.equal(await server.store.revokeEntitlements(tradeA), 1);
    assert.deepEqual(await get(linkA), { status: 403, text: 'not owned' });
  });

  it('the check itself: a link from another secret, a huge user id, a missing token', () => {
    const q = (s: string) => new URLSearchParams(s.slice(1));
    const now = Date.now();
    const good = paidAudioQuery('s1', 'wgsd035', 'dd:u', now + DEFAULT_AUDIO_LINK_TTL_MS);
    assert.deepEqual(checkAudioLink('s1', 'wgsd035', false, q(good), now), { ok: true, user: 'dd:u' });
    assert.deepEqual(checkAudioLink('s2', 'wgsd035', false, q(good), now), { ok: false, reason: 'bad link' });
    assert.deepEqual(checkAudioLink('s1', 'wgsd035', false, q(paidAudioQuery('s1', 'wgsd035', 'x'.repeat(300), now + 60_000)), now), {
      ok: false,
      reason: 'bad link',
    });
    assert.deepEqual(checkAudioLink('s1', 'wgsd035', false, new URLSearchParams(), now), { ok: false, reason: 'bad link' });
    assert.deepEqual(checkAudioLink('s1', 'wgsd002', true, new URLSearchParams('t=nope'), now), { ok: false, reason: 'bad link' });
  });
});
