/**
 * The layering of src/ (docs/architecture.md): protocol imports nothing of
 * ours; device, skill, partner and sandbox import protocol only (the device
 * only its browser-safe part); demo and cli sit on top. No import circles,
 * type-only imports included.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : name.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Relative imports of each file, resolved to src-relative .ts paths. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of files(src)) {
    const text = readFileSync(f, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (!spec || !spec.startsWith('.')) continue;
      deps.push(relative(src, resolve(dirname(f), spec.replace(/\.js$/, '.ts'))));
    }
    g.set(relative(src, f), deps);
  }
  return g;
}

const layerOf = (p: string) => p.split('/')[0]!;
const ALLOWED: Record<string, readonly string[]> = {
  protocol: ['protocol'],
  device: ['device', 'protocol'],
  skill: ['skill', 'protocol'],
  partner: ['partner', 'protocol'],
  sandbox: ['sandbox', 'protocol'],
  demo: ['demo', 'device', 'skill', 'partner', 'sandbox', 'protocol', 'cli'],
  cli: ['cli', 'demo', 'device', 'skill', 'partner', 'sandbox', 'protocol'],
};

test('every import stays on its floor or goes down', () => {
  const bad: string[] = [];
  for (const [file, deps] of graph()) {
    const from = layerOf(file);
    for (const d of deps) if (!(ALLOWED[from] ?? []).includes(layerOf(d))) bad.push(`${file} → ${d}`);
  }
  assert.deepEqual(bad, []);
});

test('the device imports only the browser-safe protocol', () => {
  const NODE_ONLY = ['protocol/index.ts', 'protocol/tsk-node.ts', 'protocol/http-body.ts'];
  const bad: string[] = [];
  for (const [file, deps] of graph()) {
    if (!file.startsWith('device/') || file === 'device/node.ts') continue;
    for (const d of deps) if (NODE_ONLY.includes(d)) bad.push(`${file} → ${d}`);
  }
  assert.deepEqual(bad, []);
});

/** Every import circle of a graph, each as `a → b → a`. */
function circles(g: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const found: string[] = [];
  const visit = (n: string, path: string[]) => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'open') {
      found.push([...path.slice(path.indexOf(n)), n].join(' → '));
      return;
    }
    state.set(n, 'open');
    for (const d of g.get(n) ?? []) visit(d, [...path, n]);
    state.set(n, 'done');
  };
  for (const n of g.keys()) visit(n, []);
  return found;
}

test('no import circles in src/', () => {
  assert.deepEqual(circles(graph()), []);
});

test('the circle check finds circles (and only circles)', () => {
  assert.deepEqual(
    circles(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['a']],
      ]),
    ),
    ['a → b → c → a'],
  );
  assert.deepEqual(
    circles(
      new Map([
        ['a', ['b', 'c']],
        ['b', ['c']],
        ['c', []],
      ]),
    ),
    [],
  );
});
