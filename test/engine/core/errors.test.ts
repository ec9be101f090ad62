// Step errors are typed: the exit code and "nothing took effect" are read from the error's type and
// fields, never from fields glued onto a plain Error. Raw driver errors a plugin lets through are
// still judged by what the driver says (an mssql RequestError's number, an ARM RestError's status).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { definitelyNotApplied, errorExitCode, ExitError, GuardRefusal, OutcomeUnknown, StepFailure, StepRefusal, UsageError } from '../../../engine/core/errors.js';
import { ExitCode } from '../../../engine/core/exit-codes.js';

test('exit codes come from the error types', () => {
  assert.is(errorExitCode(new StepFailure('x', {}, 'Failed.')), undefined, 'a failure: 1 or 4, decided by whether something changed');
  assert.is(errorExitCode(new OutcomeUnknown('Lost the answer.')), ExitCode.outcomeUnknown);
  assert.is(errorExitCode(new GuardRefusal('splitBrain', { link: 'dag1' }, 'Split-brain.')), ExitCode.refused);
  assert.is(errorExitCode(new StepRefusal('No.')), ExitCode.refused);
  assert.is(errorExitCode(new UsageError('bad flag')), ExitCode.invalidInput);
  assert.is(errorExitCode(new ExitError(ExitCode.interrupted, 'interrupted')), ExitCode.interrupted);
});

test('fields glued onto a plain Error mean nothing', () => {
  assert.is(errorExitCode(Object.assign(new Error('x'), { outcome: 'unknown' })), undefined);
  assert.is(errorExitCode(Object.assign(new Error('x'), { exitCode: 3 })), undefined);
  assert.not.ok(definitelyNotApplied(Object.assign(new Error('x'), { notApplied: true })));
});

test('OutcomeUnknown is a StepFailure whose outcome is unknown, and never "not applied"', () => {
  const unknown = new OutcomeUnknown('The connection was lost after FAILOVER was sent.', { messageId: 'outcomeUnknown', data: { side: 'sqlServer' } });
  assert.instance(unknown, StepFailure);
  assert.is(unknown.outcome, 'unknown');
  assert.is(unknown.messageId, 'outcomeUnknown');
  assert.equal(unknown.data, { side: 'sqlServer' });
  assert.not.ok(definitelyNotApplied(unknown));
});

test('a StepFailure carries its message id, data, detail and whether nothing took effect', () => {
  const refused = new StepFailure('sqlError', { number: 41142 }, 'SQL error 41142.', { detail: '> 1 | ALTER ...', notApplied: true });
  assert.is(refused.message, 'SQL error 41142.\n> 1 | ALTER ...');
  assert.is(refused.detail, '> 1 | ALTER ...');
  assert.ok(definitelyNotApplied(refused));
  assert.not.ok(definitelyNotApplied(new StepFailure('sqlError', {}, 'x', { notApplied: false })));
  assert.not.ok(definitelyNotApplied(new StepFailure('sqlError', {}, 'x')), 'without notApplied it may have acted');
});

test('raw driver errors: a server error number or an ARM 4xx is a refusal; a lost connection or a 5xx is not', () => {
  assert.ok(definitelyNotApplied(Object.assign(new Error('x'), { name: 'RequestError', number: 41142 })));
  assert.ok(definitelyNotApplied(Object.assign(new Error('x'), { name: 'RestError', statusCode: 409 })));
  assert.not.ok(definitelyNotApplied(Object.assign(new Error('x'), { name: 'RestError', statusCode: 503 })));
  assert.not.ok(definitelyNotApplied(Object.assign(new Error('x'), { name: 'ConnectionError', code: 'ESOCKET' })));
  assert.not.ok(definitelyNotApplied(undefined));
});

test('a plugin with its own copy of the step API throws errors this engine still tells apart', async () => {
  // A second instance of the module, as a plugin that resolves its own installed `runbook` gets:
  // a second instance of the linked file that holds it (its own file is a facade of that, npm run
  // build, engine/build/link-hot-path.ts), or of its own file in a build that links nothing.
  const file = new URL('../../../engine/core/errors.js', import.meta.url);
  // A facade names its module by path and build id: __linked$require("./core/errors.js", "<build>").
  const linked = /__linked\$require\(("[^"]+"), ("[^"]+")\)/.exec(readFileSync(file, 'utf8'));
  const other = (
    linked === null
      ? await import(`${file.href}?plugin-copy`)
      : ((await import(new URL('../../../engine/linked.js?plugin-copy', import.meta.url).href)) as { __linked$require: (path: string, build: string) => unknown }).__linked$require(
          JSON.parse(linked[1]!) as string,
          JSON.parse(linked[2]!) as string,
        )
  ) as typeof import('../../../engine/core/errors.js');
  assert.is.not(other.StepFailure, StepFailure, 'really another copy');
  const refusal = new other.GuardRefusal('down', { host: 'x' }, 'Host x is down.');
  assert.ok(refusal instanceof StepRefusal);
  assert.ok(refusal instanceof GuardRefusal);
  assert.is(errorExitCode(refusal), ExitCode.refused);
  const unknown = new other.OutcomeUnknown('Lost the answer.');
  assert.ok(unknown instanceof StepFailure && unknown instanceof OutcomeUnknown);
  assert.is(errorExitCode(unknown), ExitCode.outcomeUnknown);
  const failure = new other.StepFailure('sqlError', {}, 'Refused.', { notApplied: true });
  assert.ok(definitelyNotApplied(failure));
  assert.not.ok(failure instanceof OutcomeUnknown);
  assert.not.ok(failure instanceof StepRefusal);
  assert.not.ok(new Error('plain') instanceof StepFailure);
  // The mark is not data: not enumerable, so it shows in no JSON event or journal line.
  assert.is(Object.getOwnPropertyDescriptor(failure, Symbol.for('runbook.step-error.kinds'))?.enumerable, false);
  assert.not.match(JSON.stringify({ ...failure }), /kinds/);
});

test.run();
