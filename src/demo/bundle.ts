/**
 * The screen speaker page's script: src/demo/web/speaker.ts (the device
 * companion, the host, the DOM) bundled for the browser (an IIFE).
 *
 * The bundle is made at build time (`npm run build` = scripts/build.js, run
 * by `prepare`, hence by `npm ci` and `npm pack`) into
 * dist/demo/web/speaker.bundle.js, and the demo serves that file: an
 * installed package needs no esbuild (a dev dependency). Only in a dev
 * checkout where the file is missing, or older than the code running (the
 * compiled dist/ when running from dist/, the TypeScript sources when running
 * from src/ through tsx), the page script is bundled again in memory with
 * esbuild, from that same code, so the page and its script always match.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DemoError } from './stack.js';

/** File name of the prebuilt bundle, in dist/demo/web/. */
export const SPEAKER_BUNDLE_FILE = 'speaker.bundle.js';

const here = import.meta.url;
const fromSource = here.endsWith('.ts');

/** The page script entry next to this module: web/speaker.ts under src/, the compiled web/speaker.js under dist/. */
export function speakerEntry(): string {
  const entry = new URL(fromSource ? './web/speaker.ts' : './web/speaker.js', here);
  if (!existsSync(entry)) throw new DemoError(`the speaker page script ${fileURLToPath(entry)} is missing`);
  return fileURLToPath(entry);
}

/** Where the prebuilt bundle is (or would be): dist/demo/web/speaker.bundle.js. */
export function prebuiltBundlePath(): string {
  return fileURLToPath(new URL(fromSource ? `../../dist/demo/web/${SPEAKER_BUNDLE_FILE}` : `./web/${SPEAKER_BUNDLE_FILE}`, here));
}

/** Newest modification time (ms) of the code files under `dir` (.ts under src/, .js under dist/; not the bundle, not .d.ts). */
function newestCode(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestCode(p));
    else if (entry.name === SPEAKER_BUNDLE_FILE || entry.name.endsWith('.d.ts')) continue;
    else if (entry.name.endsWith(fromSource ? '.ts' : '.js')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Whether the prebuilt bundle can be served: it exists and no code file of
 * the tree this module runs from (src/ or dist/) is newer. (An installed
 * package has every file at npm's fixed date: equal times count as fresh.)
 */
export function prebuiltIsFresh(bundle = prebuiltBundlePath()): boolean {
  if (!existsSync(bundle)) return false;
  const tree = dirname(dirname(fileURLToPath(here))); // src/ or dist/
  return newestCode(tree) <= statSync(bundle).mtimeMs;
}

async function loadEsbuild(): Promise<typeof import('esbuild') | undefined> {
  try {
    return await import('esbuild');
  } catch {
    return undefined;
  }
}

/** Bundle the page script with esbuild, in memory (needs the dev dependency esbuild). */
export async function buildSpeakerBundle(entry = speakerEntry()): Promise<string> {
  const esbuild = await loadEsbuild();
  if (!esbuild) throw new DemoError('esbuild is needed to bundle the speaker page in a checkout: run "npm ci" (or "npm run build")');
  const out = await esbuild.build({
    entryPoints: [entry],
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
}

let cached: Promise<string> | undefined;

/**
 * The speaker page script (once per process): the prebuilt bundle when it is
 * fresh; otherwise bundled in memory; a stale prebuilt bundle only when
 * esbuild is not installed.
 */
export function speakerBundle(): Promise<string> {
  cached ??= (async () => {
    const bundle = prebuiltBundlePath();
    if (prebuiltIsFresh(bundle)) return readFileSync(bundle, 'utf8');
    if (existsSync(bundle) && !(await loadEsbuild())) return readFileSync(bundle, 'utf8');
    return buildSpeakerBundle();
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}
