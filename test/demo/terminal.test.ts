/**
 * `dingdang-pay demo --mode screenless` through the real bin: the terminal is
 * the speaker. Lines typed on stdin are what the user says; the speaker's
 * words come back on stdout. The companion runs in that process with the ws
 * transport; the user pays on the DingDang app page the demo prints (a real
 * form POST), and the speaker resumes with the episode. End of input stops
 * everything cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pressPage } from '../support/sandbox.js';

const root = new URL('../..', import.meta.url).pathname;

/** `dingdang-pay demo --mode screenless` through the real bin; `waitFor` matches what it printed so far. */
function startTerminal() {
  const child = spawn(process.execPath, [join(root, 'bin/dingdang-pay.js'), 'demo', '--mode', 'screenless'], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', DINGDANG_NO_SPEECH: '1' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (re: RegExp, ms = 15_000): Promise<RegExpExecArray> => {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(out);
      if (m) return m;
      if (Date.now() > end || child.exitCode !== null) throw new Error(`no ${re} on stdout\nstdout: ${out}\nstderr: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, exited, waitFor, out: () => out, err: () => err };
}

test('screenless demo in the terminal: ask, pay in the DingDang app, hear the episode start', { timeout: 60_000 }, async () => {
  const { child, exited, waitFor, err: stderr } = startTerminal();
  try {
    await waitFor(/screenless speaker \(this terminal\)/);
    child.stdin.write('我要听万古神帝第35集\n');
    const app = await waitFor(/叮当APP \(phone\): (http:\/\/127\.0\.0\.1:\d+\/app\/\S+)/);
    await waitFor(/叮当：这是付费内容，需要购买才能播放哦。已将商品信息推送到叮当APP/);
    // A flow word goes to the running purchase: the speaker answers the status question.
    child.stdin.write('支付好了吗\n');
    // Answered after the check: "好的，我查一下。", then what the platform said.
    await waitFor(/你：支付好了吗\n叮当：好的，我查一下。\n叮当：[^\n]*(还没有|等待|未)/);
    // The user orders and pays on the DingDang app page (what the phone shows).
    const page = await fetch(app[1]!);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /万古神帝 第35集/);
    const post = await pressPage(app[1]!, 'success');
    assert.equal(post.status, 303);
    await waitFor(/叮当：支付成功，马上为你继续。/);
    await waitFor(/叮当：购买成功，开始播放万古神帝第35集/);
    // The resume's real AudioPlayer.Play: the bought episode first, the next ones still to buy.
    await waitFor(/▶ 正在播放：万古神帝 第35集 — 《万古神帝》有声书 {2}（第 1\/\d+ 首）\n {4}http:\/\/127\.0\.0\.1:\d+\/audio\/wgsd035\.wav/);
    await waitFor(/播放列表 \d+ 首，其中 \d+ 首需购买/);
    await waitFor(/purchase done \(paid\)/);
    // /next comes to episode 36, not bought: the platform asks the skill, which offers it; the user declines,
    // the player stops there and says why; /prev plays 35 again.
    child.stdin.write('/next\n');
    await waitFor(/🔒 万古神帝 第36集（第 2\/\d+ 首）需购买/);
    await waitFor(/🔒 万古神帝 第36集[^]*叮当：这是付费内容，需要购买才能播放哦。已将商品信息推送到叮当APP/);
    child.stdin.write('取消\n');
    await waitFor(/叮当：播放停在《万古神帝 第36集》，这一集需要购买。想听的时候说“继续播放”。/);
    await waitFor(/■ 停在 万古神帝 第36集/);
    child.stdin.write('/prev\n');
    await waitFor(/■ 停在 万古神帝 第36集[^]*▶ 正在播放：万古神帝 第35集/);
    // Owned now: asking again plays at once; /pay without a running purchase is refused politely.
    child.stdin.write('我要听万古神帝第35集\n');
    await waitFor(/你：我要听万古神帝第35集\n叮当：开始播放万古神帝第35集/);
    child.stdin.end();
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000).unref())]);
    assert.equal(code, 0, `exit ${code}\nstderr: ${stderr()}`);
    assert.match(stderr(), /stopping \(end of input\)/);
    assert.match(stderr(), /dingdang-pay demo: stopped/);
    assert.match(stderr(), /\[audiobook\] deliver \S+ \(attempt 1\): wgsd035/);
    assert.equal((stderr().match(/\[audiobook\] deliver /g) ?? []).length, 1, 'delivered exactly once');
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }
});

test('screenless demo: Ctrl-C (SIGINT) while waiting for the payment stops everything with exit 0', { timeout: 60_000 }, async () => {
  const { child, exited, waitFor, err: stderr } = startTerminal();
  try {
    await waitFor(/screenless speaker/, 20_000);
    child.stdin.write('我要听万古神帝第36集\n');
    await waitFor(/app\.pushed/);
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000).unref())]);
    assert.equal(code, 0, `exit ${code}\nstderr: ${stderr()}`);
    assert.match(stderr(), /stopping \(SIGINT\)/);
    assert.match(stderr(), /dingdang-pay demo: stopped/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test(
  'screenless demo in the terminal: the free episodes play one after another; at episode 4 the app offers it; paid, listening goes on from it',
  { timeout: 60_000 },
  async () => {
    const { child, exited, waitFor, out: stdout, err: stderr } = startTerminal();
    try {
      await waitFor(/screenless speaker \(this terminal\)/);
      child.stdin.write('我要听万古神帝\n');
      await waitFor(/▶ 正在播放：万古神帝 第1集/);
      for (const n of [2, 3]) {
        child.stdin.write('/end\n');
        await waitFor(new RegExp(`▶ 正在播放：万古神帝 第${n}集`));
      }
      child.stdin.write('/end\n');
      await waitFor(/🔒 万古神帝 第4集（第 4\/\d+ 首）需购买/);
      const app = await waitFor(/🔒 万古神帝 第4集[^]*叮当APP \(phone\): (http:\/\/127\.0\.0\.1:\d+\/app\/\S+)/);
      assert.doesNotMatch(stdout(), /▶ 正在播放：万古神帝 第4集/, 'not played before it is bought');
      const post = await pressPage(app[1]!, 'success');
      assert.equal(post.status, 303);
      await waitFor(/叮当：支付成功，马上为你继续。/);
      await waitFor(/▶ 正在播放：万古神帝 第4集[^\n]*（第 1\/\d+ 首）\n {4}http:\/\/127\.0\.0\.1:\d+\/audio\/wgsd004\.wav/);
      child.stdin.end();
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000).unref())]);
      assert.equal(code, 0, `exit ${code}\nstderr: ${stderr()}`);
      assert.equal((stderr().match(/\[audiobook\] deliver \S+ \(attempt 1\): wgsd004/g) ?? []).length, 1, 'episode 4 delivered exactly once');
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }
  },
);
