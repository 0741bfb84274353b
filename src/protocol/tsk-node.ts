/**
 * TSK-RSA2 and TSK-HMAC-SHA256-BASIC with Node's crypto (server side:
 * partner kit, sandbox, CLI). The device uses `tsk-webcrypto.ts` instead.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  sign as cryptoSign,
  timingSafeEqual,
  verify as cryptoVerify,
} from 'node:crypto';
import { KeyError, SignatureError } from './errors.js';
import type { MessageKind, MessageTypes } from './types.js';
import { parseJsonMessage } from './validate.js';
import {
  fail,
  formatAuthorization,
  formatTskDatetime,
  NonceGuard,
  nowOf,
  precheck,
  signingContent,
  TSK_HMAC,
  TSK_RSA2,
  type VerifyOptions,
  type VerifyResult,
} from './tsk.js';

export type KeyInput = string | Buffer | KeyObject;

export const MIN_RSA_BITS = 2048;

function bareBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) return undefined;
  return Buffer.from(compact, 'base64');
}

function checkRsa(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'rsa') throw new KeyError(`${what} is not an RSA key (${key.asymmetricKeyType})`);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw new KeyError(`${what} has ${bits} bits; TSK needs at least ${MIN_RSA_BITS}`);
  return key;
}

/**
 * An RSA public key from PEM (`PUBLIC KEY` SPKI or `RSA PUBLIC KEY` PKCS#1),
 * the bare Base64 of its SPKI DER (how keys are handed to the platform), DER
 * bytes, or a KeyObject. A private key yields its public half.
 */
export function loadPublicKey(input: KeyInput): KeyObject {
  if (input instanceof KeyObject) {
    return checkRsa(input.type === 'public' ? input : createPublicKey(input), 'public key');
  }
  try {
    const text = Buffer.isBuffer(input) ? undefined : input;
    if (text !== undefined && text.includes('-----BEGIN')) return checkRsa(createPublicKey(text), 'public key');
    const der = text === undefined ? input : bareBase64(text);
    if (!der || der.length === 0) throw new KeyError('public key is neither PEM nor Base64');
    for (const type of ['spki', 'pkcs1'] as const) {
      try {
        return checkRsa(createPublicKey({ key: der as Buffer, format: 'der', type }), 'public key');
      } catch (e) {
        if (e instanceof KeyError) throw e;
      }
    }
    throw new KeyError('public key DER is neither SPKI nor PKCS#1');
  } catch (e) {
    if (e instanceof KeyError) throw e;
    throw new KeyError(`cannot read public key: ${(e as Error).message}`, { cause: e });
  }
}

/** An RSA private key from PEM (PKCS#8 or PKCS#1), bare Base64 DER, DER bytes, or a KeyObject. */
export function loadPrivateKey(input: KeyInput): KeyObject {
  if (input instanceof KeyObject) {
    if (input.type !== 'private') throw new KeyError('expected a private key');
    return checkRsa(input, 'private key');
  }
  try {
    const text = Buffer.isBuffer(input) ? undefined : input;
    if (text !== undefined && text.includes('-----BEGIN')) return checkRsa(createPrivateKey(text), 'private key');
    const der = text === undefined ? input : bareBase64(text);
    if (!der || der.length === 0) throw new KeyError('private key is neither PEM nor Base64');
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      try {
        return checkRsa(createPrivateKey({ key: der as Buffer, format: 'der', type }), 'private key');
      } catch (e) {
        if (e instanceof KeyError) throw e;
      }
    }
    throw new KeyError('private key DER is neither PKCS#8 nor PKCS#1');
  } catch (e) {
    if (e instanceof KeyError) throw e;
    throw new KeyError(`cannot read private key: ${(e as Error).message}`, { cause: e });
  }
}

/** The bare Base64 of a public key's SPKI DER: the form handed to the platform. */
export function publicKeyToBase64(key: KeyInput): string {
  return (loadPublicKey(key).export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
}

export function publicKeyToPem(key: KeyInput): string {
  return loadPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;
}

export interface TskKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** SPKI PEM. */
  publicKeyPem: string;
  /** Bare Base64 of the SPKI DER. */
  publicKeyBase64: string;
}

export function generateTskKeyPair(bits = MIN_RSA_BITS): TskKeyPair {
  if (!Number.isInteger(bits) || bits < MIN_RSA_BITS) throw new KeyError(`RSA keys need at least ${MIN_RSA_BITS} bits`);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKey,
    publicKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    publicKeyBase64: (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64'),
  };
}

export interface SignOptions {
  /** Exact datetime stamp to use (`YYYYMMDDTHHMMSSZ`); default: now. */
  datetime?: string;
  now?: VerifyOptions['now'];
}

function stampOf(options: SignOptions): string {
  return options.datetime ?? formatTskDatetime(nowOf(options.now));
}

/** Base64 SHA256withRSA (PKCS#1 v1.5) signature of SigningContent. */
export function rsa2Signature(rawBody: Uint8Array | string, datetime: string, privateKey: KeyInput): string {
  const key = loadPrivateKey(privateKey);
  return cryptoSign('sha256', signingContent(rawBody, datetime), key).toString('base64');
}

