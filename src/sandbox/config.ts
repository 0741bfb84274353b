/**
 * Sandbox configuration (JSON):
 *
 *   { "skills": [{ "skillId", "skillEndpoint", "skillSecret", "createOrderUrl",
 *                  "deliverUrl", "refundNotifyUrl"?, "skillPublicKey",
 *                  "utterances"? }],
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
import { SandboxConfigError } from './errors.js';

/** Sample utterances of one intent: `{slot}` marks a slot, e.g. "我要听{album}第{index}集". */
export interface UtteranceSpec {
  intent: string;
  samples: string[];
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
}

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
}

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
]);
const TOP_KEYS = new Set(['skills', 'platformPrivateKey', 'devices', '$schema', 'comment']);
export const DEVICE_ID_RE = /^[0-9A-Za-z._-]{1,64}$/;

function devices(value: unknown): DeviceConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new SandboxConfigError('devices', 'must be an array of { deviceId, deviceToken? }');
  const seen = new Set<string>();
  return value.map((d, i) => {
    const p = `devices[${i}]`;
    if (!isObject(d)) throw new SandboxConfigError(p, 'must be an object { deviceId, deviceToken? }');
    if (typeof d.deviceId !== 'string' || !DEVICE_ID_RE.test(d.deviceId)) throw new SandboxConfigError(`${p}.deviceId`, 'must be 1–64 characters of [0-9A-Za-z._-]');
    if (seen.has(d.deviceId)) throw new SandboxConfigError(`${p}.deviceId`, 'duplicate deviceId');
    seen.add(d.deviceId);
    if (d.deviceToken !== undefined && (typeof d.deviceToken !== 'string' || d.deviceToken === '' || d.deviceToken.length > 256))
      throw new SandboxConfigError(`${p}.deviceToken`, 'must be a non-empty string of at most 256 characters');
    return d.deviceToken === undefined ? { deviceId: d.deviceId } : { deviceId: d.deviceId, deviceToken: d.deviceToken as string };
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
      if (/\{[^}]*$|^[^{]*\}/.test(s) || /\{(?![A-Za-z_]\w*\})/.test(s))
        throw new SandboxConfigError(`${p}.samples[${j}]`, 'slots must look like {name}');
    });
    return { intent: u.intent, samples: u.samples as string[] };
  });
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
    name: (name as string | undefined) ?? skillId,
    skillEndpoint: url(value.skillEndpoint, `${p}.skillEndpoint`, true)!,
    skillSecret,
    createOrderUrl: url(value.createOrderUrl, `${p}.createOrderUrl`, true)!,
    deliverUrl: url(value.deliverUrl, `${p}.deliverUrl`, true)!,
    skillPublicKey,
    utterances: utterances(value.utterances, `${p}.utterances`),
  };
  const refund = url(value.refundNotifyUrl, `${p}.refundNotifyUrl`, false);
  if (refund !== undefined) out.refundNotifyUrl = refund;
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
  if (!Array.isArray(input.skills) || input.skills.length === 0)
    throw new SandboxConfigError('skills', 'must be a non-empty array of skills');
  const skills = input.skills.map((s, i) => skill(s, i, baseDir, warnings));
  const seen = new Set<string>();
  skills.forEach((s, i) => {
    if (seen.has(s.skillId)) throw new SandboxConfigError(`skills[${i}].skillId`, `duplicate skillId ${JSON.stringify(s.skillId)}`);
    seen.add(s.skillId);
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
