/**
 * `dingdang-pay orderquery | refund | refundquery`: the skill's pay calls from
 * a terminal (like Stripe's CLI), against the sandbox (`--sandbox URL`: its
 * pay CGI and its platform key from `/sandbox/v1/info`) or a configured
 * platform (`--base-url URL --tsk-public-key FILE`). Signed with the skill's
 * private key (TSK-RSA2); the reply is printed only after its platform
 * signature and shape verified. Exit 0 on `retCode: SUCCESS`, 1 when the
 * platform answered FAIL or could not be reached, 2 for a usage error.
 * Flags may also come from the environment: DINGDANG_SKILL_ID,
 * DINGDANG_SKILL_KEY (a file), DINGDANG_PAY_BASE_URL, DINGDANG_TSK_PUBLIC_KEY (a file).
 */
import { PayRemoteError } from '../../partner/index.js';
import { parseOptions, str, UsageError, write, type CliIO, type Command } from '../io.js';
import { PAY_CLIENT_HELP as COMMON, PAY_CLIENT_OPTIONS as COMMON_OPTIONS, payClientFrom, type Values } from './pay-setup.js';

function fen(v: Values, flag: string, required: boolean): number | undefined {
  const text = str(v[flag]);
  if (text === undefined) {
    if (required) throw new UsageError(`--${flag} FEN is required`);
    return undefined;
  }
  if (!/^\d{1,15}$/.test(text)) throw new UsageError(`--${flag} must be an amount in integer fen (e.g. 200 for ¥2.00)`);
  return Number(text);
}

/** Run one call; print the verified reply (JSON) or one line of why not. */
async function call(io: CliIO, run: () => Promise<unknown>): Promise<number> {
  try {
    write(io.stdout, JSON.stringify(await run(), null, 2));
    return 0;
  } catch (e) {
    if (e instanceof PayRemoteError) {
      write(io.stdout, JSON.stringify(e.reply ?? { retCode: 'FAIL', retMsg: e.message }, null, 2));
      write(io.stderr, `FAIL: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

function ids(v: Values, a: string, b: string): Record<string, string> {
  const out: Record<string, string> = {};
  const x = str(v[a]);
  const y = str(v[b]);
  if (x === undefined && y === undefined) throw new UsageError(`--${a} or --${b} is required`);
  const camel = (s: string) => s.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
  if (x !== undefined) out[camel(a)] = x;
  if (y !== undefined) out[camel(b)] = y;
  return out;
}

export const orderquery: Command = {
  summary: 'query an order on the pay interfaces (orderquery), print the verified reply',
  usage: `Usage: dingdang-pay orderquery (--trade-no NO | --transaction-id ID) (--sandbox URL | --base-url URL --tsk-public-key FILE) --skill-id ID --key FILE

Options:
  --trade-no NO         your order number (tradeNo)
  --transaction-id ID   DingDang's order id
${COMMON}`,
  async run(argv, io) {
    const { values } = parseOptions(argv, { ...COMMON_OPTIONS, 'trade-no': { type: 'string' }, 'transaction-id': { type: 'string' } });
    if (values.help) return (write(io.stdout, this.usage), 0);
    const which = ids(values, 'trade-no', 'transaction-id') as { tradeNo: string } | { transactionId: string };
    const pay = (await payClientFrom(values)).pay;
    return call(io, () => pay.orderQuery(which));
  },
};

export const refund: Command = {
  summary: 'refund (part of) a paid order (refund), print the verified reply',
  usage: `Usage: dingdang-pay refund (--trade-no NO | --transaction-id ID) --amount FEN --item ID [--refund-trade-no NO] [--desc TEXT] ...

The order's total comes from an order query first unless given (--total FEN).
Reuse --refund-trade-no to retry a refund safely.

Options:
  --trade-no NO         your order number (tradeNo)
  --transaction-id ID   DingDang's order id
  --amount FEN          the refund, integer fen
  --total FEN           the order's total (default: from an order query)
  --item ID             the item refunded (its itemId)
  --quantity N          of that item (default 1)
  --refund-trade-no NO  your refund number (default: generated; printed in the reply)
  --desc TEXT           why (refundDesc)
${COMMON}`,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      ...COMMON_OPTIONS,
      'trade-no': { type: 'string' },
      'transaction-id': { type: 'string' },
      amount: { type: 'string' },
      total: { type: 'string' },
      item: { type: 'string' },
      quantity: { type: 'string' },
      'refund-trade-no': { type: 'string' },
      desc: { type: 'string' },
    });
    if (values.help) return (write(io.stdout, this.usage), 0);
    const which = ids(values, 'trade-no', 'transaction-id') as { tradeNo: string } | { transactionId: string };
    const refundAmt = fen(values, 'amount', true)!;
    const itemId = str(values.item);
    if (itemId === undefined) throw new UsageError('--item ID (the itemId refunded) is required');
    const quantityText = str(values.quantity) ?? '1';
    if (!/^[1-9]\d{0,8}$/.test(quantityText)) throw new UsageError('--quantity must be a whole number ≥ 1');
    const pay = (await payClientFrom(values)).pay;
    return call(io, async () => {
      const totalAmt = fen(values, 'total', false) ?? (await pay.orderQuery(which)).totalAmt;
      const refundTradeNo = str(values['refund-trade-no']);
      const desc = str(values.desc);
      return pay.refund({
        ...which,
        totalAmt,
        refundAmt,
        refundDetails: [{ itemId, quantity: Number(quantityText), amount: refundAmt }],
        ...(refundTradeNo !== undefined ? { refundTradeNo } : {}),
        ...(desc !== undefined ? { refundDesc: desc } : {}),
      });
    });
  },
};

export const refundquery: Command = {
  summary: 'query a refund (refundquery), print the verified reply',
  usage: `Usage: dingdang-pay refundquery (--refund-trade-no NO | --refund-transaction-id ID) (--sandbox URL | --base-url URL --tsk-public-key FILE) --skill-id ID --key FILE

Options:
  --refund-trade-no NO         your refund number
  --refund-transaction-id ID   DingDang's refund id
${COMMON}`,
  async run(argv, io) {
    const { values } = parseOptions(argv, { ...COMMON_OPTIONS, 'refund-trade-no': { type: 'string' }, 'refund-transaction-id': { type: 'string' } });
    if (values.help) return (write(io.stdout, this.usage), 0);
    const which = ids(values, 'refund-trade-no', 'refund-transaction-id') as { refundTradeNo: string } | { refundTransactionId: string };
    const pay = (await payClientFrom(values)).pay;
    return call(io, () => pay.refundQuery(which));
  },
};
