/**
 * The screen speaker page's script: src/demo/web/speaker.ts (the device
 * companion, the host, the DOM) bundled for the browser with esbuild, in
 * memory, when the demo starts. esbuild is a dev dependency, present after
 * `npm ci` in a checkout.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DemoError } from './stack.js';

let cached: Promise<string> | undefined;

/**
 * The page script entry next to this module: web/speaker.ts when running from
 * src/, the compiled web/speaker.js when running from dist/ (the same build as
 * the page's HTML, so the two always match); the source as a last resort.
 */
export function speakerEntry(): string {
  const here = import.meta.url;
  const candidates = [
    new URL(here.endsWith('.ts') ? './web/speaker.ts' : './web/speaker.js', here),
    new URL('../../src/demo/web/speaker.ts', here),
  ];
  for (const c of candidates) if (existsSync(c)) return fileURLToPath(c);
  throw new DemoError('the speaker page source (src/demo/web/speaker.ts) is missing');
}

/** Build (once per process) the browser bundle of the speaker page: an IIFE script. */
export function speakerBundle(): Promise<string> {
  cached ??= (async () => {
    let esbuild: typeof import('esbuild');
    try {
      esbuild = await import('esbuild');
    } catch (e) {
      throw new DemoError('esbuild is needed to bundle the speaker page: run "npm ci" in the checkout', { cause: e });
    }
    const out = await esbuild.build({
      entryPoints: [speakerEntry()],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      minify: true,
      legalComments: 'none',
      logLevel: 'silent',
    });
    const js = out.outputFiles[0]?.text;
    if (!js) throw new DemoError('esbuild produced no speaker bundle');
    return js;
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}
