// The run journal: started before acting, outcomes, run header and end, no secrets.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, runCli, tempDir } from '../../helpers/cli.js';
import { newRunId, openJournal } from '../../../engine/apply/journal/write.js';

const inventory = fixture('inventory.yml');
const secrets = { TEST_SQL_PASSWORD: 'Sq1-Pa55-sentinel', TEST_MI_PASSWORD: 'Mi-Pa55-sentinel', TEST_ARM_TOKEN: 'arm-token-sentinel' };

function readJournal(dir: string): { text: string; records: Array<Record<string, any>> } {
  const runs = join(dir, '.runbook', 'runs');
  const files = readdirSync(runs);
  assert.is(files.length, 1);
  assert.match(files[0]!, /^\d{8}T\d{6}Z-[0-9a-f]{4}\.jsonl$/);
  const text = readFileSync(join(runs, files[0]!), 'utf8');
  return { text, records: text.trim().split('\n').map((l) => JSON.parse(l)) };
}

test('run ids sort by time', () => {
  const a = newRunId(new Date('2026-11-28T04:15:00Z'));
  const b = newRunId(new Date('2026-11-28T04:15:01Z'));
  assert.match(a, /^20261128T041500Z-[0-9a-f]{4}$/);
  assert.ok(a < b);
});

test('a journal is append-only JSON lines', () => {
  const dir = tempDir();
  const j = openJournal(dir, 'r1');
  j.write({ kind: 'step-skipped', step: 'a', reason: 'x' });
  j.close();
  const j2 = openJournal(dir, 'r1');
  j2.write({ kind: 'step-skipped', step: 'b', reason: 'y' });
  j2.close();
  const lines = readFileSync(join(dir, 'r1.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.map((l) => l.step), ['a', 'b']);
});

test('header, started-before-acting, outcomes, end; no secrets', async () => {
  const dir = tempDir();
  const runs = join(dir, '.runbook', 'runs');
  const rb = join(dir, 'journal.yml');
  writeFileSync(rb, `name: journal-check
description: A step that looks for its own start record while it runs, then a skipped and a changed step.
plugins:
  - ${join(fixture(''), '../../../../dist/test/fixtures/steps/echo.js')}
  - ${join(fixture(''), '../../../../dist/test/fixtures/steps/mutate.js')}
inputs:
  out: { type: string, description: where the change goes }
steps:
  - id: peek
    type: echo
    with: { message: peeking, journalDir: "${runs}" }
  - id: never
    type: echo
    when: "{{eq inputs.out 'nowhere'}}"
    with: { message: never }
  - id: write
    type: mutate
    with: { file: "{{inputs.out}}", text: "{{steps.peek.outputs.sawOwnStart}}" }
`);
  const out = join(dir, 'out.txt');
  const r = await runCli(['apply', rb, '-i', inventory, '--set', `out=${out}`, '--yes'], { cwd: dir, env: secrets });
  assert.is(r.code, 0, r.stderr + r.stdout);
  assert.is(readFileSync(out, 'utf8'), 'yes\n', 'the step saw its started record while running');

  const { text, records } = readJournal(dir);
  const kinds = records.map((x) => `${x.kind}${x.step ? `:${x.step}` : ''}`);
  assert.equal(kinds, ['run-started', 'lock', 'link-state', 'step-started:peek', 'step-finished:peek', 'step-skipped:never', 'step-started:write', 'step-finished:write', 'link-state', 'run-finished']);
  // The link as the run found it, and as its change step left it (what a resume compares with):
  // here no replica answers, so nothing is locked and nothing read.
  assert.equal(records[2], { at: records[2]!.at, kind: 'link-state', state: {} });
  assert.equal(records[8], { at: records[8]!.at, kind: 'link-state', after: 'write', state: {} });
  const header = records[0]!;
  assert.is(header.runbook.name, 'journal-check');
  assert.match(header.runbook.sha256, /^[0-9a-f]{64}$/);
  assert.is(header.link, 'dag-test');
  assert.equal(header.inputs, { out });
  assert.type(header.user, 'string');
  assert.type(header.host, 'string');
  assert.type(header.pid, 'number');
  assert.equal(records[4]!.outputs, { value: 'peeking', message: 'peeking', sawOwnStart: 'yes' });
  assert.type(records[4]!.durationMs, 'number');
  assert.equal(records.at(-1)!.changed, ['write']);
  assert.is(records.at(-1)!.exitCode, 0);
  for (const secret of Object.values(secrets)) assert.not.ok(text.includes(secret), `journal leaks ${secret}`);
  for (const secret of Object.values(secrets)) assert.not.ok(r.stdout.includes(secret) || r.stderr.includes(secret));
});

test('a failed step is journaled with its error and the run end carries the exit code', async () => {
  const dir = tempDir();
  const r = await runCli(['apply', fixture('fail.yml'), '-i', inventory, '--yes', '--set', 'kind=refuse'], { cwd: dir });
  assert.is(r.code, 3);
  const { records } = readJournal(dir);
  const failed = records.find((x) => x.kind === 'step-failed')!;
  assert.is(failed.step, 'boom');
  assert.is(failed.outcome, 'refused');
  assert.is(failed.error, 'it went wrong');
  assert.is(records.at(-1)!.exitCode, 3);
});

test.run();
