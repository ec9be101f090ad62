// formatSeconds: a wait's times as a DBA reads them (one decimal, no `1s61ms`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatSeconds } from '../../../engine/core/duration.js';

test('one decimal under a minute, whole seconds without one, minutes and seconds after', () => {
  assert.is(formatSeconds(4200), '4.2 s');
  assert.is(formatSeconds(1061), '1.1 s');
  assert.is(formatSeconds(30_000), '30 s');
  assert.is(formatSeconds(0), '0 s');
  assert.is(formatSeconds(-5), '0 s');
  assert.is(formatSeconds(59_970), '1 min');
  assert.is(formatSeconds(600_000), '10 min');
  // A measured time keeps its tenth under a minute, so a ticking line reads alike.
  assert.is(formatSeconds(0, { measured: true }), '0.0 s');
  assert.is(formatSeconds(1000, { measured: true }), '1.0 s');
  assert.is(formatSeconds(4200, { measured: true }), '4.2 s');
  assert.is(formatSeconds(75_000, { measured: true }), '1 min 15 s');
  assert.is(formatSeconds(598_000), '9 min 58 s');
});

test.run();
