/**
 * Verification of everything the platform sends the device: TSK-RSA2 with
 * `TSKPublicKey` over the exact bytes, via WebCrypto, with a ±3-minute window
 * on an injectable clock. The key is imported once, lazily.
 */
import { DEFAULT_TOLERANCE_MS, importTskPublicKey, verifyRsa2WebCrypto, type VerifyResult } from '../../protocol/browser.js';

export interface SignatureCheckerOptions {
  /** Device clock (epoch ms); default Date.now. */
  now?: () => number;
  /** Allowed clock difference; default 3 minutes. */
  toleranceMs?: number;
}

export class SignatureChecker {
  private keyPromise: Promise<CryptoKey> | undefined;
  private readonly now: () => number;
  private readonly toleranceMs: number;

  constructor(
    private readonly publicKey: string | CryptoKey,
    options: SignatureCheckerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.toleranceMs = options.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  }

  /** The imported key; rejects with `KeyError` (cached) when `TSKPublicKey` is unusable. */
  key(): Promise<CryptoKey> {
    this.keyPromise ??= importTskPublicKey(this.publicKey);
    return this.keyPromise;
  }

  /** Verify `authorization` over `raw`. Rejects only when the key itself is unusable. */
  async verify(raw: Uint8Array | string, authorization: string | null | undefined): Promise<VerifyResult> {
    const key = await this.key();
    return verifyRsa2WebCrypto(raw, authorization, key, { now: this.now, toleranceMs: this.toleranceMs });
  }
}
