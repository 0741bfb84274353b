/**
 * The browser-safe part of the protocol: types, validation, money, errors,
 * TSK framing and WebCrypto verification. No Node built-ins, no signing keys.
 * The device companion imports from here only.
 */
export * from './errors.js';
export * from './money.js';
export * from './types.js';
export * from './skill-types.js';
export * from './skill-check.js';
export * from './validate.js';
export * from './tsk.js';
export * from './tsk-webcrypto.js';
