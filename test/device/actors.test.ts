import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStatusUpdate } from '../../src/device/actors.js';

test('isStatusUpdate: a purchase id, an integer seq and one of the four trade statuses', () => {
  for (const tradeStatus of ['NOTPAY', 'PROCESSING', 'SUCCESS', 'FAIL'])
    assert.equal(isStatusUpdate({ purchaseId: 'p1', seq: 0, tradeStatus, source: 'push' }), true, tradeStatus);
  for (const bad of [
    null,
    'x',
    {},
    { purchaseId: 'p1', seq: 1, tradeStatus: 'REFUND' },
    { purchaseId: 'p1', seq: 1.5, tradeStatus: 'SUCCESS' },
    { seq: 1, tradeStatus: 'SUCCESS' },
  ])
    assert.equal(isStatusUpdate(bad), false, JSON.stringify(bad));
});
