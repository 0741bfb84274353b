/**
 * Sandbox configuration (JSON):
 *
 *   { "skills": [{ "skillId", "skillEndpoint", "skillSecret", "createOrderUrl",
 *                  "deliverUrl", "refundNotifyUrl"?, "skillPublicKey",
 *                  "invocationName"?, "accountLinking"?, "deviceMaker"?,
 *                  "accountLinkingUrl"?, "responseTimeoutMs"?, "strictSchema"?,
 *                  "deployment"?, "utterances"? }],
 *     "platformPrivateKey"?, "devices"?: [{ "deviceId", "deviceToken"? }] }
 *
 * Keys are PEM text, the bare Base64 of their DER, or a path to a file holding
 * either (relative paths are resolved against the config file's directory).
 * When `platformPrivateKey` is absent a fresh RSA-2048 pair is generated.
 * Every problem is a `SandboxConfigError` naming the field.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { DingDangPayError } from '../protocol/errors.js';
import { generateTskKeyPair, loadPrivateKey, loadPublicKey, publicKeyToBase64 } from '../protocol/tsk-node.js';
import { DEVICE_ID_RE } from '../protocol/device-link.js';
import { SandboxConfigError } from './errors.js';

/**
 * How the sandbox's NLU fills a slot (our own, much smaller stand-in for the
 * platform's entity types): `text` — the words as said; `number` — the words
 * as said in `origin`, the number in digits in `value` ("三十五" → "35",
 * "第35集" → "35"); `{ entity: [...] }` — a custom entity (SKILL-PROTOCOL §3:
 * a `text` value, `value` the normalised entity, `origin` the words said): the
 * slot hears only one of the entity's values or synonyms, so "上一集" is no
 * album. How an entity is written here is our own extension (the platform
 * keeps entities in the skill's console, not in a published format).
 */
export type SlotKind = 'text' | 'number' | EntitySlotKind;
export const SLOT_KINDS: readonly ('text' | 'number')[] = ['text', 'number'];

/** One value of a custom entity: the normalised value and other words that mean it. */
export interface EntityValue {
  value: string;
  synonyms?: string[];
}

/** A slot of a custom entity type (see SlotKind). */
export interface EntitySlotKind {
  entity: EntityValue[];
}

/** Bounds of an entity in the config (our own): values per entity, characters per value or synonym. */
export const MAX_ENTITY_VALUES = 10_000;
export const MAX_ENTITY_WORD_CHARS = 64;

/**
 * The design of one intent: sample utterances (`{slot}` marks a slot, e.g.
 * "我要听{album}第{index}集") and the kinds of its slots. A slot without a kind
 * is `number` when it is called `index`, `number` or `count`, else `text`.
 * A slot may be declared without appearing in any sample (it can only be
 * filled by `Dialog.ElicitSlot`).
 */
export interface UtteranceSpec {
  intent: string;
  samples: string[];
  slots?: Record<string, SlotKind>;
}

/** The kind of a slot of an intent design (see UtteranceSpec). */
export function slotKind(spec: Pick<UtteranceSpec, 'slots'> | undefined, slot: string): SlotKind {
  const declared = spec?.slots?.[slot];
  if (declared) return declared;
  return slot === 'index' || slot === 'number' || slot === 'count' ? 'number' : 'text';
}