/** Lowercase hex HMAC-SHA256 of SigningContent. */
export function hmacSignature(rawBody: Uint8Array | string, datetime: string, secret: string | Uint8Array): string {
  return createHmac('sha256', secret).update(signingContent(rawBody, datetime)).digest('hex');
}

/** Sign raw body bytes with TSK-RSA2; returns the `Authorization` header value. */
export function signRsa2(rawBody: Uint8Array | string, privateKey: KeyInput, options: SignOptions = {}): string {
  const datetime = stampOf(options);
  return formatAuthorization({ algorithm: TSK_RSA2, datetime, signature: rsa2Signature(rawBody, datetime, privateKey) });
}

/**
 * `signRsa2` off the main thread: the RSA operation runs in libuv's thread
 * pool (node:crypto's callback form), so several signatures proceed in
 * parallel with the event loop. Same output bytes as `signRsa2` for the same
 * datetime; the datetime is taken when called, not when the signature is done.
 */
export function signRsa2Async(rawBody: Uint8Array | string, privateKey: KeyInput, options: SignOptions = {}): Promise<string> {
  const datetime = stampOf(options);
  const key = loadPrivateKey(privateKey);
  const content = signingContent(rawBody, datetime);
  return new Promise((resolve, reject) => {
    cryptoSign('sha256', content, key, (err, sig) => {
      if (err) reject(new KeyError(`RSA signing failed: ${err.message}`, { cause: err }));
      else resolve(formatAuthorization({ algorithm: TSK_RSA2, datetime, signature: sig.toString('base64') }));
    });
  });
}

/** Sign raw body bytes with TSK-HMAC-SHA256-BASIC; returns the `Authorization` header value. */
export function signHmac(rawBody: Uint8Array | string, secret: string | Uint8Array, options: SignOptions = {}): string {
  const datetime = stampOf(options);
  return formatAuthorization({ algorithm: TSK_HMAC, datetime, signature: hmacSignature(rawBody, datetime, secret) });
}

/** Verify a TSK-RSA2 `Authorization` header over the raw body bytes. Never throws for bad input. */
export function verifyRsa2(
  rawBody: Uint8Array | string,
  authorization: string | undefined | null,
  publicKey: KeyInput,
  options: VerifyOptions = {},
): VerifyResult {
  const key = loadPublicKey(publicKey);
  const pre = precheck(authorization, TSK_RSA2, options);
  if (!pre.ok) return pre;
  const sig = bareBase64(pre.auth.signature);
  if (!sig) return fail('bad-signature', 'signature is not Base64');
  const good = cryptoVerify('sha256', signingContent(rawBody, pre.auth.datetime), key, sig);
  if (!good) return fail('bad-signature', 'RSA signature does not match the body and datetime');
  return { ok: true, algorithm: TSK_RSA2, datetime: pre.auth.datetime, signedAt: pre.signedAt };
}

/** Verify a TSK-HMAC-SHA256-BASIC header (timing-safe comparison). */
export function verifyHmac(
  rawBody: Uint8Array | string,
  authorization: string | undefined | null,
  secret: string | Uint8Array,
  options: VerifyOptions = {},
): VerifyResult {
  const pre = precheck(authorization, TSK_HMAC, options);
  if (!pre.ok) return pre;
  if (!/^[0-9a-fA-F]{64}$/.test(pre.auth.signature)) return fail('bad-signature', 'signature is not 64 hex digits');
  const given = Buffer.from(pre.auth.signature, 'hex');
  const want = createHmac('sha256', secret).update(signingContent(rawBody, pre.auth.datetime)).digest();
  if (!timingSafeEqual(given, want)) return fail('bad-signature', 'HMAC does not match the body and datetime');
  return { ok: true, algorithm: TSK_HMAC, datetime: pre.auth.datetime, signedAt: pre.signedAt };
}

export interface ConstructOptions extends VerifyOptions {
  /** Replay guard for `nonceStr`; when given, a repeated nonce is rejected with reason `replay`. */
  nonceGuard?: NonceGuard;
}

/**
 * stripe-style `constructEvent`: verify the TSK-RSA2 signature over the raw
 * body, then decode and validate it as `kind`, then check its `nonceStr`
 * against the replay guard. Throws `SignatureError` or `ValidationError`.
 */
export function constructMessage<K extends MessageKind>(
  kind: K,
  rawBody: Uint8Array | string,
  authorization: string | undefined | null,
  publicKey: KeyInput,
  options: ConstructOptions = {},
): MessageTypes[K] {
  const v = verifyRsa2(rawBody, authorization, publicKey, options);
  if (!v.ok) throw new SignatureError(v.reason, v.message);
  const message = parseJsonMessage(kind, rawBody);
  const nonce = (message as { nonceStr?: unknown }).nonceStr;
  if (options.nonceGuard && typeof nonce === 'string' && !options.nonceGuard.check(nonce))
    throw new SignatureError('replay', 'nonceStr was already used inside the signature window');
  return message;
}

/** Headers for a signed JSON request or reply. */
export function signedJsonHeaders(rawBody: Uint8Array | string, privateKey: KeyInput, options: SignOptions = {}) {
  return {
    'content-type': 'application/json; charset=utf-8',
    authorization: signRsa2(rawBody, privateKey, options),
  };
}
