/**
 * A per-peer budget of failed signature checks (our own extension: DingDang
 * defines no rate limits for a skill backend's endpoints).
 *
 * Every request that fails the TSK-RSA2 check costs its peer one token;
 * tokens refill at `perSecond` up to `burst`. A peer with no token left is
 * refused before its body is read or any signature is checked (a signed
 * FAIL `too many bad signatures`, reused within its second) until a token
 * has refilled. A request that passes never spends a token, so the
 * platform's own calls are never limited unless they share an address with a
 * forger.
 *
 * Off for loopback and private addresses by default (a test, a reverse proxy
 * or load balancer on the same host or network: there every client shares
 * the proxy's address). Behind a proxy, give the adapter the client's
 * address (Express `trust proxy`, Fastify `trustProxy`, the node-http
 * adapter's `peerOf`). IPv6 peers are keyed by their /64.
 *
 * Bounded: at most `maxPeers` peers are tracked; past that the one seen
 * longest ago is forgotten (it starts again with a full budget).
 */
import { InvalidArgumentError } from '../protocol/index.js';

export interface PeerLimitOptions {
  /** Failed checks a peer may cost at once; default 20. */
  burst?: number;
  /** Tokens refilled per second; default 5. */
  perSecond?: number;
  /** Peers exempt from the budget; default: loopback and private addresses (`isLocalPeer`). */
  exempt?: (peer: string) => boolean;
  /** Peers tracked at most; default 10,000. */
  maxPeers?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** 127.0.0.0/8, ::1, 10/8, 172.16/12, 192.168/16, 169.254/16, fc00::/7, fe80::/10 (also IPv4-mapped). */
export function isLocalPeer(peer: string): boolean {
  const p = peer.toLowerCase().replace(/^::ffff:/, '');
  if (p === '::1' || p === 'localhost') return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(p);
  if (v4) {
    const a = Number(v4[1]);
    const b = Number(v4[2]);
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  return /^f[cd][0-9a-f]{0,2}:/.test(p) || /^fe[89ab][0-9a-f]?:/.test(p);
}

/** The budget's key: an IPv4 address as is, an IPv6 address by its first four groups (/64). */
export function peerKey(peer: string): string {
  const p = peer.toLowerCase();
  if (!p.includes(':') || p.startsWith('::ffff:')) return p.replace(/^::ffff:/, '');
  const [head = '', tail] = p.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(`peerLimit.${name}: a positive number`);
  return v;
}

export class PeerBudget {
  private readonly burst: number;
  private readonly perMs: number;
  private readonly exempt: (peer: string) => boolean;
  private readonly maxPeers: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    options: PeerLimitOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.burst = positive('burst', options.burst, 20);
    this.perMs = positive('perSecond', options.perSecond, 5) / 1000;
    this.maxPeers = Math.floor(positive('maxPeers', options.maxPeers, 10_000));
    if (options.exempt !== undefined && typeof options.exempt !== 'function') throw new InvalidArgumentError('peerLimit.exempt: a function');
    this.exempt = options.exempt ?? isLocalPeer;
  }

  /** Peers tracked now. */
  get size(): number {
    return this.buckets.size;
  }

  private refill(b: Bucket): Bucket {
    const t = this.now();
    b.tokens = Math.min(this.burst, b.tokens + Math.max(0, t - b.at) * this.perMs);
    b.at = t;
    return b;
  }

  /** True when this peer has no failed check left to spend: refuse it unheard. */
  limited(peer: string | undefined): boolean {
    if (!peer || this.exempt(peer)) return false;
    const b = this.buckets.get(peerKey(peer));
    return b !== undefined && this.refill(b).tokens < 1;
  }

  /** A check by this peer failed: one token less. */
  spend(peer: string | undefined): void {
    if (!peer || this.exempt(peer)) return;
    const key = peerKey(peer);
    const b = this.buckets.get(key);
    const bucket = b ? this.refill(b) : { tokens: this.burst, at: this.now() };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.buckets.delete(key); // re-inserted last: the map's order is least recently seen first
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxPeers) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
