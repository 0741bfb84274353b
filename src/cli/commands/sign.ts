import { readFileSync } from 'node:fs';
import { parseTskDatetime } from '../../protocol/tsk.js';
import { signHmac, signRsa2 } from '../../protocol/tsk-node.js';
import { parseOptions, str, readAll, UsageError, write, type Command } from '../io.js';
import { readSecret, toTskDatetime } from './shared.js';

export const sign: Command = {
  summary: 'sign a body (stdin) and print the Authorization header value',
  usage: `Usage: dingdang-pay sign --key FILE [--datetime D] [--hmac] < body

Reads the exact body bytes on stdin and prints the Authorization header value:
  TSK-RSA2 Datetime=<D>, Signature=<Base64 SHA256withRSA>
or with --hmac
  TSK-HMAC-SHA256-BASIC Datetime=<D>, Signature=<hex HMAC-SHA256>

Options:
  --key FILE       private key (PEM or bare Base64); with --hmac, a file holding the
                   SkillSecret (one trailing newline is ignored)
  --datetime D     the datetime to sign with, YYYYMMDDTHHMMSSZ or ISO-8601 (default: now)
  --hmac           use TSK-HMAC-SHA256-BASIC instead of TSK-RSA2
  -h, --help       show this help`,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      key: { type: 'string' },
      datetime: { type: 'string' },
      hmac: { type: 'boolean' },
    });
    if (values.help) return (write(io.stdout, this.usage), 0);
    const key = str(values.key);
    if (!key) throw new UsageError('--key FILE is required');
    const given = str(values.datetime);
    const datetime = given === undefined ? undefined : toTskDatetime(given, '--datetime');
    if (datetime !== undefined && parseTskDatetime(datetime) === undefined) throw new UsageError('bad --datetime');
    const body = await readAll(io.stdin);
    const header = values.hmac ? signHmac(body, readSecret(key), { datetime }) : signRsa2(body, readFileSync(key, 'utf8'), { datetime });
    write(io.stdout, header);
    return 0;
  },
};
