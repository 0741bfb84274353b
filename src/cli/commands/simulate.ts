import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseScript, runSimulation, ScriptError, FAULTS, MILESTONES, type Script } from '../../demo/simulate.js';
import { parseOptions, str, UsageError, write, type Command } from '../io.js';

export const simulate: Command = {
  summary: 'replay a dialog script against a sandbox; JSON-lines transcript; exit 0 iff every expectation held',
  usage: `Usage: dingdang-pay simulate --script FILE [--mode screen|screenless] [--config FILE]

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
  {"wait": 500}                    milliseconds
  {"expect": "paid"}               waits (bounded, "timeoutMs" per step) for a milestone:
                                   ${MILESTONES.join(' | ')}
  {"expectSpeech": "开始播放"}      waits for the speaker to say something containing this
  {"expectDeliveries": 1}          the example skill delivered exactly this many times
Each expect looks at what happened since the previous expectation matched.
After the last step, an order delivered more than once fails the run.

Options:
  --script FILE   the dialog script (required); examples/scripts/*.json
  --mode M        overrides the script's mode (default screen)
  --config FILE   a sandbox config (see dingdang-pay sandbox --help) instead of the example skill
  -h, --help      show this help`,
  async run(argv, io) {
    const { values } = parseOptions(argv, { script: { type: 'string' }, mode: { type: 'string' }, config: { type: 'string' } });
    if (values.help) return write(io.stdout, this.usage), 0;
    const file = str(values.script);
    if (!file) throw new UsageError('--script FILE is required');
    const mode = str(values.mode);
    if (mode !== undefined && mode !== 'screen' && mode !== 'screenless') throw new UsageError(`--mode must be screen or screenless, got ${JSON.stringify(mode)}`);
    const config = str(values.config);
    let script: Script;
    try {
      script = parseScript(JSON.parse(readFileSync(file, 'utf8')));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw e;
      if (e instanceof ScriptError || e instanceof SyntaxError) throw new UsageError(`${file}: ${(e as Error).message}`);
      throw e;
    }
    const result = await runSimulation({
      script,
      ...(mode !== undefined ? { mode } : {}),
      ...(config !== undefined ? { configFile: resolve(config) } : {}),
      emit: (event) => io.stdout.write(JSON.stringify(event) + '\n'),
    });
    if (result.ok) {
      write(io.stderr, `simulate: ${file}: ${result.steps} steps, every expectation held`);
      return 0;
    }
    const where = result.failedStep ? `step ${result.failedStep} ${JSON.stringify(result.step)}` : 'final check';
    write(io.stderr, `simulate: ${file}: FAILED at ${where}: ${result.message}`);
    return 1;
  },
};
