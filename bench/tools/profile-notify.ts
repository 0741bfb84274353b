/**
 * Where does the in-process delivery handler spend its time? Profiles ONLY
 * the handler calls (requests are prepared first, outside the profile) with
 * the inspector and writes a .cpuprofile, then prints the summary.
 *   node --import tsx bench/tools/profile-notify.ts [N=2000] [OUT=/tmp/notify.cpuprofile]
 * Run with TMPDIR=/dev/shm to take the disk's fsync out of the picture.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { spawnSync } from 'node:child_process';
import { rig } from '../figures/notify.js';
import { nowMs } from '../lib.js';

const n = Number(process.argv[2] ?? 2000);
const out = process.argv[3] ?? '/tmp/notify.cpuprofile';
const r = await rig();
const warm = await r.requests(200);
for (const q of warm) await r.handlers.deliver(q);
const reqs = await r.requests(n);
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
await session.post('Profiler.start');
const t0 = nowMs();
for (const q of reqs) await r.handlers.deliver(q);
const ms = nowMs() - t0;
const { profile } = await session.post('Profiler.stop');
writeFileSync(out, JSON.stringify(profile));
await r.close();
console.log(`${n} deliveries, ${(ms / n).toFixed(3)} ms each; profile in ${out}`);
spawnSync(process.execPath, ['--import', 'tsx', new URL('./profile-summary.ts', import.meta.url).pathname, out, '25'], { stdio: 'inherit' });
