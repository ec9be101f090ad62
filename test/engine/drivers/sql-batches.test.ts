import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BatchSplitError, excerpt, scriptLine, splitBatches } from '../../../engine/drivers/sql/batches.js';

test('GO lines split batches; case, spaces, counts and trailing comments as sqlcmd takes them', () => {
  const script = ['USE master', 'GO', 'SELECT 1', '  go  ', 'SELECT 2', 'GO 3', 'SELECT 3', 'Go -- done', 'SELECT 4'].join('\n');
  const batches = splitBatches(script);
  assert.equal(
    batches.map((b) => [b.text, b.startLine, b.repeat]),
    [
      ['USE master', 1, 1],
      ['SELECT 1', 3, 1],
      ['SELECT 2', 5, 3],
      ['SELECT 3', 7, 1],
      ['SELECT 4', 9, 1],
    ],
  );
});

test('GO inside strings, block comments (nested) and quoted identifiers is text', () => {
  const script = [
    "SELECT 'a",
    'GO',
    "b' AS s",
    '/* outer /* inner */',
    'GO',
    '*/',
    'SELECT [x',
    'GO',
    ']], y] FROM t',
    'SELECT "q',
    'go',
    '"',
    'GO',
    'SELECT 2',
  ].join('\n');
  const batches = splitBatches(script);
  assert.is(batches.length, 2);
  assert.is(batches[0].text.split('\n').length, 12);
  assert.is(batches[1].text, 'SELECT 2');
  assert.is(batches[1].startLine, 14);
});

test('a quote in a line comment does not open a string; escaped quotes stay inside', () => {
  const script = ["SELECT 1 -- it's fine", 'GO', "SELECT 'it''s'", 'GO', 'SELECT 3'].join('\n');
  assert.equal(splitBatches(script).map((b) => b.text), ["SELECT 1 -- it's fine", "SELECT 'it''s'", 'SELECT 3']);
});

test('words that start with go, or GO with other text, do not split', () => {
  const script = ['SELECT 1', 'GOTO done', 'go;', 'done:', 'SELECT 2'].join('\n');
  assert.is(splitBatches(script).length, 1);
});

test('empty batches are skipped; CRLF works; the last batch needs no GO', () => {
  const batches = splitBatches('GO\r\n\r\nGO\r\nSELECT 1\r\nGO\r\n');
  assert.equal(batches.map((b) => [b.text, b.startLine]), [['SELECT 1', 4]]);
});

test('GO n with a trailing comment; GO inside a string, a comment or a bracketed identifier spanning lines is text', () => {
  const script = [
    'SELECT 1',
    'GO 2 -- twice',
    "SELECT '",
    'GO',
    "' AS s -- GO",
    '/* GO',
    'GO */ SELECT [a',
    'GO',
    ']',
    'GO--done',
    "SELECT N'--' AS a, '/*' AS b",
    'GO',
    'SELECT 3',
  ].join('\n');
  assert.equal(
    splitBatches(script).map((b) => [b.startLine, b.repeat, b.text.split('\n').length]),
    [
      [1, 2, 1],
      [3, 1, 7],
      [11, 1, 1],
      [13, 1, 1],
    ],
  );
});

test('an unterminated string or comment swallows the GO lines after it (the server then refuses that batch)', () => {
  const batches = splitBatches("SELECT 1\nGO\nSELECT 'open\nGO\nSELECT 2\n/* x");
  assert.equal(batches.map((b) => b.startLine), [1, 3]);
  assert.is(batches[1].text, "SELECT 'open\nGO\nSELECT 2\n/* x");
});

test('GO with a bad count names the line', () => {
  assert.throws(() => splitBatches('SELECT 1\nGO 0'), (e: unknown) => e instanceof BatchSplitError && e.line === 2 && /Line 2/.test(e.message));
  assert.throws(() => splitBatches('SELECT 1\nGO x'), /positive count, got 'x'/);
});

test('server line numbers map back to the script, and the excerpt marks the line', () => {
  const script = 'USE master\nGO\nSELECT 1\nSELECT * FROM nope\nSELECT 3';
  const [, second] = splitBatches(script);
  assert.is(scriptLine(second, 2), 4);
  assert.is(scriptLine(second, 0), 3);
  const text = excerpt(script, 4, 1);
  assert.is(text, '  3 | SELECT 1\n> 4 | SELECT * FROM nope\n  5 | SELECT 3');
});

// F5: a GO next to a lone CR (or U+0085, U+2028, U+2029) is a batch end to one tool and not to
// another; the script is refused rather than split by a guess.
test('a GO next to a line break other than LF or CR LF is refused; a lone CR elsewhere is not', () => {
  for (const sql of ['SELECT 1\rGO\rDROP TABLE t', 'SELECT 1\nGO\rDROP TABLE t', 'SELECT 1\u2028GO\u2028DROP TABLE t', 'SELECT 1\u0085go 2\nSELECT 3', "SELECT 'a\rGO\rb'"]) {
    assert.throws(() => splitBatches(sql), (e: unknown) => e instanceof BatchSplitError && /line break other than LF or CR LF/.test(e.message), JSON.stringify(sql));
  }
  assert.throws(() => splitBatches('SELECT 1\nSELECT 2\rGO\nx'), (e: unknown) => e instanceof BatchSplitError && e.line === 2);
  assert.equal(splitBatches('SELECT 1 --x\rSELECT 2').map((b) => b.text), ['SELECT 1 --x\rSELECT 2'], 'one batch: the CR ends the comment, not the batch');
  assert.equal(splitBatches('SELECT 1 --x\r\nGO\r\nSELECT 2').map((b) => b.text), ['SELECT 1 --x', 'SELECT 2']);
  assert.equal(splitBatches('SELECT 1 AS a,\rgoods.x FROM goods').length, 1, 'a word that only starts with "go" is no GO');
});

test.run();
