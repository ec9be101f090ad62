// `--lab <scenario>` names a built-in scenario or an existing scenario file; anything else is one
// line and exit 2, for plan (which starts nothing) as for apply (before any lab starts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { root, runInProcess, tempDir } from '../../helpers/cli.js';

const runbook = join(root, 'runbooks', 'planned-failover.yml');
const known = /\(known: healthy, always-up-to-date, business-critical, lagging, [a-z0-9, -]+\)$/;

for (const command of ['plan', 'apply'] as const) {
  test(`${command} --lab no-such-scenario: exit 2, one line naming the known scenarios`, async () => {
    const r = await runInProcess([command, runbook, '--lab', 'no-such-scenario', ...(command === 'apply' ? ['--yes'] : [])]);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.is(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^runbook: unknown lab scenario 'no-such-scenario' /);
    assert.match(lines[0]!, known);
  });

  test(`${command} --lab <a scenario file that does not exist>: exit 2, one line`, async () => {
    const missing = join(tempDir(), 'nope.yml');
    const r = await runInProcess([command, runbook, '--lab', missing, ...(command === 'apply' ? ['--yes'] : [])]);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.is(r.stderr, `runbook: unknown lab scenario '${missing}': no such file (built-in scenarios: ${r.stderr.split('built-in scenarios: ')[1]!.trimEnd()}\n`);
    assert.match(r.stderr, /built-in scenarios: healthy, /);
  });
}

test('plan --lab with a built-in name or an existing scenario file still plans (exit 0)', async () => {
  const named = await runInProcess(['plan', runbook, '--lab', 'lagging']);
  assert.is(named.code, 0, named.stderr);
  const file = join(tempDir(), 'mine.yml');
  writeFileSync(file, 'name: mine\n');
  const fromFile = await runInProcess(['plan', runbook, '--lab', file]);
  assert.is(fromFile.code, 0, fromFile.stderr);
});

// The schema only knows `match` is a string; a pattern that does not compile used to fail the
// lab's start (exit 1, "could not start") instead of being reported as bad input.
for (const args of [['apply', '--yes'], ['plan', '--probe']] as const) {
  test(`${args.join(' ')} --lab <scenario with an invalid match regex>: file:line:col and exit 2, nothing started`, async () => {
    const file = join(tempDir(), 'bad-regex.yml');
    writeFileSync(file, 'name: bad-regex\nfaults:\n  - { kind: dropConnection, match: FAILOVER }\n  - kind: slow\n    match: "ALTER (AVAILABILITY"\n    delayMs: 10\n');
    const r = await runInProcess([args[0], runbook, '--lab', file, args[1]]);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:5: .*/faults/1/match is not a valid regular expression: /ALTER \\(AVAILABILITY/i: Unterminated group`, 'm'));
    assert.not.match(r.stderr, /could not start|internal error|\n\s+at /);
    assert.not.match(r.stdout, /Observed state|run-started/);
  });
}

test.run();
