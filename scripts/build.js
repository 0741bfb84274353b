#!/usr/bin/env node
// `npm run build` (also run by `prepare`, hence by `npm ci` and `npm pack`,
// and by `npm test` before the tests):
//   1. tsc -p tsconfig.build.json       src/ → dist/ (JS + .d.ts)
//   2. the speaker page script          dist/demo/web/speaker.bundle.js (esbuild, a dev
//                                       dependency: the installed package serves this file)
//   3. the shipped simulate scripts     src/demo/scripts/*.json → dist/demo/scripts/
//   4. the page's live statechart        dist/demo/web/statechart.json (the purchase machine's
//                                       Mermaid diagrams and the boxes to light, src/demo/statechart.ts)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) {
  console.error('build: tsc failed');
  process.exit(1);
}

// The same esbuild call the demo would make in memory (one definition, in src/demo/bundle.ts),
// bundling the compiled page script tsc just wrote.
const { buildSpeakerBundle, prebuiltBundlePath } = await import(new URL('../dist/demo/bundle.js', import.meta.url).href);
const bundle = prebuiltBundlePath();
try {
  writeFileSync(bundle, await buildSpeakerBundle());
} catch (e) {
  console.error(`build: the speaker page bundle failed: ${e?.message ?? e}`);
  process.exit(1);
}

const scriptsFrom = join(root, 'src/demo/scripts');
const scriptsTo = join(root, 'dist/demo/scripts');
rmSync(scriptsTo, { recursive: true, force: true });
mkdirSync(scriptsTo, { recursive: true });
for (const name of readdirSync(scriptsFrom)) if (name.endsWith('.json')) copyFileSync(join(scriptsFrom, name), join(scriptsTo, name));

// The statechart the speaker page draws, from the compiled machine definition tsc just wrote.
const { statechartJson, prebuiltStatechartPath } = await import(new URL('../dist/demo/statechart.js', import.meta.url).href);
try {
  writeFileSync(prebuiltStatechartPath(), statechartJson());
} catch (e) {
  console.error(`build: the speaker page statechart failed: ${e?.message ?? e}`);
  process.exit(1);
}
