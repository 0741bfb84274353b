/**
 * Account linking, simulated (SKILL-PROTOCOL §6; the flow is our own
 * extension, docs/sandbox.md "Account linking"): the platform's OAuth dance
 * with the partner is reduced to one step. Linking (the phone page
 * `/link/<skillId>?userId=…` or `POST /sandbox/v1/link`) gets a token for
 * (skill, user) — from the skill's `accountLinkingUrl` (`POST { userId }` →
 * `{ accessToken }`) when configured, else an opaque token minted here — and
 * from then on every request of that user to that skill carries
 * `context.System.user.accessToken`. Linking again rotates the token;
 * unlinking removes it.
 */
import { randomBytes } from 'node:crypto';
import { TimeoutError, TransportError, RemoteError } from '../protocol/errors.js';
import type { SkillConfig } from './config.js';

/** One linked account (the control API's `POST /link` reply). */
export interface AccountLink {
  skillId: string;
  userId: string;
  accessToken: string;
  /** Who minted the token: the partner's `accountLinkingUrl`, or the sandbox itself. */
  source: 'partner' | 'sandbox';
  linkedAt: number;
}

const MAX_LINKS = 10_000;
const MAX_TOKEN = 2048;

export class AccountLinks {
  private readonly links = new Map<string, AccountLink>();

  constructor(private readonly o: { now: () => number; timeoutMs: number; signal: AbortSignal }) {}

  private static key(skillId: string, userId: string): string {
    return `${skillId}\n${userId}`;
  }

  get(skillId: string, userId: string): AccountLink | undefined {
    const l = this.links.get(AccountLinks.key(skillId, userId));
    return l && { ...l };
  }

  /** The token requests of that (skill, user) carry, if linked. */
  token(skillId: string, userId: string): string | undefined {
    return this.links.get(AccountLinks.key(skillId, userId))?.accessToken;
  }

  list(): AccountLink[] {
    return [...this.links.values()].map((l) => ({ ...l }));
  }

  /** Link (or link again: a fresh token) the user's account with the skill. */
  async link(skill: SkillConfig, userId: string): Promise<AccountLink> {
    const fromPartner = skill.accountLinkingUrl !== undefined;
    const accessToken = fromPartner ? await this.partnerToken(skill.accountLinkingUrl!, userId) : `sbx-at-${randomBytes(18).toString('base64url')}`;
    const l: AccountLink = { skillId: skill.skillId, userId, accessToken, source: fromPartner ? 'partner' : 'sandbox', linkedAt: this.o.now() };
    const key = AccountLinks.key(skill.skillId, userId);
    this.links.delete(key);
    this.links.set(key, l);
    if (this.links.size > MAX_LINKS) this.links.delete(this.links.keys().next().value as string);
    return { ...l };
  }

  /** Remove the link; whether there was one. */
  unlink(skillId: string, userId: string): boolean {
    return this.links.delete(AccountLinks.key(skillId, userId));
  }

  /** `POST <accountLinkingUrl> { userId }` → `{ accessToken }` (our own extension; unsigned JSON, a timeout). */
  private async partnerToken(url: string, userId: string): Promise<string> {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId }),
        signal: AbortSignal.any([AbortSignal.timeout(this.o.timeoutMs), this.o.signal]),
      });
    } catch (e) {
      if (e instanceof Error && e.name === 'TimeoutError') throw new TimeoutError(`accountLinkingUrl: no answer within ${this.o.timeoutMs} ms`);
      throw new TransportError(`accountLinkingUrl: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) throw new RemoteError(`accountLinkingUrl: HTTP ${res.status}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new RemoteError('accountLinkingUrl: the answer is not JSON { accessToken }');
    }
    const t = (body as { accessToken?: unknown } | null)?.accessToken;
    if (typeof t !== 'string' || t === '' || t.length > MAX_TOKEN)
      throw new RemoteError(`accountLinkingUrl: accessToken must be a non-empty string of at most ${MAX_TOKEN} characters`);
    return t;
  }
}
