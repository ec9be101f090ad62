// Secrets never leave the process: a distinctive password and token are run through every path
// that could echo them (a refused login, a SQL error whose text is the secret, a 401 from ARM, a
// saved plan, JSON events) with the real CLI in a child process against a lab, and the value is
// looked for in stdout, stderr, the journal files and the plan file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { startLab, type Lab } from '../../lab/index.js';
import type { Inventory } from '../../engine/core/types.js';
import { root, startCli, tempDir, waitFor } from '../helpers/cli.js';
import { forgetSecrets } from '../../engine/core/redact.js';
import { maskSecretSets, readStdinPasswords, stdinPasswordKey } from '../../engine/core/secrets.js';
import { PassThrough } from 'node:stream';
import { EventEmitter } from 'node:events';

const SECRET = 'Pa55-w0rd-UNIQUE-xyz';
const fixtures = join(root, 'test', 'fixtures', 'hostile', 'secrets');
const planned = join(root, 'runbooks', 'planned-failover.yml');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  journal: string;
}

/** The CLI in a child process, its journal in `<cwd>/journal`, read back whole for the secret hunt. */
async function runCli(args: string[], o: { env: Record<string, string>; stdin?: string; cwd: string }): Promise<Run> {
  const journalDir = join(o.cwd, 'journal');
  mkdirSync(journalDir, { recursive: true });
  const { code, stdout, stderr } = await startCli(args, { cwd: o.cwd, env: { RUNBOOK_JOURNAL_DIR: journalDir, ...o.env }, stdin: o.stdin }).done;
  const journal = readdirSync(journalDir).map((f) => readFileSync(join(journalDir, f), 'utf8')).join('');
  return { code, stdout, stderr, journal };
}

function assertNowhere(value: string, run: Run, extra: Record<string, string> = {}): void {
  const places: Record<string, string> = { stdout: run.stdout, stderr: run.stderr, journal: run.journal, ...extra };
  for (const [where, text] of Object.entries(places)) {
    assert.not.ok(text.includes(value), `${where} contains the secret:\n${text}`);
  }
}

function writeInventory(dir: string, inv: Inventory): string {
  const file = join(dir, 'inventory.yml');
  writeFileSync(file, yaml.dump(inv));
  return file;
}

let lab: Lab;
test.before(async () => {
  lab = await startLab({ secrets: { LAB_SQL_PASSWORD: SECRET, LAB_ARM_TOKEN: `${SECRET}-token-abcdef` } });
});
test.after(async () => {
  await lab.stop();
  forgetSecrets();
});

test('maskSecretSets: a secret input given with --set is masked in the journal argv, whatever its length', () => {
  const runbook = { name: 'r', file: 'r.yml', steps: [], inputs: { pin: { type: 'string', secret: true }, note: { type: 'string' } } } as never;
  assert.equal(maskSecretSets(['apply', '--set', 'pin=1234', '--set=pin=99', '--set', 'note=hi'], runbook), ['apply', '--set', 'pin=***', '--set=pin=***', '--set', 'note=hi']);
});

test('wrong password: the refused login names the user and the variable, never the password', async () => {
  const dir = tempDir('runbook-secrets-');
  const inventory = writeInventory(dir, lab.inventory);
  const run = await runCli(['apply', planned, '-i', inventory, '--yes', '--set', 'stableFor=300ms', '--set', 'pollInterval=50ms'], {
    cwd: dir, env: { ...lab.env, LAB_SQL_PASSWORD: `${SECRET}-wrong`, LAB_MI_PASSWORD: lab.env.LAB_MI_PASSWORD! },
  });
  // A set-up error, not an unreachable replica: exit 2 before anything runs (engine/apply/preflight.ts).
  assert.is(run.code, 2, run.stdout + run.stderr);
  assert.match(run.stderr, /login was refused .*Login failed for user 'runbook'.*check the login 'runbook' and the password in environment variable LAB_SQL_PASSWORD/);
  assertNowhere(SECRET, run);
});

test('password from standard input: connects with it; a SQL error that renders it is masked in stdout, stderr, journal and JSON events', async () => {
  const dir = tempDir('runbook-secrets-');
  const inv: Inventory = structuredClone(lab.inventory);
  delete inv.link.sqlServer.connection.passwordEnv;
  inv.link.sqlServer.connection.passwordStdin = true;
  const inventory = writeInventory(dir, inv);
  const env = { LAB_MI_PASSWORD: lab.env.LAB_MI_PASSWORD!, LAB_ARM_TOKEN: lab.env.LAB_ARM_TOKEN! };
  const text = await runCli(['apply', join(fixtures, 'echo-note.yml'), '-i', inventory, '--yes', '--set', `note=leak ${SECRET} here`], {
    cwd: dir, env, stdin: `${SECRET}\n`,
  });
  assert.is(text.code, 1, text.stdout + text.stderr);
  assert.match(text.stdout, /ok\s+1\. roles/, 'the login with the password from stdin worked');
  assert.match(text.stdout, /SQL error 50001 .*leak \*\*\* here/, 'the error is shown, with the secret masked');
  assertNowhere(SECRET, text);

  const json = await runCli(['apply', join(fixtures, 'echo-note.yml'), '-i', inventory, '--yes', '--format', 'json', '--set', `note=${SECRET}`], {
    cwd: dir, env, stdin: `${SECRET}\n`,
  });
  assert.is(json.code, 1, json.stdout + json.stderr);
  const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string });
  assert.ok(events.some((e) => e.event === 'step-failed'));
  assertNowhere(SECRET, json);
  assert.not.ok(json.journal.includes('--set","note=Pa55'), 'argv in the journal is masked');
});

