// On a terminal, apply asks before the first change step: "yes" goes on, anything else refuses.
// A real pseudo-terminal comes from util-linux `script`; the answer is typed once the question
// is on screen.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, fixture, FIXTURE_PASSWORDS, tempDir } from '../../helpers/cli.js';

const script = '/usr/bin/script';

function onTerminal(args: string[], answer: string, cwd: string, ci = ''): Promise<{ code: number | null; output: string }> {
  const quoted = [process.execPath, bin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn(script, ['-qec', `stty cols 120; ${quoted}`, '/dev/null'], { cwd, env: { ...process.env, ...FIXTURE_PASSWORDS, NO_COLOR: '1', CI: ci } });
  let output = '';
  let answered = false;
  child.stdout.on('data', (d) => {
    output += d;
    if (!answered && output.includes('Type "yes" to go on')) {
      answered = true;
      child.stdin.write(`${answer}\r`);
    }
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('answering yes runs the change step; the listr2 renderer shows the steps', async () => {
  if (!existsSync(script)) return;
  const dir = tempDir();
  const out = join(dir, 'out.txt');
  const r = await onTerminal(['apply', fixture('flow.yml'), '-i', fixture('inventory.yml'), '--set', `out=${out}`], 'yes', dir);
  assert.is(r.code, 0, r.output);
  assert.match(r.output, /Step 5 \(write, mutate\) is the first that changes link dag-test/);
  assert.match(r.output, /✔ 1\/5 first/);
  assert.is(readFileSync(out, 'utf8'), 'got hello dag-test\n');
});

test('answering anything else refuses with exit 3 and the change step does not run', async () => {
  if (!existsSync(script)) return;
  const dir = tempDir();
  const out = join(dir, 'out.txt');
  const r = await onTerminal(['apply', fixture('flow.yml'), '-i', fixture('inventory.yml'), '--set', `out=${out}`], 'no', dir);
  assert.is(r.code, 3, r.output);
  assert.not.ok(existsSync(out));
});

test('CI set on a terminal: plain progress lines instead of the listr2 renderer', async () => {
  if (!existsSync(script)) return;
  const dir = tempDir();
  const out = join(dir, 'out.txt');
  const r = await onTerminal(['apply', fixture('flow.yml'), '-i', fixture('inventory.yml'), '--set', `out=${out}`, '--yes'], 'unused', dir, 'true');
  assert.is(r.code, 0, r.output);
  assert.match(r.output, /^\[1\/5\] first \(echo, read\)\r?$/m);
  assert.match(r.output, /^\[5\/5\] write \(mutate, change\)\r?$/m);
  assert.not.match(r.output, /\u001b\[\?25l/, 'listr2 hides the cursor; plain lines do not');
  assert.not.match(r.output, /✔ 1\/5 first/);
});

test.run();
