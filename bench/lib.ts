/**
 * Shared pieces of `npm run bench`: the figure contract, statistics, and a
 * helper to run a measurement in a fresh child process.
 *
 * Every figure returns one number compared with a target. Where the issue
 * asks for it, the number is a RATIO against a baseline measured in the same
 * run, interleaved with the measured code, because these machines are noisy
 * and an absolute time is not evidence.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type Op = '>=' | '<=';

export interface FigureResult {
  value: number;
  /** Extra facts printed in the human table (baseline, samples, rate held, ...). */
  notes?: Record<string, string | number>;
}

export interface Figure {
  name: string;
  unit: string;
  op: Op;
  target: number;
  /** One line: what the number means. */
  what: string;
  run(): Promise<FigureResult>;
}

export function meets(op: Op, value: number, target: number): boolean {
  return op === '>=' ? value >= target : value <= target;
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Round for display: 3 significant decimals for small values, fewer for large. */
export function round(v: number): number {
  if (!Number.isFinite(v)) return v;
  const a = Math.abs(v);
  const d = a >= 100 ? 1 : a >= 10 ? 2 : 3;
  return Number(v.toFixed(d));
}

/** Scale iteration counts: BENCH_SCALE=0.2 for a quick look, 1 by default. */
export function scaled(n: number, min = 1): number {
  const s = Number(process.env.BENCH_SCALE ?? '1');
  return Math.max(min, Math.round(n * (Number.isFinite(s) && s > 0 ? s : 1)));
}

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Run `node [nodeArgs] [--import tsx] <script> [args]` in a fresh process and
 * parse the last stdout line that starts with `RESULT ` as JSON.
 */
export function runChild<T>(script: string, args: string[] = [], nodeArgs: string[] = [], timeoutMs = 120_000, tsx = true): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, ...(tsx ? ['--import', 'tsx'] : []), script, ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} timed out after ${timeoutMs} ms\n${err}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) return reject(new Error(`${script} exited ${code}\n${err}\n${out}`));
      try {
        resolve(JSON.parse(line.slice('RESULT '.length)) as T);
      } catch (e) {
        reject(e);
      }
    });
  });
}
