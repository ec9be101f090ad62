// A read query's rows as the small table sqlExec shows under its step.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rowsTable } from '../../../steps/support/rows-table.js';

test('a header, a rule and the rows, columns as wide as their widest cell', () => {
  assert.equal(rowsTable(['version', 'asyncMembers'], [{ version: '16.0.4125.3', asyncMembers: 2 }]), [
    'version      asyncMembers',
    '-----------  ------------',
    '16.0.4125.3  2',
  ]);
});

test('NULL, dates, long cells cut, control characters escaped, and how many rows are not shown', () => {
  const rows = [
    { a: null, b: new Date('2026-01-02T03:04:05Z') },
    { a: 'x'.repeat(50), b: 'bell\u0007\u001b[2J' },
    { a: 1, b: 2 },
  ];
  assert.equal(rowsTable(['a', 'b'], rows, { maxRows: 2, maxCell: 12 }), [
    'a             b',
    '------------  ------------',
    'NULL          2026-01-0...',
    'xxxxxxxxx...  bell\\u000...',
    '(1 more row not shown)',
  ]);
});

test.run();
