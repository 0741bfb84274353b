/**
 * The speaker page's live statechart (src/demo/statechart.ts): its diagrams
 * are the ones `machineToMermaid` draws of the purchase machine, every public
 * state key of the machine has its box(es) to light in every view (a new state
 * cannot be forgotten), and the speaker page server serves it with mermaid's
 * browser build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { machineToMermaid } from '../../src/device/diagram.js';
import { PUBLIC_STATE_NAMES, purchaseMachine } from '../../src/device/machine.js';
import { declaredIds, generateStatechart, mermaidScriptPath, screenPaths, STATECHART_VIEWS, statechartJson } from '../../src/demo/statechart.js';

const chart = generateStatechart();
const keys = [...new Set(Object.values(PUBLIC_STATE_NAMES))];

test('the views are the screen flow and the whole purchase folded, each the text machineToMermaid gives', () => {
  assert.deepEqual(
    chart.views.map((v) => [v.id, v.options]),
    [
      ['screen', { focus: 'checkout.screen' }],
      ['purchase', { depth: 2 }],
    ],
  );
  for (const v of chart.views) assert.equal(v.mermaid, machineToMermaid(purchaseMachine, v.options), v.id);
  assert.equal(chart.machine, purchaseMachine.id);
  assert.deepEqual(JSON.parse(statechartJson()), chart);
});

test('every public state key has its boxes in every view, and every box is one the diagram declares', () => {
  for (const v of chart.views) {
    assert.deepEqual(Object.keys(v.states).sort(), [...keys].sort(), `${v.id}: the keys`);
    const ids = declaredIds(v.mermaid);
    for (const [key, boxes] of Object.entries(v.states)) for (const id of boxes) assert.ok(ids.has(id), `${v.id}: ${key} → ${id} is drawn`);
  }
  // The whole purchase draws a box for every state; each key's home view draws that very state where one does.
  const whole = chart.views.find((v) => v.id === 'purchase')!;
  for (const key of keys) assert.equal(whole.states[key]!.length, 1, `purchase: ${key}`);
  const itself = (v: (typeof chart.views)[number], key: string) => screenPaths(key).some((p) => v.states[key]!.includes(p.replaceAll('.', '_')));
  for (const key of keys) {
    const home = chart.views.find((v) => v.id === chart.home[key])!;
    // The screenless flow's own states (app.*) are drawn by no view: their home is the folded box.
    if (key.startsWith('app.')) assert.ok(!chart.views.some((v) => itself(v, key)) && home.states[key]!.length === 1, key);
    else assert.ok(itself(home, key), `${key}: ${home.id} draws it (${home.states[key]})`);
  }
});

test('the screen flow lights each of its states itself; a state both flows share is the screen one', () => {
  const screen = chart.views.find((v) => v.id === 'screen')!;
  for (const [path, key] of Object.entries(PUBLIC_STATE_NAMES))
    if (path.startsWith('checkout.screen.')) assert.deepEqual(screen.states[key], [path.replaceAll('.', '_')], key);
  assert.deepEqual(screenPaths('payFailed'), ['checkout.screen.payFailed']);
  assert.deepEqual(screenPaths('app.pushed'), ['checkout.screenless.pushed']);
  // Outside the flow: the folded box (resume), or nothing (done is not drawn in this view).
  assert.deepEqual(screen.states.resuming, ['resume']);
  assert.deepEqual(screen.states.done, []);
  assert.deepEqual(
    keys.filter((k) => chart.home[k] === 'purchase'),
    ['app.pushed', 'app.ordered', 'app.confirming', 'paid', 'owned', 'resuming', 'done', 'resumeFailed', 'failed'],
  );
  assert.deepEqual(
    STATECHART_VIEWS.map((v) => v.id),
    chart.views.map((v) => v.id),
  );
});

test("mermaid's browser build is installed (a dependency: the installed demo serves it)", () => {
  const path = mermaidScriptPath();
  assert.ok(path && existsSync(path), `mermaid/dist/mermaid.min.js: ${path}`);
});
