/**
 * `dingdang-pay/partner`: what a skill backend needs — signed, validated,
 * exactly-once handlers for the platform's calls, the pay client for
 * `/paycgi/*`, the store contract and stores, the Node `http` and Fastify
 * adapters. The Express adapter is `dingdang-pay/partner/express` (it loads
 * express). Never imports device or sandbox code.
 */
export * from './store.js';
export * from './handlers.js';
export * from './create-order.js';
export * from './deliver.js';
export * from './stores/index.js';
export * from './pay-client.js';
export * from './adapters/node-http.js';
export * from './adapters/fastify.js';
export * from './refund.js';
