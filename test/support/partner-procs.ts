/**
 * For the multi-process and chaos suites: start / kill partner backend processes
 * (test/support/partner-http-worker.ts, the real handlers behind the
 * node-http adapter), a keep-alive signed-delivery client, a bounded worker
 * pool, and a TCP forwarder whose target can be switched (a backend that is
 * restarted on a new port keeps the URL the platform knows).
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { formatTskDatetime, signRsa2, validateJson, verifyRsa2, type KeyInput } from '../../src/protocol/index.js';
import type { HttpWorkerArgs } from './partner-http-worker.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const WORKER = join(ROOT, 'test/support/partner-http-worker.ts');
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Worker {
  child: ChildProcessWithoutNullStreams;
  port: number;
  base: string;
  exited: Promise<unknown>;
}

export const liveWorkers = new Set<ChildProcessWithoutNullStreams>();

export async function startWorker(args: HttpWorkerArgs): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(args)], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  liveWorkers.add(child);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((r) => child.once('exit', r));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`worker not ready in 20 s: ${err}`)), 20_000);
    createInterface({ input: child.stdout }).once('line', (l) => {
      clearTimeout(t);
      resolve((JSON.parse(l) as { ready: number }).ready);
    });
    void exited.then(() => {
      clearTimeout(t);
      reject(new Error(`worker exited: ${err}`));
    });
  });
  return { child, port, base: `http://127.0.0.1:${port}`, exited };
}

export async function killWorker(c: ChildProcessWithoutNullStreams): Promise<void> {
  liveWorkers.delete(c);
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
  clearTimeout(timer);
}

export const hookRuns = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { tradeNo: string; attempt: number; pid: number })
    : [];

/** Run `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}

/** A signed POST the way the platform sends it; verifies the reply with `replyKey`. */
export class SignedClient {
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  constructor(
    private readonly platformKey: KeyInput,
    private readonly replyKey: KeyInput,
  ) {}

  post(url: string, message: object, timeoutMs = 15_000): Promise<{ retCode: string; retMsg?: string }> {
    const body = Buffer.from(JSON.stringify(message));
    const authorization = signRsa2(body, this.platformKey, { datetime: formatTskDatetime(Date.now()) });
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          agent: this.agent,
          timeout: timeoutMs,
          headers: { 'content-type': 'application/json', authorization, 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            try {
              const raw = Buffer.concat(chunks);
              assert.equal(res.statusCode, 200, `HTTP ${res.statusCode}`);
              const v = verifyRsa2(raw, res.headers.authorization, this.replyKey);
              assert.ok(v.ok, 'reply signed by the skill');
              const parsed = validateJson('deliverNotifyReply', raw);
              assert.ok(parsed.ok, 'valid reply');
              resolve(parsed.value);
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`POST ${url} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A TCP forwarder on 127.0.0.1:0 to a switchable port (undefined: refuse by closing). */
export async function startForwarder(): Promise<{ port: number; target: number | undefined; close(): Promise<void>; setTarget(p: number | undefined): void }> {
  const sockets = new Set<net.Socket>();
  const state = { target: undefined as number | undefined };
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (state.target === undefined) return void client.destroy();
    const upstream = net.connect(state.target, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    get target() {
      return state.target;
    },
    setTarget(p) {
      state.target = p;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
