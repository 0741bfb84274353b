/**
 * The real `dingdang-pay demo` process for browser tests: started on free
 * ports (extra CLI arguments allowed), its speaker page and sandbox URLs read
 * from what it prints; stopped with Ctrl-C (SIGINT), killed if it hangs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

export interface DemoProcess {
  child: ChildProcess;
  /** The speaker page. */
  url: string;
  /** The sandbox platform. */
  sandbox: string;
  /** The sandbox's control token (printed on the same line). */
  controlToken: string;
  output: () => string;
}

export function startDemo(args: string[] = ['--clip-seconds', '1']): Promise<DemoProcess> {
  const child = spawn(process.execPath, [join(root, 'bin/dingdang-pay.js'), 'demo', '--port', '0', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo printed no URL within 30 s\nstdout: ${out}\nstderr: ${err}`));
    }, 30_000);
    const check = () => {
      const url = /Open the speaker:\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
      const platform = /Sandbox platform:\s+(http:\/\/127\.0\.0\.1:\d+) .*token ([A-Za-z0-9_-]+)/.exec(out);
      const sandbox = platform?.[1];
      const controlToken = platform?.[2];
      if (url && sandbox && controlToken) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve({ child, url, sandbox, controlToken, output: () => `stdout: ${out}\nstderr: ${err}` });
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo exited ${code}\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}

export function stopDemo(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
    child.kill('SIGINT');
  });
}

/**
 * The demo process and its speaker page in headless Chromium (one fresh
 * profile), with a clean artifacts folder test-artifacts/<artifacts>/ and the
 * page's uncaught errors collected. `close()` closes the browser, stops the
 * demo (its exit code) and removes the profile.
 */
export async function openDemoPage(
  artifacts: string,
  options: { demoArgs?: string[]; viewport?: { width: number; height: number } } = {},
): Promise<{
  demo: DemoProcess;
  context: import('playwright-core').BrowserContext;
  page: import('playwright-core').Page;
  dir: string;
  errors: string[];
  close(): Promise<number | null>;
}> {
  const { chromium } = await import('playwright-core');
  const { mkdirSync, mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { CHROMIUM, CHROMIUM_ARGS } = await import('./chromium.js');
  const dir = join(root, 'test-artifacts', artifacts);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'ddp-chromium-'));
  const demo = await startDemo(options.demoArgs);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: options.viewport ?? { width: 1400, height: 900 },
    args: CHROMIUM_ARGS,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return {
    demo,
    context,
    page,
    dir,
    errors,
    async close() {
      await context.close();
      const code = await stopDemo(demo.child);
      rmSync(profile, { recursive: true, force: true });
      return code;
    },
  };
}
