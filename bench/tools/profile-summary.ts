/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time by function
 * and by file, top N. Usage:
 *   node --import tsx bench/tools/profile-summary.ts PROFILE.cpuprofile [N]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, nArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.ts PROFILE.cpuprofile [N]');
  process.exit(2);
}
const top = Number(nArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, Node>();
for (const n of prof.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
const self = new Map<number, number>();
prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const shortUrl = (u: string) => u.replace(/^file:\/\/.*?\/(node_modules|src|bench|test)\//, '$1/').replace(/^node:/, 'node:');
/** Native frames (no url, e.g. `run`) are ambiguous: name them after their JS caller. */
const withCaller = (n: Node): string => {
  if (n.callFrame.url) return '';
  const p = parentOf.get(n.id);
  return p ? `  <- ${p.callFrame.functionName || '(anonymous)'} ${shortUrl(p.callFrame.url)}` : '';
};
const fnKey = (n: Node) => `${n.callFrame.functionName || '(anonymous)'}  ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}${withCaller(n)}`;
const fileKey = (n: Node) => shortUrl(n.callFrame.url) || `(${n.callFrame.functionName})${withCaller(n)}`;

function tally(key: (n: Node) => string) {
  const m = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id);
    if (n) m.set(key(n), (m.get(key(n)) ?? 0) + t);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
}
const pct = (t: number) => ((100 * t) / total).toFixed(1).padStart(5) + '%';
console.log(`total sampled ${(total / 1000).toFixed(0)} ms`);
console.log('\nself time by function:');
for (const [k, t] of tally(fnKey)) console.log(`${pct(t)}  ${k}`);
console.log('\nself time by file:');
for (const [k, t] of tally(fileKey)) console.log(`${pct(t)}  ${k}`);
process.stdout.on('error', () => undefined);
