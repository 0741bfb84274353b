/**
 * The pay client of the CLI's pay commands (orderquery, refund, refundquery,
 * reconcile): its flags, their help text, and the client they describe —
 * against the sandbox (`--sandbox URL`: its pay CGI and its platform key from
 * `/sandbox/v1/info`) or a configured platform (`--base-url URL
 * --tsk-public-key FILE`). Flags may also come from the environment:
 * DINGDANG_SKILL_ID, DINGDANG_SKILL_KEY (a file), DINGDANG_PAY_BASE_URL,
 * DINGDANG_TSK_PUBLIC_KEY (a file).
 */
import { readFileSync } from 'node:fs';
import { PayClient } from '../../partner/index.js';
import { SandboxClient } from '../../sandbox/client.js';
import { str, UsageError } from '../io.js';

export const PAY_CLIENT_HELP = `  --sandbox URL         the sandbox (its /paycgi and its platform key); or
  --base-url URL        a platform's pay CGI base, with
  --tsk-public-key FILE the platform's public key (TSKPublicKey) to verify replies
  --skill-id ID         your skillId (env DINGDANG_SKILL_ID)
  --key FILE            your skill private key, PEM (env DINGDANG_SKILL_KEY)
  --timeout MS          per call (default 10000)
  -h, --help            show this help`;

export const PAY_CLIENT_OPTIONS = {
  sandbox: { type: 'string' },
  'base-url': { type: 'string' },
  'tsk-public-key': { type: 'string' },
  'skill-id': { type: 'string' },
  key: { type: 'string' },
  timeout: { type: 'string' },
} as const;

export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** What the pay flags resolve to: the client, and the keys it was made with (the handlers need them too). */
export interface PaySetup {
  pay: PayClient;
  skillId: string;
  skillPrivateKey: string;
  tskPublicKey: string;
}

/** The pay client the flags (or the environment) describe; the sandbox's URL and key come from its `/sandbox/v1/info`. */
export async function payClientFrom(v: Values): Promise<PaySetup> {
  const env = process.env;
  const skillId = str(v['skill-id']) ?? env.DINGDANG_SKILL_ID;
  const keyFile = str(v.key) ?? env.DINGDANG_SKILL_KEY;
  if (!skillId) throw new UsageError('--skill-id ID is required');
  if (!keyFile) throw new UsageError('--key FILE (your skill private key) is required');
  const timeoutText = str(v.timeout);
  const timeoutMs = timeoutText === undefined ? 10_000 : Number(timeoutText);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new UsageError('--timeout must be a positive number of ms');
  const sandbox = str(v.sandbox);
  let baseUrl = str(v['base-url']) ?? env.DINGDANG_PAY_BASE_URL;
  let tskPublicKey: string;
  if (sandbox) {
    if (str(v['base-url'])) throw new UsageError('--sandbox and --base-url: one of them');
    const info = await new SandboxClient({ baseUrl: sandbox, timeoutMs }).info();
    baseUrl = info.url;
    tskPublicKey = info.tskPublicKey;
  } else {
    const keyPath = str(v['tsk-public-key']) ?? env.DINGDANG_TSK_PUBLIC_KEY;
    if (!baseUrl) throw new UsageError('--sandbox URL, or --base-url URL with --tsk-public-key FILE, is required');
    if (!keyPath) throw new UsageError('--tsk-public-key FILE is required with --base-url (replies are verified)');
    tskPublicKey = readFileSync(keyPath, 'utf8');
  }
  const skillPrivateKey = readFileSync(keyFile, 'utf8');
  return { pay: new PayClient({ skillId, skillPrivateKey, tskPublicKey, baseUrl, timeoutMs }), skillId, skillPrivateKey, tskPublicKey };
}
