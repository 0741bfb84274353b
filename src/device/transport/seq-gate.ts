/**
 * Per-purchase sequence gate: each `seq` is delivered once, and nothing older
 * than what was already delivered gets through (a late NOTPAY never undoes a
 * SUCCESS).
 */
export type SeqVerdict = 'new' | 'duplicate' | 'stale';

export class SeqGate {
  private last = -1;

  /** The highest seq delivered so far, -1 before the first. */
  get lastSeq(): number {
    return this.last;
  }

  /** Classify `seq`; a `new` one is recorded as delivered. */
  admit(seq: number): SeqVerdict {
    if (seq > this.last) {
      this.last = seq;
      return 'new';
    }
    return seq === this.last ? 'duplicate' : 'stale';
  }
}
