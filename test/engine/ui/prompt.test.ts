// On a terminal, apply asks before the first change step: "yes" goes on, anything else refuses.
// A real pseudo-terminal comes from util-linux `script`; the answer is typed once the question
// is on screen.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, tempDir } from '../../helpers/cli.js';
import { onTerminal, script } from '../../helpers/terminal.js';

const onAnswer = (args: string[], answer: string, cwd: string, ci = '') => onTerminal(args, { cwd, answer, env: { NO_COLOR: '1', CI: ci } });

test('answering yes runs the change step; the listr2 renderer shows the steps', async () => {
  if (!existsSync(script)) return;
  const dir = tempDir();
  const out = join(dir, 'out.txt');
  const r = await onAnswer(['apply', fixture('flow.yml'), '-i', fixture('inventory.yml'), '--set', `out=${out}`], 'yes', dir);
  assert.is(r.code, 0, r.output);
  assert.match(r.output, / 1\. Change link dag-test: step 5 write\./);
  assert.match(r.output, /✔ 1\/5 first/);
  assert.is(readFileSync(out, 'utf8'), 'got hello dag-test\n');
});

test('answering anything else refuses with exit 3 and the change step does not run', async () => {
  if (!existsSync(script)) return;
  const dir = tempDir();
  const out = join(dir, 'out.txt');
  const r = await onAnswer(['apply', fixture('flow.yml'), '-i', fixture('inventory.yml'), '--set', `out=${out}`], 'no', dir);
  assert.is(r.code, 3, r.output);
  assert.not.ok(existsSync(out));
});

test('CI set on a terminal: plain progress lines instead of the listr2 renderer', async () => {
  if (!existsSync(script)) return;
  const dir = tempDir();
  const out = join(dir, 'out.txt');
  const r = await onAnswer(['apply', fixture('flow.yml'), '-i', fixture('inventory.yml'), '--set', `out=${out}`, '--yes'], 'unused', dir, 'true');
  assert.is(r.code, 0, r.output);
  assert.match(r.output, /^\[1\/5\] first \(echo, read\)\r?$/m);
  assert.match(r.output, /^\[5\/5\] write \(mutate, change\)\r?$/m);
  assert.not.match(r.output, /\u001b\[\?25l/, 'listr2 hides the cursor; plain lines do not');
  assert.not.match(r.output, /✔ 1\/5 first/);
});

test.run();
