/**
 * The partner's accounts as the audiobook skill sees them after account
 * linking (SKILL-PROTOCOL §6): a small table token → partner user id. The
 * partner id is what purchases are keyed on, so it must not change when the
 * token rotates (OAuth refresh) nor when the platform's `userId` changes (the
 * user followed the skill again while staying linked).
 *
 * * `issueToken(userId)`: what the partner's token endpoint does when a
 *   DingDang user links (the sandbox's `accountLinkingUrl`, `POST { userId }`
 *   → `{ accessToken }`, our own extension): a fresh token for that user's
 *   account (created on the first link as `dd:<userId>`, so what the user
 *   bought before linking stays theirs).
 * * `partnerIdOf(user)`: a known token → its account; an unknown token (one
 *   minted elsewhere, e.g. by the sandbox itself) → the account this
 *   platform user already linked (a rotated token), else a new account
 *   `dd:<userId>`; the token is remembered either way. No token → `dd:<userId>`.
 *
 * In memory and bounded (a demo); a real partner keeps this in its account
 * database and validates tokens with its OAuth server.
 */
import { randomBytes } from 'node:crypto';
import type { SkillUser } from '../../protocol/index.js';

const MAX_ENTRIES = 10_000;
const MAX_TOKEN = 2048;

export class PartnerAccounts {
  /** token → partner id. */
  private readonly tokens = new Map<string, string>();
  /** platform userId → the partner id it linked to. */
  private readonly linked = new Map<string, string>();

  private static bounded<K, V>(m: Map<K, V>, k: K, v: V): void {
    m.delete(k);
    m.set(k, v);
    if (m.size > MAX_ENTRIES) m.delete(m.keys().next().value as K);
  }

  /** The partner id without a (usable) token: derived from the platform's userId. */
  static unlinkedId(userId: string): string {
    return `dd:${userId}`;
  }

  /** Link (again): a fresh token for the account of this platform user. */
  issueToken(userId: string): string {
    const id = this.linked.get(userId) ?? PartnerAccounts.unlinkedId(userId);
    const token = `wg-at-${randomBytes(18).toString('base64url')}`;
    PartnerAccounts.bounded(this.tokens, token, id);
    PartnerAccounts.bounded(this.linked, userId, id);
    return token;
  }

  /** The account a token belongs to, if known. */
  accountOf(token: string): string | undefined {
    return this.tokens.get(token);
  }

  /** The stable partner user id of a request's user (see the file comment). */
  partnerIdOf(user: SkillUser): string {
    const token = user.accessToken;
    if (token === undefined || token === '' || token.length > MAX_TOKEN) return PartnerAccounts.unlinkedId(user.userId);
    const known = this.tokens.get(token);
    if (known !== undefined) {
      PartnerAccounts.bounded(this.linked, user.userId, known);
      return known;
    }
    const id = this.linked.get(user.userId) ?? PartnerAccounts.unlinkedId(user.userId);
    PartnerAccounts.bounded(this.tokens, token, id);
    PartnerAccounts.bounded(this.linked, user.userId, id);
    return id;
  }
}
