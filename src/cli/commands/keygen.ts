import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateTskKeyPair } from '../../protocol/tsk-node.js';
import { parseOptions, str, UsageError, write, type Command } from '../io.js';

export const keygen: Command = {
  summary: 'generate an RSA-2048 key pair for TSK-RSA2',
  usage: `Usage: dingdang-pay keygen [--out DIR] [--force]

Writes into DIR (default: the current directory):
  private_key.pem   PKCS#8 private key (SkillPrivateKey) — keep it on the skill backend
  public_key.pem    SPKI public key
  public_key.txt    bare Base64 of the public key, to hand to the platform (SkillPublicKey)

Options:
  --out DIR   where to write the files (created if missing)
  --force     overwrite existing key files
  -h, --help  show this help`,
  async run(argv, io) {
    const { values } = parseOptions(argv, { out: { type: 'string' }, force: { type: 'boolean' } });
    if (values.help) return (write(io.stdout, this.usage), 0);
    const dir = resolve(str(values.out) ?? '.');
    const files = ['private_key.pem', 'public_key.pem', 'public_key.txt'].map((f) => join(dir, f));
    if (!values.force) {
      const existing = files.filter((f) => existsSync(f));
      if (existing.length) throw new UsageError(`refusing to overwrite ${existing.join(', ')} (use --force)`);
    }
    mkdirSync(dir, { recursive: true });
    const pair = generateTskKeyPair();
    writeFileSync(files[0]!, pair.privateKeyPem, { mode: 0o600 });
    writeFileSync(files[1]!, pair.publicKeyPem);
    writeFileSync(files[2]!, pair.publicKeyBase64 + '\n');
    for (const f of files) write(io.stdout, `wrote ${f}`);
    return 0;
  },
};
