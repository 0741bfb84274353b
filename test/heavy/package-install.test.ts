/**
 * The package works when installed: `npm pack` (which runs `prepare`, the
 * build), then the tarball installed into an empty folder with production
 * dependencies only — no esbuild, no tsx, no checkout — and there:
 *
 *   * `npx dingdang-pay --help`;
 *   * `npx dingdang-pay demo --port 0`: its speaker page and the page script
 *     (the prebuilt bundle, byte for byte), the statechart the build wrote
 *     (mermaid, which draws it, is an optional peer: absent here, /mermaid.js
 *     answers 404 with what to install);
 *   * `npx dingdang-pay demo --mode screenless`: the terminal speaker, a
 *     purchase paid with /pay, the episode plays;
 *   * `npx dingdang-pay simulate --script screen-success` (a shipped script,
 *     by name) to completion, exit 0;
 *   * `npx dingdang-pay example-skill --port 0`: its JSON line, a live server,
 *     `/metrics` a 404 with what to install (pino and prom-client are optional
 *     peers, absent here);
 *   * the published type declarations of every public entry compile for a
 *     strict user (`--skipLibCheck false`) with nothing but the package's own
 *     dependencies and @types/node.
 *
 * Offline, from npm's cache: npm 11 reads the registry's full metadata
 * documents whenever it builds a tree without a lockfile, and `npm ci` (what
 * fills the cache in CI) fetches only tarballs. So the empty folder gets a
 * package-lock.json holding exactly the checkout's production tree (the
 * checkout's lock entries that are not dev-only) plus the tarball; the
 * install then needs only cached tarballs. A tarball missing from the cache
 * fails the test when DINGDANG_NO_SKIP=1 (CI) and skips it, saying what to do,
 * otherwise.
 *
 * Heavy (scripts/test.js runs test/package/ one at a time): the native
 * better-sqlite3 build alone takes about 70 s here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const NO_SKIP = process.env.DINGDANG_NO_SKIP === '1';
/** npx: only what is installed (never a download), and everything after `--` for the bin (`--help` too). */
const NPX = ['--offline', '--no', '--', 'dingdang-pay'];

/** The environment for npm and the installed bin: no tsx loader, nothing of the npm run that started the tests. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(package_|lifecycle_|config_local_prefix$|command$)/i.test(k) || k === 'INIT_CWD' || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, DINGDANG_NO_SPEECH: '1', NO_UPDATE_NOTIFIER: '1', ...extra };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout.slice(-4000)}\nstderr: ${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The pids whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * npx runs npm, which runs `sh -c dingdang-pay …`, which runs the bin: the
 * bin is the end of that chain. (npm ignores a SIGINT of its own while its
 * child runs, and re-raises one the child got, so the bin is signalled alone
 * and npx then exits with the bin's code.)
 */
function binOf(pid: number): number {
  for (let p = pid; ;) {
    const c = childrenOf(p);
    if (c.length !== 1) return p;
    p = c[0]!;
  }
}

/** Kill the whole process group this test started (npx and what it ran). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

interface LongRunning {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  /** SIGINT to the bin (Ctrl-C), then npx's exit code, which is the bin's (the group gets SIGKILL after 15 s). */
  stop(): Promise<number | null>;
  /** Its exit code once it ends by itself (SIGKILL to the group and a failure after `ms`). */
  exit(ms: number): Promise<number | null>;
}