/** One skill as written in the config file. */
export interface SkillConfigInput {
  skillId: string;
  skillEndpoint: string;
  skillSecret: string;
  createOrderUrl: string;
  deliverUrl: string;
  refundNotifyUrl?: string;
  skillPublicKey: string;
  utterances?: UtteranceSpec[];
  /** Display name (optional). */
  name?: string;
  /** The name the user opens the skill with: "打开<invocationName>" → LaunchRequest. */
  invocationName?: string;
  /** Account linking configured (a `card` in an answer is allowed). Default false. */
  accountLinking?: boolean;
  /**
   * Our own extension (simulated account linking, docs/sandbox.md): the
   * partner's endpoint that mints a token for a user, `POST { userId }` →
   * `{ accessToken }`. Absent: the sandbox mints an opaque token itself.
   */
  accountLinkingUrl?: string;
  /** A device maker's skill (`feedbackAttributes` allowed). Default false. */
  deviceMaker?: boolean;
  /** The time budget of one skill call, ms; default 1000 (the platform's advice). */
  responseTimeoutMs?: number;
  /** Check answers with the published JSON schema's stricter reading. Default false (the prose). */
  strictSchema?: boolean;
  /** How the skill is deployed: `http` (a web service, the default) or `scf` (a Tencent Cloud SCF function, SKILL-PROTOCOL §1). */
  deployment?: SkillDeployment;
}

/**
 * `http`: the envelope is POSTed as the HTTP body. `scf`: the skill is a
 * Tencent Cloud SCF function; the sandbox POSTs the platform's wrapped form
 * `{ header: { Authorization }, body: "<envelope JSON>" }` to the endpoint (a
 * local stand-in for the function's invocation, our own choice of transport)
 * and reads the wrapped answer `{ header, body: "<answer JSON>" }`.
 */
export type SkillDeployment = 'http' | 'scf';
export const SKILL_DEPLOYMENTS: readonly SkillDeployment[] = ['http', 'scf'];

/** A speaker allowed on the device link; with no `devices` configured any deviceId is accepted without a token. */
export interface DeviceConfig {
  deviceId: string;
  deviceToken?: string;
}

export interface SandboxConfigInput {
  skills: SkillConfigInput[];
  platformPrivateKey?: string;
  devices?: DeviceConfig[];
}

/** A skill with its key loaded. */
export interface SkillConfig {
  skillId: string;
  name: string;
  skillEndpoint: string;
  skillSecret: string;
  createOrderUrl: string;
  deliverUrl: string;
  refundNotifyUrl?: string;
  skillPublicKey: KeyObject;
  /** Declared sample utterances; empty means the built-in audiobook ones. */
  utterances: UtteranceSpec[];
  invocationName?: string;
  accountLinking: boolean;
  /** The partner's token endpoint for simulated account linking (see SkillConfigInput). */
  accountLinkingUrl?: string;
  deviceMaker: boolean;
  /** Time budget of one skill call, real ms. */
  responseTimeoutMs: number;
  strictSchema: boolean;
  /** `http` (default) or `scf` (the wrapped SCF form). */
  deployment: SkillDeployment;
}

export const DEFAULT_RESPONSE_TIMEOUT_MS = 1000;

export interface SandboxConfig {
  skills: SkillConfig[];
  platformPrivateKey: KeyObject;
  /** Bare Base64 SPKI of the platform public key: the `TSKPublicKey` partners and devices verify with. */
  tskPublicKey: string;
  /** True when the key pair was generated because the config named none. */
  generatedKey: boolean;
  /** Known devices; empty = open sandbox (any deviceId, no token). */
  devices: DeviceConfig[];
  /** Unknown fields that were ignored (typos?), one line each. */
  warnings: string[];
}

const SKILL_KEYS = new Set([
  'skillId',
  'skillEndpoint',
  'skillSecret',
  'createOrderUrl',
  'deliverUrl',
  'refundNotifyUrl',
  'skillPublicKey',
  'utterances',
  'name',
  'invocationName',
  'accountLinking',
  'accountLinkingUrl',
  'deviceMaker',
  'responseTimeoutMs',
  'strictSchema',
  'deployment',
]);
const TOP_KEYS = new Set(['skills', 'platformPrivateKey', 'devices', '$schema', 'comment']);
/** Device ids: the device link's pattern (src/protocol/device-link.ts). */
export { DEVICE_ID_RE };

