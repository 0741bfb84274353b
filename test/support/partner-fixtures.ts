/**
 * Shared by the partner tests: a platform key pair (plays TSK), a skill key
 * pair, a catalog, and helpers that sign requests the way the platform does.
 */
import { strict as assert } from 'node:assert';
import {
  formatTskDatetime,
  generateTskKeyPair,
  randomNonce,
  signRsa2,
  verifyRsa2,
  type CreateOrderRequest,
  type DeliverNotifyRequest,
  type MessageKind,
  validateJson,
} from '../../src/protocol/index.js';
import type { PartnerRequest, PartnerResponse } from '../../src/partner/index.js';

export const platform = generateTskKeyPair();
export const skill = generateTskKeyPair();
export const SKILL_ID = 'skillAudio01';

export const CATALOG = [
  { itemId: 'ep35', price: 200, name: '万古神帝 第35集' },
  { itemId: 'ep36', price: 200, name: '万古神帝 第36集' },
  { itemId: 'coins', price: 10, consumable: true, maxQuantity: 100 },
];

export function signedRequest(body: string | Uint8Array, options: { key?: typeof platform.privateKey; at?: number; headerName?: string } = {}): PartnerRequest {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const authorization = signRsa2(raw, options.key ?? platform.privateKey, { datetime: formatTskDatetime(options.at ?? Date.now()) });
  return { headers: { [options.headerName ?? 'authorization']: authorization, 'content-type': 'application/json' }, rawBody: raw };
}

export function createOrderBody(over: Partial<CreateOrderRequest> = {}): CreateOrderRequest {
  return {
    skillId: SKILL_ID,
    userToken: 'user-1',
    details: [{ itemId: 'ep35', quantity: 1, amount: 200 }],
    totalAmt: 200,
    nonceStr: randomNonce(),
    ...over,
  };
}

export function deliverBody(tradeNo: string, over: Partial<DeliverNotifyRequest> = {}): DeliverNotifyRequest {
  return {
    skillId: SKILL_ID,
    userToken: 'user-1',
    transactionId: 'DD' + tradeNo.slice(0, 20),
    tradeNo,
    totalAmt: 200,
    nonceStr: randomNonce(),
    ...over,
  };
}

/** Check that a reply is signed by the skill over its exact bytes and valid; return it decoded. */
export function readReply<K extends MessageKind>(res: PartnerResponse | { headers: Record<string, unknown>; body: Uint8Array }, kind: K) {
  const auth = res.headers['authorization'];
  assert.equal(typeof auth, 'string', 'reply has an Authorization header');
  const v = verifyRsa2(res.body, auth as string, skill.publicKey);
  assert.ok(v.ok, `reply signature verifies: ${v.ok ? '' : v.message}`);
  const parsed = validateJson(kind, res.body);
  assert.ok(parsed.ok, `reply is a valid ${kind}: ${parsed.ok ? '' : JSON.stringify(parsed.issues)}`);
  return parsed.value;
}
