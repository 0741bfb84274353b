// Module hooks: `pino` and `prom-client` cannot be found, as in an install without the optional peers.
const HIDDEN = new Set(['pino', 'prom-client']);

export async function resolve(specifier, context, next) {
  if (HIDDEN.has(specifier)) throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
  return next(specifier, context);
}
