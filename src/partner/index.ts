/**
 * `dingdang-pay/partner`: what a skill backend needs — signed, validated,
 * exactly-once handlers for the platform's calls, the pay client for
 * `/paycgi/*`, the store contract and stores, the Node `http` adapter. The
 * Express and Fastify adapters are `dingdang-pay/partner/express` and
 * `dingdang-pay/partner/fastify`, so that this entry needs neither framework
 * (not even its types). Never imports device or sandbox code.
 */
export * from './store.js';
export * from './handlers.js';
export * from './create-order.js';
export * from './deliver.js';
export * from './stores/index.js';
export * from './pay-client.js';
export * from './adapters/node-http.js';
export * from './refund.js';
