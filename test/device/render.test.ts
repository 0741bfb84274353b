import { test } from 'node:test';
import assert from 'node:assert/strict';
import QRCode from 'qrcode';
import { countdown, goodsCard, qrImage, renderView } from '../../src/device/render.js';
import type { RenderContext } from '../../src/device/render.js';
import { CHARGE } from '../support/statechart.js';

const base: RenderContext = {
  mode: 'screen',
  charge: {
    ...CHARGE,
    payload: {
      chargeInfo: {
        name: '会员',
        description: '一个月',
        items: [
          { itemId: 'a', itemName: '月卡', price: 1500, count: 2, totalFee: 3000 },
          { itemId: 'b', itemName: '加油包', price: 99, count: 1, totalFee: 99 },
        ],
      },
    },
  },
  totalFen: 3099,
  paid: false,
  resumeEnabled: true,
};
const order = {
  purchaseId: 'P1',
  transactionId: 'DD1',
  tradeNo: 'T1',
  totalAmt: 3099,
  payUrl: 'https://pay.example/qr/P1/1',
  expiresAt: 100_000 + 299_500,
};

test('goods card lists items with screen money and the total', () => {
  const g = goodsCard(base.charge);
  assert.equal(g.name, '会员');
  assert.equal(g.description, '一个月');
  assert.equal(g.totalFen, 3099);
  assert.equal(g.totalText, '¥30.99');
  assert.deepEqual(
    g.items.map((i) => [i.itemName, i.count, i.priceText, i.totalText]),
    [
      ['月卡', 2, '¥15.00', '¥30.00'],
      ['加油包', 1, '¥0.99', '¥0.99'],
    ],
  );
});

/** What qrImage encodes: the text's UTF-8 bytes in byte mode at level M, as `qrcode` encodes them (test/device/qr-encoder.test.ts). */
const byteMode = (text: string) => QRCode.create([{ data: Buffer.from(text), mode: 'byte' }], { errorCorrectionLevel: 'M' });

test('QR image: the SVG draws exactly the modules of the byte-mode symbol; data URL and terminal agree', () => {
  const img = qrImage(order.payUrl, { margin: 2 });
  const ref = byteMode(order.payUrl);
  assert.equal(img.size, ref.modules.size);
  // Rebuild the module grid from the SVG path and compare with the encoder's.
  const path = /<path d="([^"]*)"/.exec(img.svg)![1]!;
  const grid = new Set<string>();
  for (const m of path.matchAll(/M(\d+) (\d+)h(\d+)v1h-\d+z/g)) {
    const x = Number(m[1]) - 2;
    const y = Number(m[2]) - 2;
    for (let i = 0; i < Number(m[3]); i++) grid.add(`${y},${x + i}`);
  }
  let dark = 0;
  for (let r = 0; r < ref.modules.size; r++)
    for (let c = 0; c < ref.modules.size; c++) {
      const on = ref.modules.get(r, c) === 1;
      if (on) dark++;
      assert.equal(grid.has(`${r},${c}`), on, `module ${r},${c}`);
    }
  assert.equal(grid.size, dark);
  assert.ok(img.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.equal(Buffer.from(img.dataUrl.replace('data:image/svg+xml;base64,', ''), 'base64').toString('utf8'), img.svg);
  const lines = img.terminal.split('\n');
  assert.equal(lines.length, Math.ceil((img.size + 4) / 2));
  for (const l of lines) assert.equal([...l].length, img.size + 4);
  // Light quiet zone is a full block; the finder pattern's dark corner (rows 0-1) is blank.
  assert.equal(lines[0], '█'.repeat(img.size + 4));
  assert.equal(ref.modules.get(0, 0), 1);
  assert.equal([...lines[1]!][2], ' ');
});

