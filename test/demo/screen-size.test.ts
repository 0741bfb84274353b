import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenSize } from '../../src/demo/web/screen-size.js';

test('the speaker page screen size: 600×375 by default, ?screen=WxH zooms the 375 px tall layout to fill the panel', () => {
  assert.deepEqual(screenSize(null), { width: 600, height: 375, zoom: 1, layoutWidth: 600, layoutHeight: 375, name: '600x375' });
  const s7 = screenSize('1024x600');
  assert.equal(s7.zoom, 1.6);
  assert.deepEqual([s7.layoutWidth, s7.layoutHeight, s7.name], [640, 375, '1024x600']);
  const s10 = screenSize('1280×800');
  assert.ok(Math.abs(s10.layoutWidth - 600) < 1e-9 && Math.abs(s10.layoutHeight - 375) < 1e-9);
  assert.equal(s10.name, '1280x800');
  for (const bad of ['', 'big', '10x10', '99999x600', '1024x', '1024x600; x']) assert.equal(screenSize(bad).name, '600x375', bad);
});
