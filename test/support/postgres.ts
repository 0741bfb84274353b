/**
 * A throwaway PostgreSQL server for tests: `initdb` + `pg_ctl` on a fresh
 * temporary directory, trust auth, listening on 127.0.0.1 on a free port with
 * its unix socket in that directory. One server per test file: start it in
 * before(), `stop()` it in after() (it also stops at process exit if a test
 * file forgot). When running as root (CI), initdb refuses root, so the
 * directory belongs to the `postgres` user and the binaries run through
 * `runuser -u postgres --` (or `su postgres -s /bin/sh -c`).
 *
 * Needs the server binaries (apt-get install postgresql): see
 * `postgresSkipReason()`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';

export const POSTGRES_SKIP = 'install postgresql (apt-get install postgresql) to run this';

export interface PostgresServer {
  /** Connection string of the `postgres` database, e.g. postgresql://postgres@127.0.0.1:54321/postgres */
  url: string;
  port: number;
  /** Temporary directory (data directory, log, socket). */
  dir: string;
  /** Create a fresh database and return its connection string. */
  createDatabase(name?: string): Promise<string>;
  /** Stop the server and delete its directory (idempotent). */
  stop(): Promise<void>;
}

const BINARIES = ['initdb', 'pg_ctl', 'postgres'];

/** Directory holding initdb, pg_ctl and postgres (newest version first), or undefined. */
export function findPostgresBin(): string | undefined {
  if (process.env.DDP_PG_BIN && BINARIES.every((b) => existsSync(join(process.env.DDP_PG_BIN!, b)))) return process.env.DDP_PG_BIN;
  const candidates: string[] = [];
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(base, v, 'bin')));
  }
  candidates.push(...(process.env.PATH ?? '').split(delimiter).filter(Boolean));
  return candidates.find((d) => BINARIES.every((b) => existsSync(join(d, b))));
}

interface PgUser {
  uid: number;
  gid: number;
}

function postgresUser(): PgUser | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === 'postgres' && f[2] && f[3]) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {}
  return undefined;
}

const isRoot = () => process.getuid?.() === 0;
const hasRunuser = () => ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser', '/bin/runuser'].find(existsSync);

/** Why the PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresSkipReason(): string | undefined {
  if (!findPostgresBin()) return POSTGRES_SKIP;
  if (isRoot() && !postgresUser()) return 'running as root needs the postgres user: ' + POSTGRES_SKIP;
  return undefined;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** argv to run a server binary, as the postgres user when we are root. */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  if (!isRoot()) return [cmd, args];
  const runuser = hasRunuser();
  if (runuser) return [runuser, ['-u', 'postgres', '--', cmd, ...args]];
  return ['su', ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map(shq).join(' ')]];
}

interface RunResult {
  code: number | null;
  output: string;
}

