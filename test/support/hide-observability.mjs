// `node --import ./test/support/hide-observability.mjs …`: run as if pino and prom-client were not installed.
import { register } from 'node:module';

register('./hide-observability-hooks.mjs', import.meta.url);