function devices(value: unknown): DeviceConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new SandboxConfigError('devices', 'must be an array of { deviceId, deviceToken? }');
  const seen = new Set<string>();
  return value.map((d, i) => {
    const p = `devices[${i}]`;
    if (!isObject(d)) throw new SandboxConfigError(p, 'must be an object { deviceId, deviceToken? }');
    if (typeof d.deviceId !== 'string' || !DEVICE_ID_RE.test(d.deviceId))
      throw new SandboxConfigError(`${p}.deviceId`, 'must be 1–64 characters of [0-9A-Za-z._-]');
    if (seen.has(d.deviceId)) throw new SandboxConfigError(`${p}.deviceId`, 'duplicate deviceId');
    seen.add(d.deviceId);
    if (d.deviceToken !== undefined && (typeof d.deviceToken !== 'string' || d.deviceToken === '' || d.deviceToken.length > 256))
      throw new SandboxConfigError(`${p}.deviceToken`, 'must be a non-empty string of at most 256 characters');
    return d.deviceToken === undefined ? { deviceId: d.deviceId } : { deviceId: d.deviceId, deviceToken: d.deviceToken };
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function looksLikeKeyText(text: string): boolean {
  if (text.includes('-----BEGIN')) return true;
  const compact = text.replace(/\s+/g, '');
  return compact.length >= 64 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact);
}

/** Key material from PEM / bare Base64 / a file path. */
function keyText(value: unknown, path: string, baseDir: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new SandboxConfigError(path, 'must be PEM text, bare Base64 or a file path');
  if (looksLikeKeyText(value)) return value;
  const file = isAbsolute(value) ? value : resolve(baseDir, value);
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new SandboxConfigError(path, `is neither a key nor a readable file (${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      cause: e,
    });
  }
}

function keyError(path: string, e: unknown): never {
  if (e instanceof SandboxConfigError) throw e;
  const msg = e instanceof DingDangPayError ? e.message : String(e);
  throw new SandboxConfigError(path, msg, { cause: e });
}

function url(value: unknown, path: string, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value === '') throw new SandboxConfigError(path, 'must be an http(s) URL');
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new SandboxConfigError(path, `is not a URL: ${JSON.stringify(value).slice(0, 80)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SandboxConfigError(path, 'must be an http(s) URL');
  return value;
}

function utterances(value: unknown, path: string): UtteranceSpec[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new SandboxConfigError(path, 'must be an array of { intent, samples: [...] }');
  return value.map((u, i) => {
    const p = `${path}[${i}]`;
    if (!isObject(u)) throw new SandboxConfigError(p, 'must be an object { intent, samples }');
    if (typeof u.intent !== 'string' || !/^[\w.:-]{1,64}$/.test(u.intent))
      throw new SandboxConfigError(`${p}.intent`, 'must be a name of 1–64 letters, digits, _ . : -');
    if (!Array.isArray(u.samples) || u.samples.length === 0) throw new SandboxConfigError(`${p}.samples`, 'must be a non-empty array of strings');
    u.samples.forEach((s, j) => {
      if (typeof s !== 'string' || s.trim() === '') throw new SandboxConfigError(`${p}.samples[${j}]`, 'must be a non-empty string');
      if (/\{[^}]*$|^[^{]*\}/.test(s) || /\{(?![A-Za-z_]\w*\})/.test(s)) throw new SandboxConfigError(`${p}.samples[${j}]`, 'slots must look like {name}');
    });
    const out: UtteranceSpec = { intent: u.intent, samples: u.samples as string[] };
    if (u.slots !== undefined) {
      if (!isObject(u.slots)) throw new SandboxConfigError(`${p}.slots`, 'must be an object { slotName: "text" | "number" | { entity: [...] } }');
      const slots: Record<string, SlotKind> = {};
      for (const [name, kind] of Object.entries(u.slots)) {
        if (!/^[A-Za-z_]\w*$/.test(name)) throw new SandboxConfigError(`${p}.slots.${name}`, 'slot names are letters, digits and _');
        slots[name] = slotKindOf(kind, `${p}.slots.${name}`);
      }
      out.slots = slots;
    }
    return out;
  });
}

function slotKindOf(kind: unknown, path: string): SlotKind {
  if (kind === 'text' || kind === 'number') return kind;
  const must = `must be one of ${SLOT_KINDS.join(', ')} or { entity: [value | { value, synonyms }] }`;
  if (!isObject(kind) || !Array.isArray(kind.entity) || Object.keys(kind).length !== 1) throw new SandboxConfigError(path, must);
  if (kind.entity.length === 0 || kind.entity.length > MAX_ENTITY_VALUES)
    throw new SandboxConfigError(`${path}.entity`, `must hold 1–${MAX_ENTITY_VALUES} values`);
  const word = (w: unknown, at: string): string => {
    if (typeof w !== 'string' || w.trim() === '' || w.length > MAX_ENTITY_WORD_CHARS)
      throw new SandboxConfigError(at, `must be a non-empty string of at most ${MAX_ENTITY_WORD_CHARS} characters`);
    return w;
  };
  const entity = kind.entity.map((v, i): EntityValue => {
    const at = `${path}.entity[${i}]`;
    if (typeof v === 'string') return { value: word(v, at) };
    if (!isObject(v)) throw new SandboxConfigError(at, 'must be a string or { value, synonyms? }');
    const out: EntityValue = { value: word(v.value, `${at}.value`) };
    if (v.synonyms !== undefined) {
      if (!Array.isArray(v.synonyms)) throw new SandboxConfigError(`${at}.synonyms`, 'must be an array of strings');
      out.synonyms = v.synonyms.map((w, j) => word(w, `${at}.synonyms[${j}]`));
    }
    return out;
  });
  return { entity };
}

function bool(value: unknown, path: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new SandboxConfigError(path, 'must be true or false');
  return value;
}

function skill(value: unknown, i: number, baseDir: string, warnings: string[]): SkillConfig {
  const p = `skills[${i}]`;
  if (!isObject(value)) throw new SandboxConfigError(p, 'must be an object');
  for (const k of Object.keys(value)) if (!SKILL_KEYS.has(k)) warnings.push(`${p}.${k}: unknown field, ignored`);
  const { skillId, skillSecret, name } = value;
  if (typeof skillId !== 'string' || skillId === '') throw new SandboxConfigError(`${p}.skillId`, 'is required (a string)');
  if (Array.from(skillId).length > 32) throw new SandboxConfigError(`${p}.skillId`, 'must be at most 32 characters');
  if (typeof skillSecret !== 'string' || skillSecret === '') throw new SandboxConfigError(`${p}.skillSecret`, 'is required (a non-empty string)');
  if (name !== undefined && typeof name !== 'string') throw new SandboxConfigError(`${p}.name`, 'must be a string');
  if (value.skillPublicKey === undefined) throw new SandboxConfigError(`${p}.skillPublicKey`, 'is required');
  let skillPublicKey: KeyObject;
  try {
    skillPublicKey = loadPublicKey(keyText(value.skillPublicKey, `${p}.skillPublicKey`, baseDir));
  } catch (e) {
    keyError(`${p}.skillPublicKey`, e);
  }
  const out: SkillConfig = {
    skillId,
    name: name ?? skillId,
    skillEndpoint: url(value.skillEndpoint, `${p}.skillEndpoint`, true)!,
    skillSecret,
    createOrderUrl: url(value.createOrderUrl, `${p}.createOrderUrl`, true)!,
    deliverUrl: url(value.deliverUrl, `${p}.deliverUrl`, true)!,
    skillPublicKey,
    utterances: utterances(value.utterances, `${p}.utterances`),
    accountLinking: bool(value.accountLinking, `${p}.accountLinking`),
    deviceMaker: bool(value.deviceMaker, `${p}.deviceMaker`),
    strictSchema: bool(value.strictSchema, `${p}.strictSchema`),
    responseTimeoutMs: DEFAULT_RESPONSE_TIMEOUT_MS,
    deployment: 'http',
  };
  const dep = value.deployment;
  if (dep !== undefined) {
    if (typeof dep !== 'string' || !(SKILL_DEPLOYMENTS as readonly string[]).includes(dep))
      throw new SandboxConfigError(`${p}.deployment`, 'must be "http" or "scf"');
    out.deployment = dep as SkillDeployment;
  }
  const rt = value.responseTimeoutMs;
  if (rt !== undefined) {
    if (typeof rt !== 'number' || !Number.isInteger(rt) || rt < 1 || rt > 60_000)
      throw new SandboxConfigError(`${p}.responseTimeoutMs`, 'must be an integer 1–60000 (ms)');
    out.responseTimeoutMs = rt;
  }
  const inv = value.invocationName;
  if (inv !== undefined) {
    if (typeof inv !== 'string' || inv.trim() === '' || Array.from(inv).length > 32)
      throw new SandboxConfigError(`${p}.invocationName`, 'must be a non-empty string of at most 32 characters');
    out.invocationName = inv.trim();
  }
  const refund = url(value.refundNotifyUrl, `${p}.refundNotifyUrl`, false);
  if (refund !== undefined) out.refundNotifyUrl = refund;
  const linkUrl = url(value.accountLinkingUrl, `${p}.accountLinkingUrl`, false);
  if (linkUrl !== undefined) {
    if (!out.accountLinking) throw new SandboxConfigError(`${p}.accountLinkingUrl`, 'needs "accountLinking": true');
    out.accountLinkingUrl = linkUrl;
  }
  return out;
}

export interface LoadConfigOptions {
  /** Where relative key paths are resolved; default: the current directory. */
  baseDir?: string;
}

/** Validate a decoded config object and load its keys. Throws `SandboxConfigError`. */
export function parseSandboxConfig(input: unknown, options: LoadConfigOptions = {}): SandboxConfig {
  const baseDir = options.baseDir ?? process.cwd();
  if (!isObject(input)) throw new SandboxConfigError('', 'must be a JSON object { "skills": [...] }');
  const warnings: string[] = [];
  for (const k of Object.keys(input)) if (!TOP_KEYS.has(k)) warnings.push(`${k}: unknown field, ignored`);
  if (!Array.isArray(input.skills) || input.skills.length === 0) throw new SandboxConfigError('skills', 'must be a non-empty array of skills');
  const skills = input.skills.map((s, i) => skill(s, i, baseDir, warnings));
  const seen = new Set<string>();
  skills.forEach((s, i) => {
    if (seen.has(s.skillId)) throw new SandboxConfigError(`skills[${i}].skillId`, `duplicate skillId ${JSON.stringify(s.skillId)}`);
    seen.add(s.skillId);
  });
  const invocations = new Map<string, string>();
  skills.forEach((s, i) => {
    if (s.invocationName === undefined) return;
    const key = s.invocationName.normalize('NFKC').toLowerCase();
    if (invocations.has(key))
      throw new SandboxConfigError(
        `skills[${i}].invocationName`,
        `${JSON.stringify(s.invocationName)} is already the invocation name of ${invocations.get(key)}`,
      );
    invocations.set(key, s.skillId);
  });
  let platformPrivateKey: KeyObject;
  let generatedKey = false;
  if (input.platformPrivateKey === undefined || input.platformPrivateKey === null) {
    platformPrivateKey = generateTskKeyPair().privateKey;
    generatedKey = true;
  } else {
    try {
      platformPrivateKey = loadPrivateKey(keyText(input.platformPrivateKey, 'platformPrivateKey', baseDir));
    } catch (e) {
      keyError('platformPrivateKey', e);
    }
  }
  return { skills, platformPrivateKey, tskPublicKey: publicKeyToBase64(platformPrivateKey), generatedKey, devices: devices(input.devices), warnings };
}

/** Read, decode and validate a config file. Relative key paths resolve against its directory. */
export function loadSandboxConfig(file: string): SandboxConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SandboxConfigError('', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch (e) {
    throw new SandboxConfigError('', `${file} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  return parseSandboxConfig(decoded, { baseDir: dirname(resolve(file)) });
}