/** Run a command with a hard timeout; never hangs (resolves on exit, output as collected). */
function run(cmd: string, args: string[], timeoutMs: number, cwd: string): Promise<RunResult> {
  const [c, a] = asServerUser(cmd, args);
  return new Promise((resolve) => {
    let output = '';
    // cwd: a directory the postgres user may enter (the checkout may live in root's 0700 home)
    const child = spawn(c, a, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      output += `\n[timed out after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, output: output + String(e) });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      // pg_ctl's daemon child may keep no pipe open (it logs to -l), but do not wait for 'close' anyway
      setImmediate(() => resolve({ code, output }));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function canConnect(url: string, timeoutMs: number): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (e) {
    return String(e);
  } finally {
    await client.end().catch(() => {});
  }
}

const running = new Set<{ bin: string; data: string; dir: string }>();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const s of running) {
      const [c, a] = asServerUser(join(s.bin, 'pg_ctl'), ['-D', s.data, '-m', 'immediate', '-w', '-t', '5', 'stop']);
      spawnSync(c, a, { cwd: s.dir, stdio: 'ignore', timeout: 6000 });
      rmSync(s.dir, { recursive: true, force: true });
    }
  });
}

/**
 * A detached shell that waits for this test process to disappear (even by
 * SIGKILL, when no exit hook runs) and then stops the server and deletes its
 * directory. stop() kills it (by its pid) once the server is stopped normally.
 */
function startWatchdog(bin: string, data: string, dir: string): number | undefined {
  const [c, a] = asServerUser(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '5', 'stop']);
  const stop = [c, ...a].map(shq).join(' ');
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${stop} >/dev/null 2>&1; rm -rf ${shq(dir)}`;
  try {
    const child = spawn('/bin/sh', ['-c', script], { cwd: dir, detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
    return child.pid;
  } catch {
    return undefined;
  }
}

export interface StartOptions {
  /** Upper bound for initdb + start (ms). Default 45000. */
  timeoutMs?: number;
}

/** Start a throwaway server. Throws (with the server log) when it cannot; check postgresSkipReason() first. */
export async function startPostgres(options: StartOptions = {}): Promise<PostgresServer> {
  const deadline = Date.now() + (options.timeoutMs ?? 45_000);
  const left = () => Math.max(1000, deadline - Date.now());
  const bin = findPostgresBin();
  if (!bin) throw new Error(POSTGRES_SKIP);
  const user = isRoot() ? postgresUser() : undefined;
  if (isRoot() && !user) throw new Error('running as root needs the postgres user: ' + POSTGRES_SKIP);

  // as root use /tmp (TMPDIR may point somewhere the postgres user cannot enter)
  const dir = mkdtempSync(join(isRoot() ? '/tmp' : tmpdir(), 'ddp-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const entry = { bin, data, dir };
  const cleanup = () => rmSync(dir, { recursive: true, force: true });

  const init = await run(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
    Math.min(left(), 30_000),
    dir,
  );
  if (init.code !== 0) {
    cleanup();
    throw new Error(`initdb failed (${init.code}):\n${init.output}`);
  }

  let port = 0;
  let lastError = '';
  for (let attempt = 0; attempt < 3 && Date.now() < deadline; attempt++) {
    port = await freePort();
    const opts = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${dir}`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=100',
      '-c shared_buffers=32MB',
    ].join(' ');
    const startWait = Math.max(5, Math.min(20, Math.floor(left() / 1000) - 2));
    const started = await run(join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-w', '-t', String(startWait), '-o', opts, 'start'], (startWait + 5) * 1000, dir);
    running.add(entry);
    installExitHook();
    if (started.code === 0) {
      const err = await canConnect(`postgresql://postgres@127.0.0.1:${port}/postgres`, 5000);
      if (!err) {
        lastError = '';
        break;
      }
      lastError = err;
    } else {
      lastError = started.output;
    }
    // maybe the port was taken between freePort() and the start: stop whatever runs and try another
    await run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '5', 'stop'], 8000, dir);
    let serverLog = '';
    try {
      serverLog = readFileSync(log, 'utf8').slice(-2000);
    } catch {}
    lastError += `\n--- server log ---\n${serverLog}`;
  }
  if (lastError) {
    running.delete(entry);
    cleanup();
    throw new Error(`could not start PostgreSQL from ${bin}:\n${lastError}`);
  }

  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const watchdog = startWatchdog(bin, data, dir);
  let stopped = false;
  let dbSeq = 0;
  return {
    url,
    port,
    dir,
    async createDatabase(name?: string) {
      const db = name ?? `t_${process.pid}_${dbSeq++}`;
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(db)) throw new Error(`bad database name ${db}`);
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, query_timeout: 15_000 });
      client.on('error', () => {});
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${db}`);
      } finally {
        await client.end().catch(() => {});
      }
      return `postgresql://postgres@127.0.0.1:${port}/${db}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const r = await run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '10', 'stop'], 15_000, dir);
      if (r.code !== 0) await run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '5', 'stop'], 8000, dir);
      running.delete(entry);
      cleanup();
      if (watchdog !== undefined) {
        try {
          process.kill(watchdog, 'SIGKILL');
        } catch {}
      }
    },
  };
}
