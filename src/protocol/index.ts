/**
 * `dingdang-pay/protocol`: the wire contract of the seed — the six pay
 * interfaces, the Charge directive and event, validation, money, and
 * TSK-RSA2 / TSK-HMAC-SHA256-BASIC signatures (Node crypto and WebCrypto),
 * the custom-skill protocol, and the device ↔ platform link.
 *
 * Everything of the browser-safe entry (browser.ts, itself a list of names),
 * plus the Node-crypto signer and verifier and key loading.
 */
export * from './browser.js';
export {
  MIN_RSA_BITS,
  constructMessage,
  generateTskKeyPair,
  hmacSignature,
  loadPrivateKey,
  loadPublicKey,
  publicKeyToBase64,
  publicKeyToPem,
  rsa2Signature,
  signHmac,
  signRsa2,
  signRsa2Async,
  signedJsonHeaders,
  verifyHmac,
  verifyRsa2,
  type ConstructOptions,
  type KeyInput,
  type SignOptions,
  type TskKeyPair,
} from './tsk-node.js';
