// Baseline child of `coldstart`: the same fresh process importing an empty module (Node's own first-import cost).
const t0 = performance.now();
await import(process.argv[2]);
console.log('RESULT ' + JSON.stringify({ importMs: performance.now() - t0 }));
