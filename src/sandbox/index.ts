/**
 * `dingdang-pay/sandbox`: a local DingDang platform — the pay CGI, outbound
 * create-order / delivery / refund notifications, skill routing with
 * TSK-HMAC-signed requests, scripted payment outcomes and faults. See
 * docs/sandbox.md. Depends on `protocol` only.
 */
export * from './errors.js';
export * from './config.js';
export * from './scheduler.js';
export * from './faults.js';
export * from './order-book.js';
export * from './outbound.js';
export * from './skill.js';
export * from './platform.js';
export * from './paycgi.js';
export * from './server.js';
export * from './device-link.js';