test('QR image: byte mode for every text; for these pay URLs at most a version above qrcode’s mixed segments', () => {
  const texts = [
    order.payUrl,
    'https://pay.example/qr/P0123456789abcdefghijklmnopqrstuvwxyz/12?sig=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
    'HTTPS://PAY.EXAMPLE/QR/P1/1',
    '0123456789012345678901234567890123456789',
    'https://pay.example/购买/月卡?x=1',
    'http://127.0.0.1:43125/pay/DD20261202101500a1B2c3D4e5F6',
  ];
  for (const text of texts) {
    const ref = byteMode(text);
    const img = qrImage(text, { margin: 0 });
    assert.equal(img.size, ref.modules.size, text);
    const path = /<path d="([^"]*)"/.exec(img.svg)![1]!;
    const drawn = new Uint8Array(img.size * img.size);
    for (const m of path.matchAll(/M(\d+) (\d+)h(\d+)v1h-\d+z/g)) for (let i = 0; i < Number(m[3]); i++) drawn[Number(m[2]) * img.size + Number(m[1]) + i] = 1;
    assert.deepEqual(drawn, ref.modules.data, text);
    // qrcode's own segmentation (numeric and alphanumeric runs) may take a version less, never more.
    const mixed = QRCode.create(text, { errorCorrectionLevel: 'M' }).version;
    assert.ok(ref.version >= mixed && ref.version <= mixed + 1, `${text}: version ${ref.version}, mixed ${mixed}`);
  }
  // Digits alone: qrcode packs them 10 bits per 3, byte mode 8 bits each.
  assert.equal(qrImage('0123456789012345678901234567890123456789').size, 29);
  assert.equal(QRCode.create('0123456789012345678901234567890123456789', { errorCorrectionLevel: 'M' }).modules.size, 25);
});

test('pay page: QR of the payUrl, goods, amount, countdown, touch actions', () => {
  const view = renderView('paying.awaitingScan', { ...base, order }, 'zh-CN', 100_000);
  assert.equal(view.kind, 'pay');
  if (view.kind !== 'pay') return;
  assert.equal(view.payUrl, order.payUrl);
  assert.equal(view.qr.text, order.payUrl);
  assert.equal(view.amountText, '¥30.99');
  assert.equal(view.countdown.secondsLeft, 300);
  assert.equal(view.countdown.text, '05:00');
  assert.equal(view.phase, 'awaiting-scan');
  assert.deepEqual(view.actions, ['refresh', 'cancel']);
  assert.match(view.speech, /30元9角9分/);
  const c = renderView('paying.confirming', { ...base, order, tradeStatus: 'PROCESSING' }, 'zh-CN', 100_000);
  assert.equal(c.kind === 'pay' && c.phase, 'confirming');
  assert.equal(c.title, '已扫码，请在手机上确认支付');
  // Same URL → same cached image object (cheap countdown re-renders).
  const again = renderView('paying.awaitingScan', { ...base, order }, 'zh-CN', 101_000);
  assert.equal(again.kind === 'pay' && again.qr, view.qr);
  assert.equal(again.kind === 'pay' && again.countdown.secondsLeft, 299);
});

test('countdown never goes negative', () => {
  assert.deepEqual(countdown(1_000, 5_000), { expiresAt: 1_000, secondsLeft: 0, text: '00:00' });
  assert.equal(countdown(61_000, 0).text, '01:01');
});

test('views for goods, progress, results and resumed content', () => {
  const goods = renderView('goods', base);
  assert.equal(goods.kind, 'goods');
  assert.deepEqual(goods.actions, ['buy', 'cancel']);
  assert.equal(renderView('ordering', base).kind, 'progress');
  assert.equal(renderView('app.pushed', { ...base, mode: 'screenless' }).title, '请在叮当APP中完成支付');
  assert.equal(renderView('refreshing', base).title, '正在获取新的二维码…');
  assert.equal(renderView('refreshing', { ...base, mode: 'screenless' }).title, '正在重新发送到叮当APP…', 'no QR talk on a screenless speaker');
  const failed = renderView('payFailed', { ...base, failReason: '余额不足' });
  assert.equal(failed.kind === 'result' && failed.outcome, 'failed');
  assert.equal(failed.kind === 'result' && failed.detail, '余额不足');
  assert.deepEqual(failed.actions, ['retry', 'cancel']);
  assert.equal(renderView('expired', base).kind === 'result' && (renderView('expired', base) as { outcome: string }).outcome, 'expired');
  const resumed = renderView('done', { ...base, paid: true, resumeResult: { outputSpeech: '开始播放', directives: [{ type: 'AudioPlayer.Play' }] } });
  assert.equal(resumed.kind, 'resumed');
  assert.equal(resumed.kind === 'resumed' && resumed.result.directives.length, 1);
  assert.equal(resumed.speech, '开始播放');
  const en = renderView('cancelled', base, 'en-US');
  assert.equal(en.title, 'Cancelled');
  // The result screen says paid only when the context is paid.
  const unresolved = renderView('unresolved', base);
  assert.equal(unresolved.kind === 'result' && unresolved.outcome, 'unresolved');
  assert.doesNotMatch(unresolved.title + unresolved.speech, /支付成功/);
  // A pay page without an order degrades to progress instead of a broken QR.
  assert.equal(renderView('paying.awaitingScan', base).kind, 'progress');
});
