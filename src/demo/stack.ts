/**
 * The demo stack on one machine: the example audiobook skill backend (partner
 * kit, SQLite) and the sandbox platform configured with that skill's record,
 * each on its own HTTP server on 127.0.0.1. Both run in this process; they
 * talk to each other only over HTTP, signed both ways, exactly as two separate
 * processes would (the skill prints its record; the sandbox takes it and
 * hands back its TSKPublicKey).
 *
 * Used by `dingdang-pay demo`, `dingdang-pay simulate` and the end-to-end tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSandboxConfig, parseSandboxConfig, type SandboxConfig } from '../sandbox/config.js';
import type { SandboxClient } from '../sandbox/client.js';
import { Sandbox, type SandboxOptions } from '../sandbox/sandbox.js';

export type { SkillRecord as ExampleSkillRecord } from './example-skill/server.js';
import type { SkillRecord as ExampleSkillRecord } from './example-skill/server.js';

export interface DeliveryInfo {
  tradeNo: string;
  userToken: string;
  itemIds: string[];
  attempt: number;
}

export { DemoError } from './errors.js';
import { DemoError } from './errors.js';

/** The example audiobook skill (part of the package since 2026-12-01; it used to live in examples/). */
export async function loadExampleSkill(): Promise<typeof import('./example-skill/server.js')> {
  return import('./example-skill/server.js');
}

export interface DemoStackOptions {
  /** Port of the sandbox (default 0: a free one). */
  sandboxPort?: number;
  /** Port of the skill backend (default 0). */
  skillPort?: number;
  /** SQLite file of the skill; default a fresh file in a temp dir, removed on close. */
  dbFile?: string;
  /** A config file naming other skills instead of the example (simulate --config). */
  configFile?: string;
  /** Sandbox options (payWindowMs, timeScale, processingMs, device …). */
  sandbox?: Omit<SandboxOptions, 'config' | 'port' | 'host'>;
  /** Log lines of the skill (deliveries, refusals); default: dropped. */
  log?: (line: string) => void;
  /**
   * How the example skill's custom-skill endpoint runs: `http` (default) or
   * `scf` (the SCF wrapped form on `/skill`, record `"deployment": "scf"`).
   * Not with `configFile`.
   */
  deployment?: 'http' | 'scf';
  /** Length of the example's episode audio, seconds (default 30). */
  clipSeconds?: number;
  /** The example skill's background reconciler (default on; see `AudiobookServerOptions.reconcile`). */
  reconcile?: false | { intervalMs?: number; minAgeMs?: number };
}

export interface DemoStack {
  sandbox: Sandbox;
  /** The typed client of the sandbox's control API (carrying the sandbox's control token). */
  client: SandboxClient;
  config: SandboxConfig;
  /** The example skill's record; undefined when a config file named other skills. */
  skill: ExampleSkillRecord | undefined;
  /** Where the skill keeps its SQLite database (undefined with a config file). */
  dbFile: string | undefined;
  /** Every run of the example skill's deliver hook, in order (tradeNo, attempt…). */
  deliveries: DeliveryInfo[];
  /** Deliveries per tradeNo (the hook ran this many times). */
  deliveryCount(tradeNo: string): number;
  close(): Promise<void>;
}

/** `{ deviceToken }` of a sandbox that issues one (no device list), else `{}`: spread into a device transport's options. */
export function deviceTokenOf(sandbox: Pick<Sandbox, 'deviceToken'>): { deviceToken?: string } {
  return sandbox.deviceToken !== undefined ? { deviceToken: sandbox.deviceToken } : {};
}

/** Start the example skill and a sandbox configured with its record (or a sandbox from `configFile`). */
export async function startDemoStack(options: DemoStackOptions = {}): Promise<DemoStack> {
  const deliveries: DeliveryInfo[] = [];
  const log = options.log ?? (() => {});
  if (options.configFile !== undefined) {
    if (options.deployment === 'scf')
      throw new DemoError('the SCF option runs the example skill: not with a config file (set "deployment" in the file\'s skill records)');
    const config = loadSandboxConfig(options.configFile);
    const sandbox = await Sandbox.start({ ...options.sandbox, config, port: options.sandboxPort ?? 0 });
    return {
      sandbox,
      client: sandbox.client(),
      config,
      skill: undefined,
      dbFile: undefined,
      deliveries,
      deliveryCount: () => 0,
      close: () => sandbox.close(),
    };
  }

  let tmp: string | undefined;
  let dbFile = options.dbFile;
  if (dbFile === undefined) {
    tmp = mkdtempSync(join(tmpdir(), 'dingdang-demo-'));
    dbFile = join(tmp, 'audiobook.sqlite');
  }
  const cleanup: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const fn of cleanup.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // keep closing the rest
      }
    }
  };
  if (tmp) cleanup.push(() => rmSync(tmp, { recursive: true, force: true }));
  try {
    const { startAudiobookSkill } = await loadExampleSkill();
    const skill = await startAudiobookSkill({
      port: options.skillPort ?? 0,
      dbFile,
      onDeliver: (d) => deliveries.push({ ...d }),
      log,
      ...(options.deployment !== undefined ? { deployment: options.deployment } : {}),
      ...(options.clipSeconds !== undefined ? { clipSeconds: options.clipSeconds } : {}),
      ...(options.reconcile !== undefined ? { reconcile: options.reconcile } : {}),
    });
    cleanup.push(() => skill.close());
    // The record the example prints is exactly a sandbox config skill (plus its base `url`).
    const { url: _url, ...record } = skill.record;
    const config = parseSandboxConfig({ skills: [{ ...record, name: '有声书 (example)' }] });
    const sandbox = await Sandbox.start({ ...options.sandbox, config, port: options.sandboxPort ?? 0 });
    cleanup.push(() => sandbox.close());
    skill.configurePlatform({ tskPublicKey: sandbox.tskPublicKey, payBaseUrl: sandbox.url });
    if (!skill.platformConfigured) throw new DemoError('the example skill did not take the sandbox key');
    return {
      sandbox,
      client: sandbox.client(),
      config,
      skill: skill.record,
      dbFile,
      deliveries,
      deliveryCount: (tradeNo) => deliveries.filter((d) => d.tradeNo === tradeNo).length,
      close,
    };
  } catch (e) {
    await close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new DemoError(`a port is in use (${(e as Error).message}); pick another with --port / --sandbox-port`, { cause: e });
    throw e;
  }
}
