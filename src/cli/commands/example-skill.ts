import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { DingDangPayError } from '../../protocol/errors.js';
import { loadPublicKey } from '../../protocol/tsk-node.js';
import { parseOptions, str, UsageError, write, type Command } from '../io.js';

function keyArg(value: string, flag: string): string {
  const text = existsSync(value) ? readFileSync(value, 'utf8') : value;
  try {
    loadPublicKey(text);
  } catch (e) {
    throw new UsageError(`${flag}: not a public key file, PEM or bare Base64 (${(e as Error).message})`);
  }
  return text;
}

export const exampleSkill: Command = {
  summary: 'run the example audiobook skill backend (SQLite) for the sandbox',
  usage: `Usage: dingdang-pay example-skill [--port N] [--db FILE] [--tsk-public-key FILE|BASE64] [--scf] [options]

Starts the audiobook skill backend built on the partner kit: the custom-skill
endpoint (TSK-HMAC-SHA256-BASIC), create order, delivery and refund
notifications (TSK-RSA2), orders and entitlements in SQLite. When ready it
prints ONE JSON line on stdout — the skill record the sandbox config takes:
  {"url","skillId","skillSecret","skillPublicKey","skillEndpoint","createOrderUrl","deliverUrl","refundNotifyUrl"}
With --scf the custom-skill endpoint runs as a Tencent Cloud SCF function: /skill
takes the wrapped request {"header":{"Authorization"},"body":"<envelope>"} and
answers the wrapped answer {"header":{"Content-Type"},"body":"<answer>"} (the
skill kit's createScfHandler behind a local stand-in), and the record carries
"deployment":"scf" so the sandbox calls it that way.

The platform's public key (TSKPublicKey) verifies create order and delivery
requests. Give it with --tsk-public-key, or later: write a JSON line
  {"tskPublicKey":"<PEM or bare Base64>","payBaseUrl":"http://127.0.0.1:PORT"}
to this command's stdin (the sandbox prints its key only after reading this
skill's record). Until then the pay routes answer a signed FAIL
"platform key not configured" and store nothing; play requests still work.

Options:
  --port N                 port on 127.0.0.1 (default 0: a free port)
  --host H                 interface to listen on (default 127.0.0.1)
  --db FILE                SQLite file (default: in memory, nothing survives a restart)
  --tsk-public-key K       platform public key: a file, PEM text or bare Base64
  --pay-base-url URL       platform pay CGI base (the sandbox URL), used to confirm a
                           payment when the Charge response beats the delivery
  --skill-id ID            default audiobookDemo
  --skill-secret S         SkillSecret for TSK-HMAC (default: random)
  --skill-private-key FILE SkillPrivateKey (default: a fresh RSA-2048 key)
  --scf                    serve /skill in the SCF wrapped form ("deployment": "scf")
  -h, --help               show this help`,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      port: { type: 'string' },
      host: { type: 'string' },
      db: { type: 'string' },
      'tsk-public-key': { type: 'string' },
      'pay-base-url': { type: 'string' },
      'skill-id': { type: 'string' },
      'skill-secret': { type: 'string' },
      'skill-private-key': { type: 'string' },
      scf: { type: 'boolean' },
    });
    if (values.help) return (write(io.stdout, this.usage), 0);
    const portText = str(values.port) ?? '0';
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`--port must be 0–65535, got ${portText}`);
    const skillId = str(values['skill-id']);
    if (skillId !== undefined && (skillId.length === 0 || skillId.length > 32)) throw new UsageError('--skill-id must be 1–32 characters');
    const tsk = str(values['tsk-public-key']);
    const payBaseUrl = str(values['pay-base-url']);
    if (payBaseUrl !== undefined && !/^https?:\/\//.test(payBaseUrl)) throw new UsageError('--pay-base-url must be an http(s) URL');
    const privFile = str(values['skill-private-key']);

    const { startAudiobookSkill } = await import('../../demo/example-skill/server.js');
    const server = await startAudiobookSkill({
      port,
      host: str(values.host) ?? '127.0.0.1',
      ...(str(values.db) !== undefined ? { dbFile: str(values.db)! } : {}),
      ...(tsk !== undefined ? { tskPublicKey: keyArg(tsk, '--tsk-public-key') } : {}),
      ...(payBaseUrl !== undefined ? { payBaseUrl } : {}),
      ...(skillId !== undefined ? { skillId } : {}),
      ...(str(values['skill-secret']) !== undefined ? { skillSecret: str(values['skill-secret'])! } : {}),
      ...(privFile !== undefined ? { skillPrivateKey: readFileSync(privFile, 'utf8') } : {}),
      ...(values.scf ? { deployment: 'scf' as const } : {}),
      log: (line) => write(io.stderr, line),
    }).catch((e: unknown) => {
      const code = (e as { code?: unknown })?.code;
      if (code === 'EADDRINUSE') throw new DingDangPayError('ERR_TRANSPORT', `port ${port} is in use (try --port 0)`);
      if (typeof code === 'string' && code.startsWith('ERR_')) throw new DingDangPayError(code, (e as Error).message);
      throw e;
    });
    write(io.stdout, JSON.stringify(server.record));
    if (!server.platformConfigured) write(io.stderr, '[audiobook] waiting for {"tskPublicKey": …} on stdin; pay routes answer FAIL until then');

    // Later configuration, one JSON object per stdin line.
    const rl = createInterface({ input: io.stdin, crlfDelay: Infinity });
    rl.on('line', (line) => {
      if (!line.trim()) return;
      try {
        const c = JSON.parse(line) as { tskPublicKey?: unknown; payBaseUrl?: unknown };
        const update: { tskPublicKey?: string; payBaseUrl?: string } = {};
        if (typeof c.tskPublicKey === 'string') update.tskPublicKey = keyArg(c.tskPublicKey, 'tskPublicKey');
        if (typeof c.payBaseUrl === 'string') update.payBaseUrl = c.payBaseUrl;
        server.configurePlatform(update);
        write(io.stderr, `[audiobook] platform configured: ${server.platformConfigured}`);
      } catch (e) {
        write(io.stderr, `[audiobook] ignored stdin line: ${(e as Error).message}`);
      }
    });

    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    rl.close();
    await server.close();
    return 0;
  },
};
