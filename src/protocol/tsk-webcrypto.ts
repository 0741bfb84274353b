/**
 * TSK verification with WebCrypto (`globalThis.crypto.subtle`): the same code
 * runs in Node 20 and in browsers. Used by the device companion to verify
 * result pushes with `TSKPublicKey`. No Node built-ins.
 */
import { KeyError } from './errors.js';
import { fail, precheck, signingContent, TSK_HMAC, TSK_RSA2, type VerifyOptions, type VerifyResult } from './tsk.js';

const RSA_ALG = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new KeyError('WebCrypto (crypto.subtle) is not available in this runtime');
  return s;
}

function base64ToBytes(b64: string): Uint8Array | undefined {
  const compact = b64.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) return undefined;
  const bin = atob(compact);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Import `TSKPublicKey` given as PEM (`PUBLIC KEY`) or bare Base64 SPKI DER. */
export async function importTskPublicKey(input: string | CryptoKey): Promise<CryptoKey> {
  if (typeof input !== 'string') return input;
  const body = input.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '');
  if (/-----BEGIN/.test(body)) throw new KeyError('only SPKI public keys ("PUBLIC KEY") can be imported with WebCrypto');
  const der = base64ToBytes(body);
  if (!der) throw new KeyError('public key is neither PEM nor Base64');
  try {
    const key = await subtle().importKey('spki', der as BufferSource, RSA_ALG, false, ['verify']);
    const bits = (key.algorithm as RsaHashedKeyAlgorithm).modulusLength;
    if (bits < 2048) throw new KeyError(`public key has ${bits} bits; TSK needs at least 2048`);
    return key;
  } catch (e) {
    if (e instanceof KeyError) throw e;
    throw new KeyError(`cannot import public key: ${(e as Error).message}`, { cause: e });
  }
}

/** Verify a TSK-RSA2 header over the raw body with WebCrypto. Never throws for bad input. */
export async function verifyRsa2WebCrypto(
  rawBody: Uint8Array | string,
  authorization: string | undefined | null,
  publicKey: string | CryptoKey,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const key = await importTskPublicKey(publicKey);
  const pre = precheck(authorization, TSK_RSA2, options);
  if (!pre.ok) return pre;
  const sig = base64ToBytes(pre.auth.signature);
  if (!sig) return fail('bad-signature', 'signature is not Base64');
  const good = await subtle().verify(RSA_ALG, key, sig as BufferSource, signingContent(rawBody, pre.auth.datetime) as BufferSource);
  if (!good) return fail('bad-signature', 'RSA signature does not match the body and datetime');
  return { ok: true, algorithm: TSK_RSA2, datetime: pre.auth.datetime, signedAt: pre.signedAt };
}

/** Verify a TSK-HMAC-SHA256-BASIC header with WebCrypto (constant-time via `subtle.verify`). */
export async function verifyHmacWebCrypto(
  rawBody: Uint8Array | string,
  authorization: string | undefined | null,
  secret: string,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const pre = precheck(authorization, TSK_HMAC, options);
  if (!pre.ok) return pre;
  if (!/^[0-9a-fA-F]{64}$/.test(pre.auth.signature)) return fail('bad-signature', 'signature is not 64 hex digits');
  const mac = new Uint8Array(32);
  for (let i = 0; i < 32; i++) mac[i] = parseInt(pre.auth.signature.slice(i * 2, i * 2 + 2), 16);
  const key = await subtle().importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const good = await subtle().verify('HMAC', key, mac, signingContent(rawBody, pre.auth.datetime) as BufferSource);
  if (!good) return fail('bad-signature', 'HMAC does not match the body and datetime');
  return { ok: true, algorithm: TSK_HMAC, datetime: pre.auth.datetime, signedAt: pre.signedAt };
}
