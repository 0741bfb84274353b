/**
 * Device figures: bundle-gzip, coldstart, heap-growth (absolute targets, as
 * the issue states them; each measured on the real device entry).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { median, repoRoot, round, runChild, scaled, type Figure } from '../lib.js';
import { BENCH_CHARGE } from '../support/lean-transport.js';

/** The device entry bundled for the browser with all its dependencies, minified. */
export async function deviceBundle(): Promise<{ code: string; metafile: Metafile }> {
  const r = await build({
    entryPoints: [join(repoRoot, 'src/device/index.ts')],
    bundle: true,
    minify: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
  });
  return { code: r.outputFiles[0]!.text, metafile: r.metafile };
}

/** Largest contributors (by package or src folder) to the minified output, KB. */
function contributors(meta: Metafile, top = 5): string {
  const out = Object.values(meta.outputs)[0]!;
  const by = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(out.inputs)) {
    const m = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
    const key = m
      ? m[1]!
      : path
          .replace(/^src\//, '')
          .split('/')
          .slice(0, 2)
          .join('/');
    by.set(key, (by.get(key) ?? 0) + bytesInOutput);
  }
  return [...by.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `${k} ${round(v / 1024)}`)
    .join('; ');
}

export const bundleGzip: Figure = {
  name: 'bundle-gzip',
  unit: 'KB',
  op: '<=',
  target: 45,
  what: 'src/device/index.ts bundled for the browser with its deps (esbuild, minified, ESM), gzip -9 size',
  async run() {
    const { code, metafile } = await deviceBundle();
    const gz = gzipSync(Buffer.from(code), { level: 9 }).length;
    return {
      value: round(gz / 1024),
      notes: { 'minified KB': round(Buffer.byteLength(code) / 1024), 'largest minified KB': contributors(metafile) },
    };
  },
};

export const coldstart: Figure = {
  name: 'coldstart',
  unit: 'ms',
  op: '<=',
  target: 60,
  what: 'fresh node process: import() of the minified device bundle → first goods render (in-memory transport); median of runs',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'ddp-bench-cold-'));
    try {
      const file = join(dir, 'device.min.mjs');
      writeFileSync(file, (await deviceBundle()).code);
      const empty = join(dir, 'empty.mjs');
      writeFileSync(empty, 'export {};\n');
      const runs = scaled(9, 3);
      const totals: number[] = [];
      const imports: number[] = [];
      const baselines: number[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await runChild<{ importMs: number; totalMs: number; view: string }>(
          join(repoRoot, 'bench/children/coldstart.mjs'),
          [file, JSON.stringify(BENCH_CHARGE)],
          [],
          30_000,
          false,
        );
        if (r.view !== 'goods') throw new Error(`first render was ${r.view}`);
        totals.push(r.totalMs);
        imports.push(r.importMs);
        const b = await runChild<{ importMs: number }>(join(repoRoot, 'bench/children/coldstart-empty.mjs'), [empty], [], 30_000, false);
        baselines.push(b.importMs);
      }
      return {
        value: round(median(totals)),
        notes: {
          runs,
          'import ms': round(median(imports)),
          'first render after import ms': round(median(totals) - median(imports)),
          'baseline: empty-module import ms': round(median(baselines)),
          'max ms': round(Math.max(...totals)),
        },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export const heapGrowth: Figure = {
  name: 'heap-growth',
  unit: 'MB',
  op: '<=',
  target: 2,
  what: 'heapUsed growth (after full GCs) over 1,000 sequential paid purchases on one companion, in-memory transport, child with --expose-gc',
  async run() {
    const n = 1000;
    const r = await runChild<{ growthMB: number; heapBeforeMB: number; heapAfterMB: number; paid: number; msPerPurchase: number; transportLive: number }>(
      join(repoRoot, 'bench/children/heap.ts'),
      [String(n), '100'],
      ['--expose-gc'],
      180_000,
    );
    if (r.paid !== n + 100) throw new Error(`only ${r.paid} purchases were paid`);
    return {
      value: round(r.growthMB),
      notes: { purchases: n, 'heap before MB': round(r.heapBeforeMB), 'heap after MB': round(r.heapAfterMB), 'ms/purchase': round(r.msPerPurchase) },
    };
  },
};
