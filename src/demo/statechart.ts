/**
 * The live statechart of the screen speaker page: the purchase machine's
 * Mermaid diagrams (`machineToMermaid`, the generator docs/device.md uses)
 * and, for every public state key the companion's `state` events carry, the
 * node(s) of each diagram to light.
 *
 * Made at build time (scripts/build.js) into dist/demo/web/statechart.json,
 * which the speaker page server serves; where that file is missing or older
 * than the code running (a dev checkout), generated on the fly from the same
 * definition. The page script only reads the JSON: the generator stays out of
 * the browser (the device's browser entry does not have it either).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { machineToMermaid, type MermaidOptions } from '../device/diagram.js';
import { PUBLIC_STATE_NAMES, purchaseMachine } from '../device/machine.js';
import { prebuiltIsFresh } from './bundle.js';

/** File name of the prebuilt statechart, in dist/demo/web/. */
export const STATECHART_FILE = 'statechart.json';

export interface StatechartView {
  /** `screen` (the flow the page runs) or `purchase` (the whole purchase, folded). */
  id: string;
  /** Tab label on the page. */
  title: string;
  /** The `machineToMermaid` options of this view. */
  options: MermaidOptions;
  /** `machineToMermaid(purchaseMachine, options)`. */
  mermaid: string;
  /**
   * For every public state key: the ids of the boxes to light in this view,
   * the innermost box drawn around the state (the state itself, or the
   * folded box it is in). Empty when the view does not draw it.
   */
  states: Record<string, string[]>;
}

export interface Statechart {
  /** The machine's id (`purchase`). */
  machine: string;
  /** The screen flow first: the page opens it. */
  views: StatechartView[];
  /** For every public state key, the view that draws that very state (not a folded box around it): the page follows it there. */
  home: Record<string, string>;
}

/** The views of the page: the flow it runs, and the whole purchase as docs/device.md folds it. */
export const STATECHART_VIEWS: ReadonlyArray<Pick<StatechartView, 'id' | 'title' | 'options'>> = [
  { id: 'screen', title: '屏幕流程 · Screen', options: { focus: 'checkout.screen' } },
  { id: 'purchase', title: '整个购买 · Whole', options: { depth: 2 } },
];

/** The state ids a Mermaid `stateDiagram-v2` text declares (`state "…" as id`). */
export function declaredIds(mermaid: string): Set<string> {
  return new Set(Array.from(mermaid.matchAll(/^\s*state "[^"]*" as (\S+)$/gm), (m) => m[1]!));
}

/**
 * The definition paths of a public key, for the screen speaker: a key both
 * flows share (`payFailed`, `refreshing`…) is the screen flow's state; a key
 * of the screenless flow only (`app.*`) keeps its own path.
 */
export function screenPaths(key: string): string[] {
  const all = Object.keys(PUBLIC_STATE_NAMES).filter((p) => PUBLIC_STATE_NAMES[p] === key);
  const screen = all.filter((p) => !p.startsWith('checkout.screenless.'));
  return screen.length > 0 ? screen : all;
}

/** The id of the innermost box a diagram draws around a definition path (`checkout.screen.goods` → `checkout_screen_goods`, or `checkout_screen` when folded). */
function boxOf(path: string, ids: Set<string>): string | undefined {
  const parts = path.split('.');
  for (let n = parts.length; n > 0; n--) {
    const id = parts.slice(0, n).join('_');
    if (ids.has(id)) return id;
  }
  return undefined;
}

/** The statechart of the purchase machine, generated from its definition. */
export function generateStatechart(): Statechart {
  const keys = [...new Set(Object.values(PUBLIC_STATE_NAMES))];
  const views = STATECHART_VIEWS.map((v): StatechartView => {
    const mermaid = machineToMermaid(purchaseMachine, v.options);
    const ids = declaredIds(mermaid);
    const states: Record<string, string[]> = {};
    for (const key of keys) states[key] = [...new Set(screenPaths(key).flatMap((p) => boxOf(p, ids) ?? []))];
    return { ...v, options: { ...v.options }, mermaid, states };
  });
  const home: Record<string, string> = {};
  for (const key of keys) {
    const own = (v: StatechartView) => screenPaths(key).some((p) => v.states[key]!.includes(p.split('.').join('_')));
    home[key] = (views.find(own) ?? views.find((v) => v.states[key]!.length > 0) ?? views[0]!).id;
  }
  return { machine: purchaseMachine.id, views, home };
}

/** The statechart as the build writes it: JSON, one trailing newline. */
export const statechartJson = (): string => JSON.stringify(generateStatechart(), null, 2) + '\n';

const fromSource = import.meta.url.endsWith('.ts');

/** Where the prebuilt statechart is (or would be): dist/demo/web/statechart.json. */
export function prebuiltStatechartPath(): string {
  return fileURLToPath(new URL(fromSource ? `../../dist/demo/web/${STATECHART_FILE}` : `./web/${STATECHART_FILE}`, import.meta.url));
}

let cached: string | undefined;

/** The statechart the page gets (once per process): the prebuilt file when it is fresh, else generated now. */
export function statechart(): string {
  if (cached !== undefined) return cached;
  const file = prebuiltStatechartPath();
  cached = existsSync(file) && prebuiltIsFresh(file) ? readFileSync(file, 'utf8') : statechartJson();
  return cached;
}

/**
 * The installed mermaid package's browser build (an IIFE that sets
 * `globalThis.mermaid`), which the page loads as its own script: undefined
 * when mermaid is not installed.
 */
export function mermaidScriptPath(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');
  } catch {
    return undefined;
  }
}
