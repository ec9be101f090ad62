// Hostile input: names that try to break out of T-SQL, runbook SQL that splices values unquoted,
// and files or --set values built to exhaust time or memory. Each must end in one quoted
// identifier, or in a diagnostic and exit 2, within bounded time and memory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { loadYaml } from '../../engine/load/yaml.js';
import { root, runCli, tempDir } from '../helpers/cli.js';
import { FAST_PLANNED, TestLab } from '../helpers/lab-run.js';

const DAG = 'x]; DROP DATABASE y; --';
const AG = "a'b";
const QUOTED_DAG = '[x]]; DROP DATABASE y; --]';

/** `{{...}}` in a sqlExec script that reads a value and is not wrapped in ident or str. */
export function unquotedSqlValues(file: string): string[] {
  const doc = loadYaml(file);
  const steps = (doc.value as { steps?: Array<{ type?: string; with?: { sql?: unknown } }> }).steps ?? [];
  const problems: string[] = [];
  steps.forEach((step, i) => {
    const sql = step.with?.sql;
    if (step.type !== 'sqlExec' || typeof sql !== 'string') return;
    sql.split('\n').forEach((text, l) => {
      for (const m of text.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
        const expr = m[1]!;
        if (/^(ident|str)\s/.test(expr) || /^[#/]|^else\b/.test(expr)) continue;
        if (!/\b(link|inputs|steps|run)\./.test(expr)) continue;
        const at = doc.locateInValue(`/steps/${i}/with/sql`, l + 1, (m.index ?? 0) + 1);
        problems.push(`${file}:${at.line}:${at.column}: {{${expr}}} reaches T-SQL without ident/str`);
      }
    });
  });
  return problems;
}

test('every sqlExec script in runbooks/*.yml quotes inventory and input values with ident or str', () => {
  const dir = join(root, 'runbooks');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
  assert.ok(files.length >= 5);
  const problems = files.flatMap((f) => unquotedSqlValues(join(dir, f)));
  assert.equal(problems, [], problems.join('\n'));
});

test('the quoting scan finds a spliced value and names file:line:col', () => {
  const file = join(root, 'test', 'fixtures', 'hostile', 'unquoted.yml');
  assert.equal(unquotedSqlValues(file), [`${file}:12:34: {{link.name}} reaches T-SQL without ident/str`]);
});

test(`a DAG named ${DAG} and an AG named ${AG}: plan --format sql quotes them; apply fails over with one quoted identifier and no DROP DATABASE`, async () => {
  const t = await TestLab.start({ names: { dag: DAG, ag: AG } });
  try {
    const inv = yaml.load(readFileSync(t.inventoryFile, 'utf8')) as { link: { name: string; sqlServer: { agName: string } } };
    assert.is(inv.link.name, DAG);
    assert.is(inv.link.sqlServer.agName, AG);
    const script = (replica: string) => runCli(['plan', join(root, 'runbooks', 'planned-failover.yml'), '-i', t.inventoryFile, '--format', 'sql', '--replica', replica]);
    const onPrimary = await script('primary');
    assert.is(onPrimary.code, 0, onPrimary.stderr);
    assert.ok(onPrimary.stdout.includes(`ALTER AVAILABILITY GROUP ${QUOTED_DAG} FAILOVER;`), onPrimary.stdout);
    // The members of MODIFY are read from SQL Server at run time (issue 10, point 2): quoted in what apply sends, below.

    const run = await t.apply('planned-failover', { sets: FAST_PLANNED });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    const statements = t.lab.statements().map((s) => s.statement);
    // The statement log keeps each statement without its terminating semicolon.
    assert.equal(statements.filter((s) => /FAILOVER/.test(s)), [`ALTER AVAILABILITY GROUP ${QUOTED_DAG} FAILOVER`]);
    assert.not.ok(statements.some((s) => /^\s*DROP\s+DATABASE/i.test(s)), 'no statement of its own is DROP DATABASE');
    assert.ok(statements.some((s) => s.includes(`N'a''b' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)`)));
    assert.is(t.lab.ledger().lost, 0);
  } finally {
    await t.stop();
  }
});

// ---------------------------------------------------------------- files and values built to hurt

const aliasBomb = (() => {
  let text = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n';
  let prev = 'a';
  for (const n of 'bcdefghij') {
    text += `${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
    prev = n;
  }
  return text;
})();

const planned = readFileSync(join(root, 'runbooks', 'planned-failover.yml'), 'utf8');
const inventory = readFileSync(join(root, 'test', 'fixtures', 'inventories', 'good.yml'), 'utf8');

const hostileFiles: Record<string, string | Buffer> = {
  'big.yml': '# padding\n'.repeat(120_000),
  'deep.yml': `name: x\ndescription: d\nsteps: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
  'binary.yml': Buffer.from('name: x\u0000\u0001\u0002\n', 'latin1'),
  'latin1.yml': Buffer.from('name: caf\u00e9\ndescription: d\nsteps: []\n', 'latin1'),
  'bomb.yml': `name: x\ndescription: d\n${aliasBomb}steps: []\n`,
  'retry.yml': planned.replace('retry: { count: 5, delay: 1s }', 'retry: { count: 1e308, delay: 1s }'),
  'timeout.yml': planned.replace('retry: { count: 5, delay: 1s }', 'retry: { count: 5, delay: 1s }\n    timeout: 99999h'),
  'inv-port.yml': inventory.replace('port: 14330', 'port: 70000'),
  'inv-bomb.yml': `${inventory}\n${aliasBomb.split('\n').filter(Boolean).map((l) => `x-${l}`).join('\n')}\n`,
  'sc-bomb.yml': `name: x\nfaults: &z\n${aliasBomb.split('\n').filter(Boolean).map((l) => `  - ${l}`).join('\n')}\n`,
  'sc-backlog.yml': 'name: x\nbacklogTransactions: 1e308\n',
  'sc-rate.yml': 'name: x\nworkload: { running: true, ratePerSecond: 1e308 }\n',
  'sc-lro.yml': 'name: x\narm: { lroDurationMs: 1e308 }\n',
  'sc-big.yml': '# padding\n'.repeat(120_000),
  'sc-binary.yml': Buffer.from('name: x\u0000\n', 'latin1'),
};

let dir: string;
test.before(() => {
  dir = tempDir('runbook-hostile-');
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(hostileFiles)) writeFileSync(join(dir, name), content);
});

/** The CLI under a small heap: a loader that expanded a bomb would crash instead of exiting 2. */
async function expectExit2(args: string[], where: RegExp): Promise<void> {
  const started = Date.now();
  const r = await runCli(args, { cwd: dir, nodeArgs: ['--max-old-space-size=96'], timeoutMs: 20_000, env: { SQL1_PASSWORD: 'x', MI1_PASSWORD: 'x' } });
  const ms = Date.now() - started;
  assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, where, r.stderr);
  assert.not.match(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
  assert.ok(ms < 10_000, `${args.join(' ')} took ${ms} ms`);
}

const runbookCases: Array<[string, RegExp]> = [
  ['big.yml', /big\.yml:1:1: error file-too-large/],
  ['deep.yml', /deep\.yml:3:\d+: error yaml-too-deep/],
  ['binary.yml', /binary\.yml:1:8: error file-binary/],
  ['latin1.yml', /latin1\.yml:1:\d+: error file-not-utf8/],
  ['bomb.yml', /bomb\.yml:1:1: error yaml-alias-limit/],
  ['retry.yml', /retry\.yml:\d+:\d+: error bad-value: `count` must be <= 100/],
  ['timeout.yml', /timeout\.yml:\d+:\d+: error bad-duration: .*longer than 24h/],
];

test('hostile runbooks: validate, plan and apply all exit 2 with file:line:col, quickly, in a small heap', async () => {
  for (const [file, where] of runbookCases) {
    await expectExit2(['validate', file], where);
    await expectExit2(['plan', file, '--lab'], where);
    await expectExit2(['apply', file, '--lab', '--yes'], where);
  }
});

test('hostile inventories: port 70000 and an alias bomb are exit 2 for validate, plan and apply', async () => {
  const good = join(root, 'runbooks', 'planned-failover.yml');
  for (const [file, where] of [['inv-port.yml', /inv-port\.yml:\d+:\d+: error .*port.*65535/], ['inv-bomb.yml', /inv-bomb\.yml:1:1: error yaml-alias-limit/]] as const) {
    await expectExit2(['validate', file], where);
    await expectExit2(['plan', good, '-i', file], where);
    await expectExit2(['apply', good, '-i', file, '--yes'], where);
  }
});

test('hostile scenario files: bombs, absurd numbers, oversized and binary files are exit 2 before a lab starts', async () => {
  const good = join(root, 'runbooks', 'planned-failover.yml');
  const cases: Array<[string, RegExp]> = [
    ['sc-bomb.yml', /sc-bomb\.yml:1:1: error yaml-alias-limit/],
    ['sc-backlog.yml', /sc-backlog\.yml:2:\d+: .*backlogTransactions must be <= 100000/],
    ['sc-rate.yml', /sc-rate\.yml:2:\d+: .*ratePerSecond must be <= 10000/],
    ['sc-lro.yml', /sc-lro\.yml:2:\d+: .*lroDurationMs must be <= 86400000/],
    ['sc-big.yml', /sc-big\.yml:1:1: error file-too-large/],
    ['sc-binary.yml', /sc-binary\.yml:1:8: error file-binary/],
  ];
  for (const [file, where] of cases) await expectExit2(['apply', good, '--lab', join(dir, file), '--yes', '--set', 'lsnTimeout=1s'], where);
});

test('hostile --set values: absurd durations and numbers are exit 2 before anything runs', async () => {
  const good = join(root, 'runbooks', 'planned-failover.yml');
  const cases: Array<[string, RegExp]> = [
    ['stableFor=99999h', /with\.stableFor is "99999h" \(from \{\{inputs\.stableFor\}\}\): .*longer than 24h/],
    ['lsnTimeout=1e308s', /with\.timeout is "1e308s" .*not a duration/],
    ['pollInterval=-5s', /with\.pollInterval is "-5s" .*negative/],
    [`stableFor=${'9'.repeat(100_000)}ms`, /with\.stableFor is "9{40}\.\.\."/],
    ['dropLinkAfter=1e308', /<command line>:1:1: error bad-input-value: Input `dropLinkAfter` must be true or false/],
    [`direction=${'x'.repeat(100_000)}`, /<command line>:1:1: error bad-input-value: Input `direction` must be one of/],
  ];
  for (const [set, where] of cases) {
    await expectExit2(['plan', good, '--lab', '--set', set], where);
    await expectExit2(['apply', good, '--lab', '--yes', '--set', set], where);
  }
});

// `plan --format sql` is a script for sqlcmd or SSMS, which end a batch at a line holding only
// GO even inside a string literal: a value holding "\nGO\n" must never produce such a line.
const GO_LINE = /^\s*go(?:\s+\S+)?\s*(?:--.*)?$/i;
const NEWLINE_GO = join(root, 'test', 'fixtures', 'hostile', 'newline-go.yml');
const INJECTED = 'x\nGO\nDROP DATABASE SalesDb --';

test('plan --format sql: a multi-line input holding "\\nGO\\n" spliced with str stays in its statement; no GO line but the separators', async () => {
  const r = await runCli(['plan', NEWLINE_GO, '--lab', '--format', 'sql', '--set', `note=${INJECTED}`]);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const goLines = lines.map((l, i) => [l, i] as const).filter(([l]) => GO_LINE.test(l));
  assert.is(goLines.length, 2, `one GO after each of the two statements, no other:\n${r.stdout}`);
  for (const [line, i] of goLines) {
    assert.is(line, 'GO');
    assert.match(lines[i - 1]!, /;$/, 'each GO ends a statement of the runbook');
  }
  assert.ok(r.stdout.includes("SELECT (N'x' + NCHAR(10) + N'GO' + NCHAR(10) + N'DROP DATABASE SalesDb --') AS note, N'label' AS label;"), r.stdout);
  assert.not.ok(lines.some((l) => /^\s*DROP DATABASE/i.test(l)), 'the rest of the value is not a line of its own');
  const crlf = await runCli(['plan', NEWLINE_GO, '--lab', '--format', 'sql', '--set', 'note=a\r\nGO\r\nb']);
  assert.is(crlf.code, 0, crlf.stderr);
  assert.ok(crlf.stdout.includes("(N'a' + NCHAR(13) + NCHAR(10) + N'GO' + NCHAR(13) + NCHAR(10) + N'b')"), crlf.stdout);
  assert.is(crlf.stdout.split('\n').filter((l) => GO_LINE.test(l.replace(/\r$/, ''))).length, 2);
});

test('a line break in a single-line input, in an identifier, in an input default or in an inventory name is exit 2', async () => {
  await expectExit2(['plan', NEWLINE_GO, '--lab', '--format', 'sql', '--set', `label=${INJECTED}`], /<command line>:1:1: error bad-input-value: Input `label` is one line: its value holds a line break/);
  await expectExit2(['apply', NEWLINE_GO, '--lab', '--yes', '--set', `label=${INJECTED}`], /Input `label` is one line/);
  await expectExit2(['plan', NEWLINE_GO, '--lab', '--format', 'sql', '--set', `objectName=${INJECTED}`], /step named: .*ident: identifier contains a line break/);
  const tmp = tempDir();
  const badDefault = join(tmp, 'bad-default.yml');
  writeFileSync(badDefault, readFileSync(NEWLINE_GO, 'utf8').replace('label: { type: string, default: label }', 'label: { type: string, default: "a\\nGO\\nb" }'));
  await expectExit2(['validate', badDefault], /bad-default\.yml:9:\d+: error bad-input-default: Default of input `label` holds a line break/);
  const inventory = join(tmp, 'inventory.yml');
  const inv = yaml.load(readFileSync(join(root, 'test', 'fixtures', 'runbooks', 'engine-back', 'inventory.yml'), 'utf8')) as { link: { name: string } };
  inv.link.name = 'dag1\nGO\nDROP DATABASE SalesDb';
  writeFileSync(inventory, yaml.dump(inv));
  await expectExit2(['plan', join(root, 'runbooks', 'planned-failover.yml'), '-i', inventory, '--format', 'sql'], /inventory\.yml:\d+:\d+: error bad-value: `name` holds a line break/);
});

test.run();
