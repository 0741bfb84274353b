/**
 * Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven
 * by playwright-core (never a downloaded browser). Tests skip with
 * CHROMIUM_SKIP when it is missing; .ci/run installs it.
 */
import { existsSync } from 'node:fs';
import type { Browser, LaunchOptions } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_SKIP = 'install chromium (apt-get install chromium) to run this';
export const hasChromium = (): boolean => existsSync(CHROMIUM);

/** Flags for a closed network: no background traffic, no component updates, no sync. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless browser with a fresh profile (playwright makes a temporary one). */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000, ...options });
}

export interface BundlePage {
  /** The page's URL, on `localhost` so that requests to a platform on 127.0.0.1 are cross-origin. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serve `html` at `/` and the esbuild browser bundle of `entry` (a path from
 * the repository root, e.g. `src/device/index.ts`) at `modulePath`.
 */
export async function serveBundlePage(entry: string, modulePath: string, html: string): Promise<BundlePage> {
  const { build } = await import('esbuild');
  const bundle = await build({
    entryPoints: [new URL(`../../${entry}`, import.meta.url).pathname],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const js = bundle.outputFiles[0]!.text;
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    if (req.url === modulePath) {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      return void res.end(js);
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://localhost:${port}/`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
