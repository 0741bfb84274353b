/**
 * Child of `fanout-p99`: the sandbox tests' skill backend (create order,
 * delivery, refund notify, HMAC skill endpoint) in its own process, so its
 * crypto does not run on the platform's event loop.
 *   argv: platform public key (bare Base64)   out {"ready":true,"url":…}
 */
import { startBackend } from '../../test/support/sandbox.js';

const backend = await startBackend(process.argv[2]!);
process.stdout.write(JSON.stringify({ ready: true, url: backend.url }) + '\n');
process.stdin.resume();
process.stdin.on('end', () => void backend.close().then(() => process.exit(0)));
