import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadYaml } from '../../../engine/load/yaml.js';

const lines = (...l: string[]) => `${l.join('\n')}\n`;
const codes = (r: { diagnostics: Array<{ code: string; line: number; column: number }> }) => r.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`);
const dir = mkdtempSync(join(tmpdir(), 'runbook-load-'));

/** Hostile input must be refused quickly: a bound, not a benchmark. */
function quick<T>(fn: () => T): T {
  const t0 = Date.now();
  const r = fn();
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  return r;
}

test('locates keys and values, block and flow, through sequences', () => {
  const r = loadYaml('f.yml', lines(
    '# comment',
    'name: x',
    'steps:',
    '  - id: a   # trailing',
    '    with: { message: "hi", n: [1, 2] }',
    '  - id: b',
    '    with:',
    '      sql: |',
    '        SELECT 1',
    '          FROM t',
  ));
  assert.equal(r.diagnostics, []);
  assert.equal(r.locate('/name'), { line: 2, column: 7 });
  assert.equal(r.locate('/name', 'key'), { line: 2, column: 1 });
  assert.equal(r.locate('/steps/0/id'), { line: 4, column: 9 });
  assert.equal(r.locate('/steps/0/with/message'), { line: 5, column: 22 });
  assert.equal(r.locate('/steps/0/with/n/1'), { line: 5, column: 35 });
  assert.equal(r.locate('/steps/1/with/sql', 'key'), { line: 8, column: 7 });
  // falls back to the nearest ancestor
  assert.equal(r.locate('/steps/1/with/nothing/here'), { line: 8, column: 7 });
  // inside a literal block scalar: line 2, column 3 of the string
  assert.equal(r.locateInValue('/steps/1/with/sql', 2, 3), { line: 10, column: 11 });
  assert.equal(r.locateInValue('/steps/0/with/message', 1, 2), { line: 5, column: 24 });
});

test('reports every duplicate key with both positions', () => {
  const r = loadYaml('f.yml', lines('a: 1', 'b:', '  c: 1', '  c: 2', 'a: 3', 'a: 4'));
  assert.equal(codes(r), ['yaml-duplicate-key@4:3', 'yaml-duplicate-key@5:1', 'yaml-duplicate-key@6:1']);
  assert.match(r.diagnostics[0]!.message, 'line 3, column 3');
  assert.match(r.diagnostics[2]!.message, 'line 5');
  assert.equal((r.value as { a: number }).a, 4);
});

test('tab indentation is reported at the tab, once per line', () => {
  const r = loadYaml('f.yml', lines('a:', '\tb: 1'));
  assert.equal(codes(r), ['yaml-tab-indentation@2:1']);
});

test('tabs inside a block scalar are content, not indentation', () => {
  const r = loadYaml('f.yml', lines('sql: |', '  SELECT 1', '  \tFROM t'));
  assert.equal(r.diagnostics, []);
});

test('syntax errors carry the mark', () => {
  const r = loadYaml('f.yml', lines('a: [1, 2', 'b: 2'));
  assert.equal(r.diagnostics.length, 1);
  assert.equal(r.diagnostics[0]!.code, 'yaml-syntax');
  assert.equal(r.diagnostics[0]!.line, 2);
  assert.equal(r.value, undefined);
});

test('alias bomb is refused', () => {
  const l = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 12; i++) l.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  const r = quick(() => loadYaml('bomb.yml', lines(...l)));
  assert.equal(codes(r), ['yaml-alias-limit@1:1']);
  assert.equal(r.value, undefined);
});

test('recursive alias is refused', () => {
  const r = quick(() => loadYaml('f.yml', lines('a: &a', '  b: *a')));
  assert.ok(r.diagnostics.some((d) => d.code === 'yaml-alias-limit'), JSON.stringify(r.diagnostics));
});

test('10k-deep nesting is refused', () => {
  const r = quick(() => loadYaml('deep.yml', `${'['.repeat(10_000)}${']'.repeat(10_000)}\n`));
  assert.equal(r.diagnostics.map((d) => d.code), ['yaml-too-deep']);
});

test('binary file is refused', () => {
  const f = join(dir, 'bin.yml');
  writeFileSync(f, Buffer.from([0x61, 0x3a, 0x20, 0x00, 0x01, 0x02]));
  const r = quick(() => loadYaml(f));
  assert.equal(codes(r), ['file-binary@1:4']);
});

test('non-UTF-8 file is refused at the bad byte', () => {
  const f = join(dir, 'latin1.yml');
  writeFileSync(f, Buffer.concat([Buffer.from('a: 1\nb: caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
  const r = quick(() => loadYaml(f));
  assert.equal(codes(r), ['file-not-utf8@2:7']);
});

test('5 MiB file is refused without parsing', () => {
  const f = join(dir, 'big.yml');
  writeFileSync(f, `a: "${'x'.repeat(5 * 1024 * 1024)}"\n`);
  const r = quick(() => loadYaml(f));
  assert.equal(codes(r), ['file-too-large@1:1']);
});

test('missing file is a diagnostic', () => {
  const r = loadYaml(join(dir, 'nope.yml'));
  assert.equal(r.diagnostics[0]!.code, 'file-unreadable');
});

test.run();
