// The step tester fails where it should: each faulty step type in
// test/fixtures/step-tester/faulty-steps.ts breaks the contract one way, and its suite must fail
// with the reason. A tester that passed everything would make every step test worthless.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const faulty = fileURLToPath(new URL('../../fixtures/step-tester/faulty-steps.js', import.meta.url));

const output = await new Promise<string>((resolve) => {
  execFile(process.execPath, [faulty], { timeout: 60_000, maxBuffer: 8 << 20, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } }, (_error, stdout, stderr) =>
    resolve(`${stdout}\n${stderr}`),
  );
});

const expected: Array<[string, RegExp]> = [
  ['planUsesSql', /plan\(\) called ctx\.sql\(\); plan must not do I\/O/],
  ['planOpensSocket', /plan\(\) opened a network connection; plan must not do I\/O/],
  ['planIsAsync', /planIsAsync\.plan\(\) must return a plan synchronously/],
  ['badMessages', /badMessages message lower starts with a capital letter/],
  ['noFullStop', /noFullStop message open ends with a full stop/],
  ['strayBrace', /strayBrace message brace: a brace that is not a \{\{placeholder\}\}/],
  ['badDefault', /badDefault: default "soon" for `interval` fails its own schema/],
  ['unsaidDefault', /unsaidDefault: the description of `interval` should name its default 7s/],
  ['defaultInSchema', /defaultInSchema with\.interval: defaults live in the step's defaults, not the schema/],
  ['wrongValid', /wrongValid: expected no errors for \{"interval":"soon"\}/],
  ['wrongInvalid', /wrongInvalid \{"interval":"5s"\}:\n\(none\)/],
  ['wrongSummary', /summary: look\nexpected: look twice/],
  ['plainObject', /plainObject is written with defineStep/],
];

for (const [type, reason] of expected) {
  test(`the tester fails ${type}`, () => {
    assert.match(output, `${type} (step tester)`);
    assert.match(output, reason, output.slice(0, 4000));
  });
}

test('every faulty suite failed, and nothing else did', () => {
  const total = Number(/Total:\s+(\d+)/.exec(output)?.[1]);
  const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1]);
  // A plan() that does I/O fails twice: its plan case, and {} (valid here, so planned too).
  assert.is(total - passed, expected.length + 3, output.slice(-2000));
});

test.run();
