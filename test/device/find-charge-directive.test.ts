/**
 * findChargeDirective: the Charge directive among a skill answer's
 * directives, validated with the protocol's Charge schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompanionError } from '../../src/device/errors.js';
import { findChargeDirective } from '../../src/device/find-charge-directive.js';
import { validate } from '../../src/protocol/index.js';
import { CHARGE } from '../support/statechart.js';

test('finds the Charge directive and returns the validated copy (unknown fields kept)', () => {
  const withExtra = { ...CHARGE, token: 't1' };
  const found = findChargeDirective([{ type: 'Display.RenderTemplate' }, null, withExtra, { ...CHARGE, payload: {} }]);
  assert.deepEqual(found, { ...CHARGE, token: 't1' });
  assert.notEqual(found, withExtra, 'a copy');
  assert.deepEqual(found, (validate('chargeDirective', withExtra) as { value: unknown }).value);
});

test('no Charge directive, or no list: undefined', () => {
  assert.equal(findChargeDirective([{ type: 'Connections.SendRequest', name: 'Other' }, { type: 'AudioPlayer.Play' }]), undefined);
  assert.equal(findChargeDirective([]), undefined);
  assert.equal(findChargeDirective(undefined), undefined);
  assert.equal(findChargeDirective({ type: 'Connections.SendRequest', name: 'Charge' }), undefined);
});

test('an invalid Charge directive throws ERR_DEVICE_BAD_CHARGE naming the first issue', () => {
  const item = { itemId: 'a', itemName: 'a', price: 2, count: 2, totalFee: 5 };
  const bad = { ...CHARGE, payload: { chargeInfo: { name: 'x', items: [item] } } };
  assert.throws(
    () => findChargeDirective([bad]),
    (e: unknown) =>
      e instanceof CompanionError &&
      e.code === 'ERR_DEVICE_BAD_CHARGE' &&
      e.message === 'invalid Charge directive: payload.chargeInfo.items[0].totalFee must equal price × count',
  );
  assert.throws(
    () => findChargeDirective([{ type: 'Connections.SendRequest', name: 'Charge' }]),
    (e: unknown) => e instanceof CompanionError && e.message === 'invalid Charge directive: payload is required',
  );
});
