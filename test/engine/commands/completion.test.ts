// Shell completion (issue 15, point 4). The bash script is loaded into a real bash, `complete -p`
// shows it registered, and completions are simulated as bash would ask for them (COMP_LINE,
// COMP_POINT, COMP_WORDS split at '=' as bash splits them, COMP_CWORD), with `runbook` on PATH as
// the built CLI. What is completed comes from the help text, the shipped runbooks, the runbook on
// the line and the lab's scenarios; the unit tests below check that link.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { join } from 'node:path';
import { bin, root, runCli, tempDir } from '../../helpers/cli.js';
import { COMMAND_HELP, USAGE } from '../../../engine/cli/help.js';
import { commandNames, complete, flagsOf } from '../../../engine/commands/completion.js';

const helpText = { usage: USAGE, commands: COMMAND_HELP };
const shipped = readdirSync(join(root, 'runbooks')).filter((f) => f.endsWith('.yml')).sort();
const scenarios = readdirSync(join(root, 'lab', 'scenarios')).filter((f) => f.endsWith('.yml')).map((f) => f.slice(0, -4)).sort();

// `runbook` on PATH is the built CLI, as an installed bin would be.
const shimDir = tempDir('runbook-shim-');
writeFileSync(join(shimDir, 'runbook'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} "$@"\n`);
chmodSync(join(shimDir, 'runbook'), 0o755);
const cwd = tempDir();

function bash(script: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], {
    cwd,
    env: { PATH: `${shimDir}:${process.env.PATH}`, HOME: cwd, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Completes `line` (the cursor at its end) as bash would: COMP_WORDS split at blanks and at '='. */
function bashComplete(line: string): string[] {
  // bash makes '=' a word of its own; right after it, '=' is the current word.
  const words = line.split(/\s+/).flatMap((w) => w.split(/(=)/)).filter((w) => w !== '');
  if (/\s$/.test(line)) words.push('');
  const script = [
    'source <(runbook completion bash)',
    `COMP_LINE=${sq(line)}; COMP_POINT=\${#COMP_LINE}`,
    `COMP_WORDS=(${words.map(sq).join(' ')}); COMP_CWORD=${words.length - 1}`,
    '_runbook_complete',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const r = bash(script);
  assert.is(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
}

test('bash: the script registers a completion for runbook', () => {
  const r = bash('source <(runbook completion bash) && complete -p runbook');
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), 'complete -F _runbook_complete runbook');
});

test('bash: commands, flags and flag values', () => {
  assert.equal(bashComplete('runbook pl'), ['plan']);
  assert.equal(bashComplete('runbook com'), ['completion']);
  assert.equal(bashComplete('runbook completion '), ['bash', 'pwsh', 'zsh']);
  assert.equal(bashComplete('runbook plan planned-failover.yml --for'), ['--format']);
  assert.equal(bashComplete('runbook plan planned-failover.yml --format '), ['json', 'sql', 'text']);
  assert.equal(bashComplete('runbook apply planned-failover.yml --format '), ['json', 'text']);
  assert.ok(bashComplete('runbook apply planned-failover.yml --').includes('--allow-data-loss'));
});

test('bash: shipped runbook names, scenario names, and nothing for --allow-data-loss', () => {
  assert.equal(bashComplete('runbook plan plan'), ['planned-failover.yml']);
  assert.equal(bashComplete('runbook apply '), shipped);
  assert.equal(bashComplete('runbook apply planned-failover.yml --lab pri'), scenarios.filter((n) => n.startsWith('pri')));
  assert.ok(scenarios.includes('primary-down'), scenarios.join());
  assert.equal(bashComplete('runbook apply planned-failover.yml --lab '), scenarios);
  assert.equal(bashComplete('runbook lab up --scenario sp'), scenarios.filter((n) => n.startsWith('sp')));
  assert.ok(scenarios.includes('split-brain'), scenarios.join());
  assert.equal(bashComplete('runbook apply planned-failover.yml --lab --allow-data-loss '), []);
});

test('bash: --set completes the inputs of the runbook on the line, and an enum input\'s values after name=', () => {
  const planned = Object.keys((yaml.load(readFileSync(join(root, 'runbooks', 'planned-failover.yml'), 'utf8')) as { inputs: object }).inputs);
  assert.ok(planned.includes('direction') && planned.includes('stableFor'), planned.join());
  assert.equal(bashComplete('runbook plan planned-failover.yml --lab --set '), planned.map((n) => `${n}=`).sort());
  assert.equal(bashComplete('runbook apply cleanup.yml --set '), ['dropAg=']);
  // bash split `direction=toS` into `direction`, `=`, `toS`: the answer replaces only `toS`.
  assert.equal(bashComplete('runbook plan planned-failover.yml --set direction=toS'), ['toSqlServer']);
  assert.equal(bashComplete('runbook plan planned-failover.yml --set direction='), ['=toManagedInstance', '=toSqlServer']);
  // A local runbook of that name wins here too: its own inputs are offered.
  writeFileSync(join(cwd, 'mine.yml'), 'name: mine\ninputs:\n  colour: { type: string, enum: [red, blue] }\nsteps: []\n');
  assert.equal(bashComplete('runbook plan mine.yml --set '), ['colour=']);
  assert.equal(bashComplete('runbook plan mine.yml --set colour=b'), ['blue']);
});

test('every option in a command\'s help is completed, and every command', () => {
  for (const [command, help] of Object.entries(COMMAND_HELP)) {
    const options = (help.split(/^Options:\s*$/m)[1] ?? '').match(/--[a-z][a-z-]*/g) ?? [];
    const completed = flagsOf(helpText, command).flatMap((f) => f.names);
    for (const o of new Set(options)) assert.ok(completed.includes(o), `${command} ${o}`);
  }
  for (const command of ['validate', 'plan', 'apply', 'runs', 'list-steps', 'lab', 'runbooks', 'init', 'completion']) {
    assert.ok(commandNames(helpText).includes(command), command);
  }
  assert.equal(complete(helpText, ['runbook', 'apply', '--lab'], 3, cwd).filter((c) => !c.startsWith(':')).sort(), [...scenarios, ...shipped].sort(), 'a missing last word is an empty one');
});

test('zsh and pwsh scripts ask the same __complete; a missing or unknown shell is exit 2', async () => {
  for (const shell of ['zsh', 'pwsh']) {
    const r = await runCli(['completion', shell], { cwd });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /runbook __complete/);
  }
  assert.match((await runCli(['completion', 'zsh'], { cwd })).stdout, /^compdef _runbook runbook$/m);
  assert.match((await runCli(['completion', 'pwsh'], { cwd })).stdout, /^Register-ArgumentCompleter -Native -CommandName runbook /m);
  for (const args of [['completion'], ['completion', 'fish']]) {
    const r = await runCli(args, { cwd });
    assert.is(r.code, 2, args.join(' '));
    assert.match(r.stderr, /^runbook: completion: name a shell: bash, zsh, pwsh/);
  }
});

test.run();
