import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScript, runSimulation, ScriptError, FAULTS, MILESTONES, type Script } from '../../demo/simulate.js';
import { parseOptions, str, UsageError, write, type Command } from '../io.js';

/**
 * The scripts shipped with the package: src/demo/scripts/*.json, copied to
 * dist/demo/scripts/ by the build (the same relative place from src/cli/ and
 * dist/cli/).
 */
export const SHIPPED_SCRIPTS_DIR = fileURLToPath(new URL('../../demo/scripts/', import.meta.url));

/** Names of the shipped scripts (file names without .json), sorted. */
export function shippedScripts(): string[] {
  try {
    return readdirSync(SHIPPED_SCRIPTS_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();
  } catch {
    return [];
  }
}

/**
 * `--script VALUE`: a file when one exists at that path, else the name of a
 * shipped script (with or without .json). Neither: an ENOENT error (exit 1)
 * that names the shipped scripts.
 */
export function resolveScript(value: string): string {
  if (existsSync(value) && statSync(value).isFile()) return value;
  const names = shippedScripts();
  const name = value.endsWith('.json') ? value.slice(0, -'.json'.length) : value;
  if (names.includes(name)) return resolve(SHIPPED_SCRIPTS_DIR, `${name}.json`);
  const e: NodeJS.ErrnoException = new Error(
    `--script ${value}: no such file, and no shipped script of that name` + (names.length ? ` (shipped: ${names.join(', ')})` : ''),
  );
  e.code = 'ENOENT';
  throw e;
}

export const simulate: Command = {
  summary: 'replay a dialog script against a sandbox; JSON-lines transcript; exit 0 iff every expectation held',
  get usage() {
    return `Usage: dingdang-pay simulate --script FILE|NAME [--mode screen|screenless] [--config FILE] [--scf]

Starts its own sandbox (with the example audiobook skill on a fresh SQLite
file, unless --config names other skills), runs the device companion with the
real HTTP + WebSocket transport, and replays the script. Every device event is
printed on stdout as one JSON line. Exit 0 iff every expectation held; exit 1
with the failed step (also on stderr) otherwise; 2 for a bad script.

Script (JSON):
  { "mode"?: "screen"|"screenless", "payWindowSeconds"?: N, "expectTimeoutMs"?: N,
    "steps": [ ... ] }
Steps:
  {"say": "我要听万古神帝第35集"}   what the user says (to the purchase, else the platform)
  {"touch": "buy"}                 buy | cancel | refresh | retry | close
  {"pay": "success"}               on the phone / in the app: success | fail | cancel | none
  {"fault": "drop-socket"}         ${Object.keys(FAULTS).join(' | ')}
                                   (or an object of sandbox fault settings)
  {"ownElsewhere": true}           the same goods get bought meanwhile on another device
  {"player": "end"}                the player: end (the episode played to its end) | next | previous | pause | continue | stop
  {"wait": 500}                    milliseconds
  {"expect": "paid"}               waits (bounded, "timeoutMs" per step) for a milestone:
                                   ${MILESTONES.join(' | ')}
  {"expectSpeech": "开始播放"}      waits for the speaker to say something containing this
  {"expectPlaying": "第4集"}        waits for an item to start playing whose title contains this
  {"expectDeliveries": 1}          the example skill delivered exactly this many times
Each expect looks at what happened since the previous expectation matched.
After the last step, an order delivered more than once fails the run.

Options:
  --script FILE   the dialog script (required): a JSON file, or the name of a
  --script NAME   script shipped with the package:
                    ${wrap(shippedScripts().join(', '), 60).join('\n                    ')}
  --mode M        overrides the script's mode (default screen)
  --config FILE   a sandbox config (see dingdang-pay sandbox --help) instead of the example skill
  --scf           run the example skill as an SCF function (the wrapped form on /skill,
                  "deployment": "scf" in its record); not with --config
  -h, --help      show this help`;
  },
  async run(argv, io) {
    const { values } = parseOptions(argv, { script: { type: 'string' }, mode: { type: 'string' }, config: { type: 'string' }, scf: { type: 'boolean' } });
    if (values.help) return (write(io.stdout, this.usage), 0);
    const given = str(values.script);
    if (!given) throw new UsageError('--script FILE|NAME is required');
    const mode = str(values.mode);
    if (mode !== undefined && mode !== 'screen' && mode !== 'screenless')
      throw new UsageError(`--mode must be screen or screenless, got ${JSON.stringify(mode)}`);
    const config = str(values.config);
    if (config !== undefined && values.scf)
      throw new UsageError('--scf runs the example skill: not with --config (set "deployment": "scf" in its skill records)');
    const file = resolveScript(given);
    let script: Script;
    try {
      script = parseScript(JSON.parse(readFileSync(file, 'utf8')));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw e;
      if (e instanceof ScriptError || e instanceof SyntaxError) throw new UsageError(`${given}: ${e.message}`);
      throw e;
    }
    const result = await runSimulation({
      script,
      ...(mode !== undefined ? { mode } : {}),
      ...(config !== undefined ? { configFile: resolve(config) } : {}),
      ...(values.scf ? { deployment: 'scf' as const } : {}),
      emit: (event) => io.stdout.write(JSON.stringify(event) + '\n'),
    });
    if (result.ok) {
      write(io.stderr, `simulate: ${given}: ${result.steps} steps, every expectation held`);
      return 0;
    }
    const where = result.failedStep ? `step ${result.failedStep} ${JSON.stringify(result.step)}` : 'final check';
    write(io.stderr, `simulate: ${given}: FAILED at ${where}: ${result.message}`);
    return 1;
  },
};

/** Words of `text` (split after ", ") in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
