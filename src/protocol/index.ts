/**
 * `dingdang-pay/protocol`: the wire contract of the seed — the six pay
 * interfaces, the Charge directive and event, validation, money, and
 * TSK-RSA2 / TSK-HMAC-SHA256-BASIC signatures (Node crypto and WebCrypto).
 */
export * from './browser.js';
export * from './tsk-node.js';