function start(args: string[], cwd: string, stdin: 'ignore' | 'pipe' = 'ignore'): LongRunning {
  const child = spawn('npx', [...NPX, ...args], {
    cwd,
    env: cleanEnv(),
    stdio: [stdin, 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    out: () => out,
    err: () => err,
    async waitFor(re, ms = 30_000) {
      const end = Date.now() + ms;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (Date.now() > end || child.exitCode !== null) throw new Error(`dingdang-pay ${args.join(' ')}: no ${re} on stdout\nstdout: ${out}\nstderr: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async exit(ms) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          killGroup(child, 'SIGKILL');
          reject(new Error(`dingdang-pay ${args.join(' ')} did not exit within ${ms} ms\nstdout: ${out}\nstderr: ${err}`));
        }, ms);
      });
      try {
        return await Promise.race([exited, late]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(binOf(child.pid), 'SIGINT');
        } catch {
          // exited meanwhile
        }
      }
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * package.json + package-lock.json of the empty project: the tarball, and for
 * its dependencies exactly the checkout's production tree.
 */
function writeProject(app: string, tarball: string): void {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const spec = `file:${tarball}`;
  const project = {
    name: 'ddp-install-check',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: { 'dingdang-pay': spec },
    // npm 11: better-sqlite3's native build approved; the tarball's own `prepare` (the checkout's
    // build, which npm never runs for a tarball) denied, as a registry install would not list it.
    allowScripts: { 'better-sqlite3': true, 'dingdang-pay': false },
  };
  const packages: Record<string, unknown> = {
    '': { name: project.name, version: project.version, dependencies: project.dependencies },
    'node_modules/dingdang-pay': {
      version: pkg.version,
      resolved: spec,
      integrity: 'sha512-' + createHash('sha512').update(readFileSync(tarball)).digest('base64'),
      license: pkg.license,
      dependencies: pkg.dependencies,
      ...(pkg.peerDependencies ? { peerDependencies: pkg.peerDependencies, peerDependenciesMeta: pkg.peerDependenciesMeta } : {}),
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean; link?: boolean }>)) {
    if (path && !entry.dev && !entry.link) packages[path] = entry;
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify(project, null, 2) + '\n');
  writeFileSync(
    join(app, 'package-lock.json'),
    JSON.stringify({ name: project.name, version: project.version, lockfileVersion: 3, requires: true, packages }, null, 2) + '\n',
  );
}

/** The public entries from package.json#exports (the framework adapters need their optional peers: not here). */
function publicEntries(): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return (
    Object.keys(pkg.exports as Record<string, unknown>)
      // The framework adapters (`./partner/express`, `./skill/fastify`, …) need the framework's own types (optional peers).
      .filter((k) => k !== './package.json' && !/\/(express|fastify)$/.test(k))
      .map((k) => (k === '.' ? 'dingdang-pay' : `dingdang-pay/${k.slice(2)}`))
  );
}

test(
  'the packed tarball, installed with production dependencies only, runs demo, simulate and example-skill, and its types compile',
  { timeout: 900_000 },
  async (t) => {
    const tmp = mkdtempSync(join(tmpdir(), 'ddp-package-'));
    try {
      // 1. npm pack (prepare → scripts/build.js).
      const packDir = join(tmp, 'pack');
      mkdirSync(packDir);
      const pack = await run('npm', ['pack', '--pack-destination', packDir, '--no-audit', '--no-fund'], root, 240_000);
      assert.equal(pack.code, 0, `npm pack failed\n${pack.stdout}\n${pack.stderr}`);
      const tarballs = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
      assert.equal(tarballs.length, 1, `one tarball: ${tarballs.join(', ')}`);
      const tarball = join(packDir, tarballs[0]!);

      // 2. Install it into an empty folder, offline, production dependencies only.
      const app = join(tmp, 'app');
      mkdirSync(app);
      writeProject(app, tarball);
      const install = await run('npm', ['install', '--offline', '--omit=dev', '--no-audit', '--no-fund', tarball], app, 420_000);
      if (install.code !== 0 && /ENOTCACHED/.test(install.stderr)) {
        const what = /request to (\S+) failed/.exec(install.stderr)?.[1] ?? 'a package';
        const line = `npm's cache lacks ${what}: run "npm ci" in the checkout with the network on, then rerun`;
        if (NO_SKIP) assert.fail(`${line}\n${install.stderr}`);
        t.skip(line);
        return;
      }
      assert.equal(install.code, 0, `npm install failed\n${install.stdout}\n${install.stderr}`);
      const pkgDir = join(app, 'node_modules/dingdang-pay');
      for (const f of [
        'dist/demo/web/speaker.bundle.js',
        'dist/demo/web/statechart.json',
        'dist/demo/scripts/screen-success.json',
        'dist/demo/example-skill/server.js',
        'dist/cli/main.js',
      ])
        assert.ok(existsSync(join(pkgDir, f)), `the package has ${f}`);
      for (const dev of ['esbuild', 'tsx', 'typescript', 'express', 'fastify', 'playwright-core', 'mermaid'])
        assert.ok(!existsSync(join(app, 'node_modules', dev)), `${dev} (a dev dependency) was installed`);
      assert.ok(
        existsSync(join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node')) ||
          existsSync(join(app, 'node_modules/better-sqlite3/prebuilds')),
        'better-sqlite3 was built',
      );

      await t.test('npx dingdang-pay --help', async () => {
        const help = await run('npx', [...NPX, '--help'], app, 60_000);
        assert.equal(help.code, 0, help.stderr);
        for (const c of ['demo', 'simulate', 'example-skill', 'sandbox', 'keygen']) assert.match(help.stdout, new RegExp(`^  ${c} `, 'm'));
        const simHelp = await run('npx', [...NPX, 'simulate', '--help'], app, 60_000);
        assert.equal(simHelp.code, 0, simHelp.stderr);
        assert.match(simHelp.stdout, /screen-success,/, 'simulate --help lists the shipped scripts');
      });

      await t.test('demo (screen): the speaker page and its prebuilt script', async () => {
        const demo = start(['demo', '--port', '0'], app);
        try {
          const url = (await demo.waitFor(/Open the speaker:\s+(http:\/\/127\.0\.0\.1:\d+\/)/, 60_000))[1]!;
          await demo.waitFor(/Sandbox platform:\s+http:\/\/127\.0\.0\.1:\d+/);
          const page = await fetch(url, { signal: AbortSignal.timeout(10_000) });
          assert.equal(page.status, 200);
          const html = await page.text();
          assert.match(html, /<script[^>]+src="\/?speaker\.js"/);
          const script = await fetch(new URL('/speaker.js', url), { signal: AbortSignal.timeout(10_000) });
          assert.equal(script.status, 200);
          assert.match(script.headers.get('content-type') ?? '', /javascript/);
          const js = await script.text();
          assert.ok(js.length > 50_000, `the companion is in the script (${js.length} bytes)`);
          assert.equal(js, readFileSync(join(pkgDir, 'dist/demo/web/speaker.bundle.js'), 'utf8'), 'the prebuilt bundle is served');
          const chart = await fetch(new URL('/statechart.json', url), { signal: AbortSignal.timeout(10_000) });
          assert.equal(chart.status, 200);
          assert.equal(await chart.text(), readFileSync(join(pkgDir, 'dist/demo/web/statechart.json'), 'utf8'), 'the prebuilt statechart is served');
          const mermaid = await fetch(new URL('/mermaid.js', url), { signal: AbortSignal.timeout(10_000) });
          assert.equal(mermaid.status, 404, 'mermaid is an optional peer: not installed with the package');
          assert.match(await mermaid.text(), /npm install mermaid/);
        } finally {
          const code = await demo.stop();
          assert.equal(code, 0, `demo exit ${code}\nstderr: ${demo.err()}`);
        }
      });

      await t.test('demo --mode screenless: the terminal speaker, a purchase paid in the app', async () => {
        const demo = start(['demo', '--mode', 'screenless'], app, 'pipe');
        try {
          await demo.waitFor(/screenless speaker \(this terminal\)/, 60_000);
          demo.child.stdin!.write('我要听万古神帝第35集\n');
          await demo.waitFor(/叮当：这是付费内容，需要购买才能播放哦/);
          demo.child.stdin!.write('/pay\n'); // paid in the DingDang app
          await demo.waitFor(/叮当：购买成功，开始播放万古神帝第35集/);
          await demo.waitFor(/purchase done \(paid\)/);
          demo.child.stdin!.end(); // end of input (no purchase running) stops the demo
          const code = await demo.exit(20_000);
          assert.equal(code, 0, `demo exit ${code}\nstderr: ${demo.err()}`);
          assert.match(demo.err(), /stopping \(end of input\)/);
        } finally {
          await demo.stop();
        }
      });

      await t.test('simulate --script screen-success (a shipped script, by name) passes', async () => {
        const sim = await run('npx', [...NPX, 'simulate', '--script', 'screen-success'], app, 120_000);
        assert.equal(sim.code, 0, `simulate exit ${sim.code}\n${sim.stderr}`);
        const events = sim.stdout
          .split('\n')
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l) as { type: string });
        assert.equal(events[0]?.type, 'start');
        assert.equal(events.at(-1)?.type, 'done');
        assert.match(sim.stderr, /every expectation held/);
      });

      await t.test('example-skill --port 0: one JSON line, a live server', async () => {
        const skill = start(['example-skill', '--port', '0'], app, 'pipe');
        try {
          const line = (await skill.waitFor(/^(\{.*\})$/m, 60_000))[1]!;
          const record = JSON.parse(line) as { url?: string; skillId?: string };
          assert.equal(record.skillId, 'audiobookDemo');
          assert.match(record.url ?? '', /^http:\/\/127\.0\.0\.1:\d+/);
          const res = await fetch(record.url!, { signal: AbortSignal.timeout(10_000) });
          await res.arrayBuffer();
          assert.ok(res.status > 0, 'the skill answers HTTP');
          // pino and prom-client are optional peers, not installed here: the skill runs, /metrics says why it is off.
          const metrics = await fetch(`${record.url!}/metrics`, { signal: AbortSignal.timeout(10_000) });
          assert.equal(metrics.status, 404);
          assert.match(await metrics.text(), /^metrics off: install prom-client .*\n$/);
        } finally {
          const code = await skill.stop();
          assert.equal(code, 0, `example-skill exit ${code}\nstderr: ${skill.err()}`);
        }
      });

      await t.test('the type declarations of every public entry compile (strict, skipLibCheck false)', async () => {
        const entries = publicEntries();
        for (const e of [
          'dingdang-pay',
          'dingdang-pay/protocol',
          'dingdang-pay/device',
          'dingdang-pay/device/node',
          'dingdang-pay/partner',
          'dingdang-pay/sandbox',
        ])
          assert.ok(entries.includes(e), `${e} is exported`);
        const lines = entries.map((e, i) => `import * as m${i} from '${e}';`);
        lines.push(`export const entries: unknown[] = [${entries.map((_, i) => `m${i}`).join(', ')}];`);
        writeFileSync(join(app, 'check.ts'), lines.join('\n') + '\n');
        // @types/node: the installed one (a dependency of the @types the package depends on), else the checkout's.
        const typeRoots = existsSync(join(app, 'node_modules/@types/node')) ? join(app, 'node_modules/@types') : join(root, 'node_modules/@types');
        for (const absent of ['@types/express', '@types/qrcode'])
          assert.ok(!existsSync(join(app, 'node_modules', absent)), `${absent} is not needed by the main entries`);
        const tsc = await run(
          process.execPath,
          [
            join(root, 'node_modules/typescript/bin/tsc'),
            '--noEmit',
            '--strict',
            '--skipLibCheck',
            'false',
            '--target',
            'ES2022',
            '--module',
            'NodeNext',
            '--moduleResolution',
            'NodeNext',
            // The device entry is browser code (WebCrypto's CryptoKey, DOM events): its declarations use the DOM lib.
            '--lib',
            'ES2022,DOM',
            '--types',
            'node',
            '--typeRoots',
            typeRoots,
            'check.ts',
          ],
          app,
          180_000,
        );
        assert.equal(tsc.code, 0, `tsc:\n${tsc.stdout}\n${tsc.stderr}`);
      });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  },
);
