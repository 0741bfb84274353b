/**
 * Dialog scripts, replayed against a sandbox: the device companion runs in
 * this process with the real HTTP + WebSocket transport; the script says
 * things, touches the screen, pays (or not) through the sandbox's control
 * API, injects faults and waits for milestones. Every device event goes to a
 * JSON-lines transcript.
 *
 * The parts: the script and its parser (simulate-script.ts), the record of
 * what happened (simulate-transcript.ts), the acting steps
 * (simulate-steps.ts), the expectations and the final check
 * (simulate-expectations.ts); this runs them in order.
 */
import { createNodeTransport, DeviceCompanion } from '../device/node.js';
import { SpeakerHost } from './host.js';
import { checkExpectation, finalCheck, type ExpectationContext } from './simulate-expectations.js';
import type { Mode, Step, Script } from './simulate-script.js';
import { isAction, runAction } from './simulate-steps.js';
import { DeliveryWatch, StepFailure, Transcript } from './simulate-transcript.js';
import { platformSay } from './speaker-server.js';
import { deviceTokenOf, startDemoStack, type DemoStack } from './stack.js';

export { FAULTS, MILESTONES, parseScript, ScriptError, type Milestone, type Mode, type Script, type Step } from './simulate-script.js';

export interface SimulationOptions {
  script: Script;
  /** Overrides the script's mode. */
  mode?: Mode;
  /** A sandbox config naming other skills (default: the example audiobook skill). */
  configFile?: string;
  /** Run the example skill as an SCF function (the wrapped form); not with `configFile`. */
  deployment?: 'http' | 'scf';
  /** One transcript line (a JSON object) at a time. */
  emit: (event: Record<string, unknown>) => void;
  /** Default timeout of each expectation, ms (default 10 000; the script's expectTimeoutMs wins). */
  expectTimeoutMs?: number;
}

export interface SimulationResult {
  ok: boolean;
  steps: number;
  /** 1-based index of the failed step (0 for a failed final check). */
  failedStep?: number;
  step?: Step;
  message?: string;
}

/** Run a script. Never throws for a failed expectation: the result says which step failed. */
export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const { script } = options;
  const mode: Mode = options.mode ?? script.mode ?? 'screen';
  const started = Date.now();
  const stack: DemoStack = await startDemoStack({
    ...(options.configFile !== undefined ? { configFile: options.configFile } : {}),
    ...(options.deployment !== undefined ? { deployment: options.deployment } : {}),
    sandbox: {
      timeScale: 0.01,
      callTimeoutMs: 2000,
      ...(script.payWindowSeconds !== undefined ? { payWindowMs: script.payWindowSeconds * 1000 } : {}),
      device: { repeatStatusMs: 2000 },
    },
  });
  const deviceId = 'sim-speaker';
  const companion = new DeviceCompanion({
    transport: createNodeTransport({
      platformUrl: stack.sandbox.url,
      tskPublicKey: stack.sandbox.tskPublicKey,
      deviceId,
      pollIntervalMs: 1000,
      ...deviceTokenOf(stack.sandbox),
    }),
    mode,
    countdownMs: 0,
  });
  const host = new SpeakerHost(companion, (text) => platformSay(stack.client, text, deviceId, mode));
  const transcript = new Transcript(options.emit, started);
  transcript.watch(companion, host);
  const deliveries = new DeliveryWatch(stack.client, stack.deliveries, transcript);
  deliveries.start();
  const ctx: ExpectationContext = {
    client: stack.client,
    host,
    transcript,
    deliveries,
    defaultTimeout: script.expectTimeoutMs ?? options.expectTimeoutMs ?? 10_000,
    hookRuns: stack.skill ? stack.deliveries : undefined,
    deviceState: () => companion.state,
  };

  transcript.emit('start', {
    sandbox: stack.sandbox.url,
    mode,
    skills: stack.config.skills.map((s) => s.skillId),
    // Skills the sandbox calls in the SCF wrapped form (only when there are any).
    ...(stack.config.skills.some((s) => s.deployment === 'scf')
      ? { scfSkills: stack.config.skills.filter((s) => s.deployment === 'scf').map((s) => s.skillId) }
      : {}),
    steps: script.steps.length,
    ...(script.description ? { description: script.description } : {}),
  });
  const milestones = () => transcript.milestones.map((m) => m.name);
  try {
    for (let i = 0; i < script.steps.length; i++) {
      const step = script.steps[i]!;
      transcript.emit('step', { step: i + 1, ...step });
      try {
        await (isAction(step) ? runAction(step, ctx) : checkExpectation(step, ctx));
      } catch (e) {
        const message = e instanceof StepFailure ? e.message : `${(e as Error).name}: ${(e as Error).message}`;
        transcript.emit('fail', { step: i + 1, ...step, message, milestones: milestones(), state: companion.state ?? null });
        return { ok: false, steps: script.steps.length, failedStep: i + 1, step, message };
      }
    }
    // Final check: exactly-once delivery for the example skill, whatever the script asked.
    const message = await finalCheck(ctx);
    if (message !== undefined) {
      transcript.emit('fail', { step: 0, message });
      return { ok: false, steps: script.steps.length, failedStep: 0, message };
    }
    transcript.emit('done', { ok: true, milestones: milestones(), deliveries: stack.deliveries.length });
    return { ok: true, steps: script.steps.length };
  } finally {
    await deliveries.stop();
    host.stop();
    await stack.close();
  }
}