test('passwordStdin: empty standard input and a connection with both password sources are exit 2, one line', async () => {
  const dir = tempDir('runbook-secrets-');
  const inv: Inventory = structuredClone(lab.inventory);
  delete inv.link.sqlServer.connection.passwordEnv;
  inv.link.sqlServer.connection.passwordStdin = true;
  const inventory = writeInventory(dir, inv);
  const empty = await runCli(['apply', join(fixtures, 'echo-note.yml'), '-i', inventory, '--yes', '--set', 'note=x'], { cwd: dir, env: {}, stdin: '' });
  assert.is(empty.code, 2, empty.stdout + empty.stderr);
  assert.match(empty.stderr, /standard input ended before the password for the sqlServer connection/);

  inv.link.sqlServer.connection.passwordEnv = 'LAB_SQL_PASSWORD';
  const both = writeInventory(dir, inv);
  const twice = await runCli(['apply', join(fixtures, 'echo-note.yml'), '-i', both, '--yes', '--set', 'note=x'], { cwd: dir, env: {}, stdin: `${SECRET}\n` });
  assert.is(twice.code, 2, twice.stdout + twice.stderr);
  assert.match(twice.stderr, /sets both passwordEnv and passwordStdin/);
  assertNowhere(SECRET, twice);
});

test('passwordStdin on a terminal: a prompt on stderr with echo off; what is typed is never written back', async () => {
  const inv: Inventory = structuredClone(lab.inventory);
  for (const side of ['sqlServer', 'managedInstance'] as const) {
    delete inv.link[side].connection.passwordEnv;
    inv.link[side].connection.passwordStdin = true;
  }
  const rawModes: boolean[] = [];
  const tty = Object.assign(new EventEmitter(), {
    isTTY: true,
    setRawMode: (mode: boolean) => rawModes.push(mode),
    resume: () => undefined,
    pause: () => undefined,
  });
  const prompt = new PassThrough();
  let shown = '';
  prompt.on('data', (d) => (shown += d));
  const reading = readStdinPasswords(inv, tty, prompt);
  await waitFor(() => /Password for sqlServer/.test(shown), 5000);
  tty.emit('data', `${SECRET}x\u007f\r`);
  await waitFor(() => /Password for managedInstance/.test(shown), 5000);
  tty.emit('data', `${SECRET}-mi\n`);
  const env = await reading;
  assert.is(env[stdinPasswordKey('sqlServer')], SECRET, 'typed text, with the backspace applied');
  assert.is(env[stdinPasswordKey('managedInstance')], `${SECRET}-mi`);
  assert.equal(rawModes, [true, false, true, false], 'echo off while each password is typed, back on after');
  assert.not.ok(shown.includes(SECRET), `the prompt echoed the password:\n${shown}`);
});

test('plan: a secret typed into --set never reaches the plan file, the SQL script or the text plan', async () => {
  const dir = tempDir('runbook-secrets-');
  const inventory = writeInventory(dir, lab.inventory);
  const out = join(dir, 'plan.json');
  const env = { LAB_SQL_PASSWORD: SECRET };
  const json = await runCli(['plan', join(fixtures, 'echo-note.yml'), '-i', inventory, '--set', `note=${SECRET}`, '--out', out], { cwd: dir, env });
  assert.is(json.code, 0, json.stderr);
  assert.ok(existsSync(out));
  const planFile = readFileSync(out, 'utf8');
  assert.match(planFile, /THROW 50001, N'\*\*\*', 1;/);
  const sql = await runCli(['plan', join(fixtures, 'echo-note.yml'), '-i', inventory, '--set', `note=${SECRET}`, '--format', 'sql', '--replica', 'sqlServer'], { cwd: dir, env });
  assert.is(sql.code, 0, sql.stderr);
  assertNowhere(SECRET, json, { plan: planFile });
  assertNowhere(SECRET, sql);
});

test('ARM token: a refused token (401) is reported without the token', async () => {
  const dir = tempDir('runbook-secrets-');
  const inventory = writeInventory(dir, lab.inventory);
  const wrong = `${SECRET}-token-WRONG`;
  const run = await runCli(['apply', join(fixtures, 'arm-read.yml'), '-i', inventory, '--yes'], {
    cwd: dir, env: { ...lab.env, LAB_ARM_TOKEN: wrong },
  });
  // The preflight reads the link once before anything else: a refused token is a set-up error (exit 2).
  assert.is(run.code, 2, run.stdout + run.stderr);
  assert.match(run.stderr, /set-up error on ARM: ARM refused the credentials reading link dag1 .*\(AuthenticationFailed\)/);
  assertNowhere(wrong, run);
  assertNowhere(SECRET, run);
});

test.run();
