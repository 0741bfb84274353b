// Child process of `coldstart` (plain JS, no loader hooks): time from
// `import()` of the device's minified browser bundle to the first goods
// render of a purchase over a trivial in-memory transport.
// argv: bundle path, Charge directive JSON. Prints `RESULT {...}`.
const t0 = performance.now();
const m = await import(process.argv[2]);
const tImport = performance.now();
const charge = JSON.parse(process.argv[3]);
const transport = {
  startPurchase: async () => ({ purchaseId: 'P1' }),
  placeOrder: async () => ({ kind: 'already-owned' }),
  refreshOrder: async () => {
    throw new Error('unused');
  },
  queryStatus: async (purchaseId) => ({ purchaseId, tradeStatus: 'NOTPAY', seq: 0, source: 'poll' }),
  subscribe: () => () => {},
  cancel: async () => {},
  resume: async () => ({ directives: [] }),
  close: () => {},
};
const companion = new m.DeviceCompanion({ transport, countdownMs: 0 });
const rendered = new Promise((resolve) => companion.on('render', (v) => v.kind === 'goods' && resolve(v)));
void companion.purchase({ charge, speech: '这是付费内容，需要购买才能播放哦', originalRequest: { intent: 'play' } });
const view = await rendered;
const tRender = performance.now();
companion.stop();
console.log('RESULT ' + JSON.stringify({ importMs: tImport - t0, totalMs: tRender - t0, view: view.kind }));
