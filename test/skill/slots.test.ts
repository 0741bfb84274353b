import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { SlotValue } from '../../src/protocol/index.js';
import { getSlot, getSlotNumber, getSlotOrigin, getSlotTypedValue, getSlotValue, getSlotValues, slotValueText } from '../../src/skill/index.js';
import { intent, launch, slot, textValue } from '../support/skill.js';

const unit = (amount: string, u: string, origin: string): SlotValue => ({ type: 'unit', amount, unit: u, origin });

describe('slot helpers', () => {
  const env = intent('play', {
    album: slot('album', textValue('三体', '三体那本书')),
    index: slot('index', textValue('35', '第三十五集')),
    episodes: slot('episodes', textValue('3', '第三集'), textValue('5', '第五集')),
    duration: slot('duration', unit('30', '分钟', '半小时')),
    city: slot('city', { type: 'address', province: '广东省', city: '深圳市', district: '南山区', origin: '深圳南山' }),
    day: slot('day', { type: 'datetime', value: { type: 'NORMAL', datetime: { date: '2026-12-01', time: '08:00:00' } }, origin: '明天早上八点' }),
    span: slot('span', { type: 'datetime', value: { type: 'INTERVAL', start: { date: '2026-12-01' }, end: { date: '2026-12-07' } }, origin: '这周' }),
    empty: slot('empty'),
  });

  it('getSlot returns the slot by name, undefined for unknown names and non-intent requests', () => {
    assert.equal(getSlot(env, 'album')?.name, 'album');
    assert.equal(getSlot(env, 'nope'), undefined);
    assert.equal(getSlot(env, 'toString'), undefined, 'no prototype keys');
    assert.equal(getSlot(launch(), 'album'), undefined);
    assert.equal(getSlot(env.request, 'album')?.name, 'album', 'a bare request works too');
  });

  it('getSlotValue: text value, unit amount+unit, address parts, datetime forms', () => {
    assert.equal(getSlotValue(env, 'album'), '三体');
    assert.equal(getSlotValue(env, 'duration'), '30分钟');
    assert.equal(getSlotValue(env, 'city'), '广东省深圳市南山区');
    assert.equal(getSlotValue(env, 'day'), '2026-12-01 08:00:00');
    assert.equal(getSlotValue(env, 'span'), '2026-12-01/2026-12-07');
    assert.equal(getSlotValue(env, 'empty'), undefined);
    assert.equal(getSlotValue(env, 'missing'), undefined);
  });

  it('getSlotValues lists every value; getSlotOrigin gives the user’s words', () => {
    assert.deepEqual(getSlotValues(env, 'episodes'), ['3', '5']);
    assert.deepEqual(getSlotValues(env, 'missing'), []);
    assert.equal(getSlotOrigin(env, 'index'), '第三十五集');
    assert.equal(getSlotOrigin(env, 'duration'), '半小时');
    assert.equal(getSlotOrigin(env, 'missing'), undefined);
    assert.equal(getSlotTypedValue(env, 'duration')?.type, 'unit');
  });

  it('slotValueText leaves out values with nothing usable', () => {
    assert.equal(slotValueText({ type: 'address', origin: '那里' }), undefined);
    assert.equal(slotValueText({ type: 'datetime', value: { type: 'INTERVAL', start: {}, end: {} }, origin: 'x' }), undefined);
    assert.equal(slotValueText(undefined), undefined);
  });

  describe('getSlotNumber', () => {
    const cases: Array<[SlotValue, number | undefined]> = [
      [textValue('35'), 35],
      [textValue('三十五'), 35],
      [textValue('第三十五集'), 35],
      [textValue('35集'), 35],
      [textValue('一百零二'), 102],
      [textValue('两'), 2],
      [textValue('十一'), 11],
      [textValue('３５'), 35],
      [textValue('三体', '第十二集'), 12],
      [textValue('下一个', '那个'), undefined],
      [unit('3', '集', '三集'), 3],
      [unit('1.5', '小时', '一个半小时'), undefined],
    ];
    for (const [value, n] of cases)
      it(`${JSON.stringify(value)} → ${n}`, () => assert.equal(getSlotNumber(intent('play', { index: slot('index', value) }), 'index'), n));
    it('undefined without the slot', () => assert.equal(getSlotNumber(intent('play'), 'index'), undefined));
  });
});
