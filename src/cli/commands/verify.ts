import { readFileSync } from 'node:fs';
import { parseTskDatetime } from '../../protocol/tsk.js';
import { verifyHmac, verifyRsa2 } from '../../protocol/tsk-node.js';
import { parseOptions, str, readAll, UsageError, write, type Command } from '../io.js';
import { readSecret, toTskDatetime } from './shared.js';

export const verify: Command = {
  summary: 'verify a signed body (stdin) against its Authorization header',
  usage: `Usage: dingdang-pay verify --key FILE --authorization HEADER [--now D] [--hmac] < body

Reads the exact body bytes on stdin. Prints "ok" and exits 0 when the signature
holds; otherwise prints the reason (malformed-header, algorithm-mismatch, stale,
future, bad-signature) with details and exits 1.

Options:
  --key FILE            public key (PEM or bare Base64 SPKI); with --hmac, the SkillSecret file
  --authorization H     the Authorization header value
  --now D               the receiver's clock, YYYYMMDDTHHMMSSZ or ISO-8601 (default: now);
                        the signature must be within 3 minutes of it
  --hmac                expect TSK-HMAC-SHA256-BASIC instead of TSK-RSA2
  -h, --help            show this help`,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      key: { type: 'string' },
      authorization: { type: 'string' },
      now: { type: 'string' },
      hmac: { type: 'boolean' },
    });
    if (values.help) return (write(io.stdout, this.usage), 0);
    const key = str(values.key);
    const authorization = str(values.authorization);
    const nowText = str(values.now);
    if (!key) throw new UsageError('--key FILE is required');
    if (authorization === undefined) throw new UsageError('--authorization HEADER is required');
    const now = nowText === undefined ? Date.now() : parseTskDatetime(toTskDatetime(nowText, '--now'))!;
    const body = await readAll(io.stdin);
    const result = values.hmac
      ? verifyHmac(body, authorization, readSecret(key), { now })
      : verifyRsa2(body, authorization, readFileSync(key, 'utf8'), { now });
    if (result.ok) {
      write(io.stdout, 'ok');
      return 0;
    }
    write(io.stdout, `${result.reason}: ${result.message}`);
    return 1;
  },
};
