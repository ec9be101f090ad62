// Resume and secret inputs: the journal keeps a secret input only as "(secret)" plus a salted
// fingerprint, never the value. A resume refuses until each secret input is given again with
// --set (exit 2, naming them), refuses a value whose fingerprint differs (exit 3), and with the
// same value runs on with it: the placeholder never reaches a server.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildLab } from '../helpers/child-runs.js';
import { fingerprintMatches, secretFingerprint } from '../../engine/core/secrets.js';

const PIN = 'pin-4711-UNIQUE-value';

const RUNBOOK = `name: secret-resume
description: Reads, then reads with a secret input in the SQL.
inputs:
  pin: { type: string, secret: true, description: a secret the second step sends }
  label: { type: string, default: plain, description: an ordinary input }
steps:
  - id: first
    type: sqlExec
    target: sqlServer
    with: { impact: read, sql: "SELECT 1 AS one" }
  - id: second
    type: sqlExec
    target: sqlServer
    with: { impact: read, sql: "SELECT {{str inputs.pin}} AS secret_probe, {{str inputs.label}} AS label" }
`;

test('fingerprints: salted (two differ), match only the same value', () => {
  const a = secretFingerprint(PIN);
  const b = secretFingerprint(PIN);
  assert.is.not(a, b);
  assert.not.ok(a.includes(PIN));
  assert.ok(fingerprintMatches(PIN, a) && fingerprintMatches(PIN, b));
  assert.not.ok(fingerprintMatches(`${PIN}x`, a));
  assert.not.ok(fingerprintMatches(PIN, 'garbage'));
});

test('resume of a run with a secret input: refused without it (2), refused with another value (3), runs with the same value', async () => {
  // The second step's read loses its connection once: the run fails (exit 1) and can be resumed.
  const lab = await ChildLab.start({ overrides: { faults: [{ kind: 'dropConnection', match: 'secret_probe', count: 1 }] } });
  try {
    const file = join(lab.dir, 'secret-resume.yml');
    writeFileSync(file, RUNBOOK);
    const first = await lab.apply(file, ['--set', `pin=${PIN}`, '--set', 'label=kept']).done;
    assert.is(first.code, 1, first.stdout + first.stderr);
    const runId = lab.runIds().at(-1)!;
    const journalText = readFileSync(join(lab.journalDir, `${runId}.jsonl`), 'utf8');
    assert.not.ok(journalText.includes(PIN), 'the journal never holds the secret');
    const started = lab.records(runId).find((r) => r.kind === 'run-started')!;
    assert.is(started.inputs.pin, '(secret)');
    assert.ok(fingerprintMatches(PIN, started.secretInputs.pin), 'the journal holds a fingerprint of it');
    const sent = () => lab.lab.statements().filter((s) => /secret_probe/.test(s.statement)).map((s) => s.statement);

    const without = await lab.cli(['apply', '--resume', runId, '--yes']).done;
    assert.is(without.code, 2, without.stdout + without.stderr);
    assert.is(without.stderr, `runbook: apply --resume: run ${runId} used secret input pin, which the journal does not keep; pass --set pin=<the same value> again\n`);

    const other = await lab.cli(['apply', '--resume', runId, '--yes', '--set', 'pin=not-the-same-pin']).done;
    assert.is(other.code, 3, other.stdout + other.stderr);
    assert.match(other.stderr, /secret input pin is not the value the run used \(its fingerprint differs\)/);
    assert.not.match(other.stderr, /not-the-same-pin/);
    assert.is(sent().length, 1, 'no refused resume sent anything');

    const same = await lab.cli(['apply', '--resume', runId, '--yes', '--set', `pin=${PIN}`]).done;
    assert.is(same.code, 0, same.stdout + same.stderr);
    // No change was made before the crash, so the finished read runs again (its result held only at that moment).
    assert.match(same.stdout, /first \(sqlExec -> sqlServer, read\) again/);
    const statements = sent();
    assert.is(statements.length, 2);
    assert.ok(statements[1]!.includes(`N'${PIN}'`), statements[1]);
    assert.ok(statements[1]!.includes(`N'kept'`), 'the ordinary input came from the journal');
    assert.not.ok(statements.some((s) => s.includes('(secret)')), 'the placeholder never reached the server');
    assert.not.ok(readFileSync(join(lab.journalDir, `${runId}.jsonl`), 'utf8').includes(PIN));
  } finally {
    await lab.stop();
  }
});

test.run();
