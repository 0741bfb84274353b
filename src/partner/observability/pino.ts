/**
 * The partner kit's events (observer.ts) as pino log lines: one JSON line per
 * request, delivery, refund step and reconciliation step — our own
 * extension. The caller passes its own pino logger; nothing here imports
 * pino (it is an optional peer dependency), any logger with pino's
 * `info(obj, msg)` / `warn` / `error` (and optional `debug`) works.
 *
 * ```ts
 * import pino from 'pino';
 * const observer = pinoObserver(pino());
 * createPartnerHandlers({ …, observer });
 * ```
 *
 * Every line has `event` (the event type) and the event's own fields: ids
 * (`skillId`, `tradeNo`, `transactionId`, `refundTradeNo`), outcomes,
 * reasons and durations — never keys, tokens, signatures or bodies (the
 * events do not carry them). A delivery made by the reconciler (a
 * notification that was lost) has `recovered: true`.
 */
import { InvalidArgumentError } from '../../protocol/index.js';
import type { PartnerEvent, PartnerObserver } from '../observer.js';

type LogFn = (obj: object, msg?: string) => void;

/** What `pinoObserver` needs of a logger (a pino `Logger` has it). */
export interface PinoLikeLogger {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  debug?: LogFn;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

function lineOf(e: PartnerEvent): { level: Level; msg: string; extra?: object } {
  switch (e.type) {
    case 'request':
      return { level: e.outcome === 'success' ? 'info' : e.outcome === 'refused' ? 'warn' : 'error', msg: `${e.interface} ${e.outcome}` };
    case 'delivery':
      if (e.outcome === 'delivered' && e.source === 'reconciler')
        return { level: 'info', msg: 'delivery recovered by the reconciler (the notification was lost)', extra: { recovered: true } };
      return { level: e.outcome === 'failed' ? 'warn' : 'info', msg: `delivery ${e.outcome}` };
    case 'refund':
      return { level: e.outcome === 'mismatch' || e.outcome === 'failed' ? 'warn' : 'info', msg: `refund ${e.outcome}` };
    case 'reconcile.item':
      return { level: e.outcome === 'error' ? 'warn' : 'info', msg: `reconcile ${e.kind} ${e.outcome}` };
    case 'reconcile.pass':
      // A pass that found nothing is the steady state: debug, not a line every interval.
      return { level: e.found > 0 ? 'info' : 'debug', msg: 'reconcile pass' };
    case 'reconcile.failed':
      return { level: 'error', msg: 'reconcile pass failed' };
  }
}

/** An observer that writes every event to `logger` (levels: refusals and failures warn, backend errors error). */
export function pinoObserver(logger: PinoLikeLogger): PartnerObserver {
  if (!logger || typeof logger.info !== 'function' || typeof logger.warn !== 'function' || typeof logger.error !== 'function')
    throw new InvalidArgumentError('pinoObserver needs a pino logger (info, warn, error)');
  return (event) => {
    const { type, ...fields } = event;
    const { level, msg, extra } = lineOf(event);
    const obj = { event: type, ...fields, ...extra };
    if (level === 'debug') logger.debug?.(obj, msg);
    else logger[level](obj, msg);
  };
}
