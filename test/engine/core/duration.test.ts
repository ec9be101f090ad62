import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDuration, formatElapsed, parseDuration } from '../../../engine/core/duration.js';

test('parses units and combinations', () => {
  assert.is(parseDuration('500ms'), 500);
  assert.is(parseDuration('30s'), 30_000);
  assert.is(parseDuration('10m'), 600_000);
  assert.is(parseDuration('1h'), 3_600_000);
  assert.is(parseDuration('1m30s'), 90_000);
  assert.is(parseDuration('1.5s'), 1500);
  assert.is(parseDuration('0s'), 0);
});

test('rejects nonsense with a clear message', () => {
  assert.throws(() => parseDuration('30'), /no unit/);
  assert.throws(() => parseDuration('-1s'), /negative/);
  assert.throws(() => parseDuration('25h'), /24h/);
  assert.throws(() => parseDuration('10 minutes'), /not a duration/);
  assert.throws(() => parseDuration('30s1m'), /misorders/);
  assert.throws(() => parseDuration(''), /empty/);
});

test('formats', () => {
  assert.is(formatDuration(90_000), '1m30s');
  assert.is(formatDuration(250), '250ms');
  assert.is(formatDuration(1500), '1s500ms', 'exact: it is parsed back');
  assert.is(parseDuration(formatDuration(3_723_004)), 3_723_004);
});

test('formats a measured time, rounded for people', () => {
  assert.is(formatElapsed(12.4), '12ms');
  assert.is(formatElapsed(1234), '1.2s');
  assert.is(formatElapsed(65_000), '1m05s');
  assert.is(formatElapsed(119_700), '2m00s', 'never 1m60s');
});

test.run();
