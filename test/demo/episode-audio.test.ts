/** The example skill's episode audio: a generated WAV clip of the length asked (default 30 s), served per episode. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CLIP_SECONDS, episodeWav } from '../../src/demo/example-skill/server.js';
import { startDemoStack } from '../../src/demo/stack.js';

test('episodeWav: a valid 8 kHz mono 16-bit WAV of the given length, not silence', () => {
  const w = episodeWav(2.5);
  assert.equal(w.toString('latin1', 0, 4), 'RIFF');
  assert.equal(w.toString('latin1', 8, 16), 'WAVEfmt ');
  assert.equal(w.readUInt32LE(24), 8000);
  assert.equal(w.readUInt32LE(40), 2.5 * 8000 * 2);
  assert.equal(w.length, 44 + 2.5 * 8000 * 2);
  let peak = 0;
  for (let i = 44; i < w.length; i += 2) peak = Math.max(peak, Math.abs(w.readInt16LE(i)));
  assert.ok(peak > 1000, 'audible');
  assert.equal(DEFAULT_CLIP_SECONDS, 30);
});

test('the demo serves each episode as a clip of the configured length', async () => {
  for (const [clipSeconds, bytes] of [
    [undefined, 44 + 30 * 16000],
    [1, 44 + 16000],
  ] as const) {
    const stack = await startDemoStack({ log: () => {}, ...(clipSeconds !== undefined ? { clipSeconds } : {}) });
    try {
      const said = await stack.client.say({ text: '我要听万古神帝第1集' });
      const play = said.answer?.directives?.find((d) => d.type === 'AudioPlayer.Play') as { playlist: Array<{ stream: { url: string } }> };
      const res = await fetch(play.playlist[0]!.stream.url, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 200);
      assert.equal((await res.arrayBuffer()).byteLength, bytes);
    } finally {
      await stack.close();
    }
  }
  await assert.rejects(startDemoStack({ log: () => {}, clipSeconds: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
});
