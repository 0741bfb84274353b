/**
 * `npm run bench [name ...]`: run the benchmark figures (all, or those
 * named), print a human table, then one machine-readable line per figure:
 *
 *   BENCH <name> <value> <unit> target <op> <value>
 *
 * Options: `--list` prints the figure names; `--json FILE` also writes the
 * results as JSON. BENCH_SCALE=0.2 shortens the runs for a quick look (the
 * numbers get noisier). See bench/README.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { meets, round, type Figure, type FigureResult } from './lib.js';
import { notifyHttpRatio, notifyRatio } from './figures/notify.js';
import { bundleGzip, coldstart, heapGrowth } from './figures/device.js';
import { latencyPush, latencyRecover } from './figures/latency.js';
import { fanout } from './figures/fanout.js';
import { replayGuardRatio } from './figures/replay.js';
import { junkRatio } from './figures/junk.js';
import { subscribeRepeatRatio } from './figures/subscribe.js';

export const FIGURES: Figure[] = [
  notifyRatio,
  notifyHttpRatio,
  replayGuardRatio,
  junkRatio,
  subscribeRepeatRatio,
  latencyPush,
  latencyRecover,
  fanout,
  bundleGzip,
  coldstart,
  heapGrowth,
];

interface Row {
  figure: Figure;
  result?: FigureResult;
  error?: string;
}

function table(rows: Row[]): string {
  const head = ['figure', 'value', 'unit', 'target', 'ok', 'notes'];
  const body = rows.map(({ figure: f, result, error }) => [
    f.name,
    result ? String(round(result.value)) : 'ERROR',
    f.unit,
    `${f.op} ${f.target}`,
    result ? (meets(f.op, result.value, f.target) ? 'yes' : 'NO') : 'NO',
    error ??
      Object.entries(result?.notes ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (i === 5 ? 0 : r[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === 5 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w, i) => '-'.repeat(i === 5 ? 5 : w))), ...body.map(line)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--list')) {
    for (const f of FIGURES) console.log(`${f.name.padEnd(22)} ${f.op} ${f.target} ${f.unit}  ${f.what}`);
    return 0;
  }
  const jsonAt = argv.indexOf('--json');
  const jsonFile = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
  const names = argv.filter((a, i) => !a.startsWith('--') && !(jsonAt >= 0 && i === jsonAt + 1));
  const unknown = names.filter((n) => !FIGURES.some((f) => f.name === n));
  if (unknown.length) {
    console.error(`unknown figure(s): ${unknown.join(', ')}; known: ${FIGURES.map((f) => f.name).join(', ')}`);
    return 2;
  }
  const chosen = names.length ? FIGURES.filter((f) => names.includes(f.name)) : FIGURES;
  console.log(`dingdang-pay bench: node ${process.version}, ${cpus().length} CPU(s), ${cpus()[0]?.model ?? 'unknown CPU'}`);
  const rows: Row[] = [];
  for (const figure of chosen) {
    process.stderr.write(`running ${figure.name} ...\n`);
    try {
      rows.push({ figure, result: await figure.run() });
    } catch (e) {
      rows.push({ figure, error: (e as Error)?.stack ?? String(e) });
      console.error(`${figure.name} failed: ${(e as Error)?.stack ?? String(e)}`);
    }
  }
  console.log('\n' + table(rows.map((r) => (r.error ? { ...r, error: r.error.split('\n')[0] } : r))) + '\n');
  for (const { figure: f, result } of rows) {
    console.log(`BENCH ${f.name} ${result ? round(result.value) : 'NaN'} ${f.unit} target ${f.op} ${f.target}`);
  }
  if (jsonFile) {
    writeFileSync(
      jsonFile,
      JSON.stringify(
        rows.map(({ figure: f, result, error }) => ({ name: f.name, unit: f.unit, op: f.op, target: f.target, ...result, error })),
        null,
        2,
      ) + '\n',
    );
  }
  return rows.some((r) => r.error) ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
