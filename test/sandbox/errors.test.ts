/**
 * The sandbox's one status table (src/sandbox/errors.ts): what every error
 * becomes on the control API and on the device link (docs/device-protocol.md
 * §3.7), row by row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidArgumentError,
  RemoteError,
  SignatureError,
  TimeoutError,
  TransportError,
  ValidationError,
  DingDangPayError,
} from '../../src/protocol/errors.js';
import { controlErrorOf, deviceErrorOf, HttpError, SandboxStateError } from '../../src/sandbox/errors.js';

const rows: Array<[string, unknown, number, [number, string]]> = [
  ['unknown purchase', new SandboxStateError('UNKNOWN_PURCHASE', 'x'), 404, [404, 'NOT_FOUND']],
  ['unknown order', new SandboxStateError('UNKNOWN_ORDER', 'x'), 404, [409, 'ORDER_REFUSED']],
  ['not paid', new SandboxStateError('NOT_PAID', 'x'), 409, [409, 'NOT_PAID']],
  ['already final', new SandboxStateError('ALREADY_FINAL', 'x'), 409, [409, 'ALREADY_PAID']],
  ['expired', new SandboxStateError('EXPIRED', 'x'), 409, [409, 'EXPIRED']],
  ['other state', new SandboxStateError('BAD_STATE', 'x'), 409, [409, 'ORDER_REFUSED']],
  ['http 413', new HttpError(413, 'too large'), 413, [400, 'BAD_REQUEST']],
  ['http 401 device', new HttpError(401, 'unknown device', 'UNAUTHORIZED'), 401, [401, 'UNAUTHORIZED']],
  ['invalid argument', new InvalidArgumentError('x'), 400, [400, 'BAD_REQUEST']],
  ['validation', new ValidationError([{ path: 'a', code: 'REQUIRED', message: 'missing' }]), 400, [502, 'UPSTREAM']],
  ['remote', new RemoteError('refused', 'SOLD_OUT'), 502, [502, 'UPSTREAM']],
  ['timeout', new TimeoutError('x'), 504, [502, 'UPSTREAM']],
  ['transport', new TransportError('x'), 502, [502, 'UPSTREAM']],
  ['signature', new SignatureError('stale', 'x'), 502, [502, 'UPSTREAM']],
  ['other ours', new DingDangPayError('ERR_SOMETHING', 'x'), 500, [502, 'UPSTREAM']],
  ['not ours', new Error('boom'), 500, [500, 'INTERNAL']],
];

for (const [name, e, control, [status, code]] of rows)
  test(`status table: ${name}`, () => {
    assert.equal(controlErrorOf(e).status, control);
    const d = deviceErrorOf(e);
    assert.deepEqual([d.status, d.code], [status, code]);
  });

test('the control body carries code, reason and retMsg; the create-order route refuses a RemoteError with its retMsg', () => {
  assert.deepEqual(controlErrorOf(new SandboxStateError('NOT_PAID', 'not paid')).error, { code: 'ERR_STATE', message: 'not paid', reason: 'NOT_PAID' });
  assert.deepEqual(controlErrorOf(new RemoteError('refused', 'SOLD_OUT')).error, { code: 'ERR_REMOTE', message: 'refused', retMsg: 'SOLD_OUT' });
  assert.equal(controlErrorOf(new SignatureError('stale', 'x')).error.reason, 'stale');
  assert.deepEqual(controlErrorOf(new Error('secret detail')).error, { code: 'ERR_INTERNAL', message: 'internal error' });
  assert.deepEqual(deviceErrorOf(new RemoteError('refused', 'SOLD_OUT'), true), { status: 409, code: 'ORDER_REFUSED', message: 'SOLD_OUT' });
  assert.equal(deviceErrorOf(new Error('secret detail')).message, 'internal error');
});
