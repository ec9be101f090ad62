// The T-SQL a runbook sends, under attack (issue 9 attack report, F6 and F14): values spliced raw
// into `sql` (a multi-line input is an error at validate, any other raw value a warning), a
// `--format sql` comment that a line break in a value would end, control characters that hide
// text from a reviewer (escaped in the plan), and a step declared `impact: read` whose SQL writes
// (an error at validate when the SQL is known, refused before it is sent when it is rendered).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInProcess, tempDir } from '../helpers/cli.js';
import { labWithInventory } from '../helpers/lab-run.js';
import { rawSplices } from '../../engine/validate/rules/sql.js';

function runbookFile(name: string, lines: string[]): string {
  const file = join(tempDir('runbook-sql-text-'), `${name}.yml`);
  writeFileSync(file, [`name: ${name}`, 'description: Built by a test.', ...lines, ''].join('\n'));
  return file;
}

/** `runbook validate` on a runbook built of `lines`, with the file's text (for `position`). */
async function validateLines(name: string, lines: string[]) {
  const file = runbookFile(name, lines);
  const text = `name: ${name}\ndescription: Built by a test.\n${lines.join('\n')}`;
  return { file, text, r: await runInProcess(['validate', file]) };
}

/** `file:line:col` of the first occurrence of `needle` in the file's text. */
function position(file: string, text: string, needle: string): string {
  const before = text.slice(0, text.indexOf(needle));
  const line = before.split('\n').length;
  return `${file}:${line}:${before.length - before.lastIndexOf('\n')}`;
}

const RAW_NOTE = [
  'inputs:',
  '  note: { type: string, multiline: true, default: "", description: free text }',
  '  label: { type: string, default: x, description: one line }',
  'steps:',
  '  - id: q',
  '    type: sqlExec',
  '    target: sqlServer',
  '    with:',
  '      impact: change',
  '      sql: "SELECT 1 AS a; -- note: {{inputs.note}}"',
];

test('validate: a multi-line input spliced raw into sql is an error at file:line:col (exit 2); plan and apply refuse it too', async () => {
  const file = runbookFile('raw-note', RAW_NOTE);
  const text = RAW_NOTE.join('\n');
  const r = await runInProcess(['validate', file]);
  assert.is(r.code, 2, r.stdout + r.stderr);
  const at = position(file, `name: raw-note\ndescription: Built by a test.\n${text}`, 'inputs.note}}');
  assert.ok(r.stderr.includes(`${at}: error multiline-raw-sql: Input \`note\` is multi-line and reaches T-SQL without \`str\``), r.stderr);
  assert.match(r.stderr, /Write \{\{str inputs\.note\}\}/);
  const apply = await runInProcess(['apply', file, '--lab', '--yes', '--set', 'note=x\nGO\nALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)']);
  assert.is(apply.code, 2, apply.stdout + apply.stderr);
  assert.match(apply.stderr, /multiline-raw-sql/);
  assert.is(apply.stdout, '', 'nothing ran');
});

test('validate: any other raw splice of a value into sql or verify is a warning at file:line:col (exit 0); str, ident, conditions and fixed-output helpers are not', async () => {
  const lines = [
    'inputs:',
    '  label: { type: string, default: x, description: one line }',
    'steps:',
    '  - id: q',
    '    type: sqlExec',
    '    target: sqlServer',
    '    with:',
    '      impact: change',
    "      sql: \"SELECT '{{inputs.label}}' AS a, {{str inputs.label}} AS b, {{ident link.name}} AS c{{#if (eq inputs.label 'x')}}, 1 AS d{{/if}}\"",
    "      verify: \"SELECT {{default inputs.label 'y'}} AS done\"",
  ];
  const { file, text, r } = await validateLines('raw-label', lines);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /1 file\(s\) valid/);
  const warnings = r.stderr.split('\n').filter((l) => / warning /.test(l));
  assert.equal(warnings.map((l) => l.replace(/: warning .*/, '')), [position(file, text, "inputs.label}}'"), position(file, text, "inputs.label 'y'")]);
  assert.match(warnings[0]!, /warning raw-sql-splice: `inputs\.label` reaches T-SQL without `ident` or `str`/);
  assert.match(warnings[1]!, /\(through `default`\)/);
  assert.equal(rawSplices("{{ident inputs.a}} {{str (default inputs.b 'x')}} {{#unless inputs.c}}{{/unless}} {{otherSide inputs.d}}"), []);
  assert.equal(rawSplices('{{link.name}} {{steps.x.outputs.y}}').map((s) => s.path), ['link.name', 'steps.x.outputs.y']);
});

// What the attack showed: `--format sql` put a notify message made of a multi-line input into one
// `--` comment, so its second line stood alone: `GO`, then `DROP DATABASE [SalesDb]`. A replica's
// script now lists only its own steps, so the value reaches it through a guard of its own step.
test('plan --format sql: a value with any line break (LF, CR, NEL, LS, PS) stays inside its comment', async () => {
  const file = runbookFile('notes', [
    'inputs:',
    '  note: { type: string, multiline: true, description: free text }',
    'steps:',
    '  - id: say',
    '    type: notify',
    '    with: { message: "{{inputs.note}}" }',
    '  - id: q',
    '    type: sqlExec',
    '    target: sqlServer',
    '    with: { impact: read, sql: "SELECT 1 AS one;", expect: { column: one, equals: "{{inputs.note}}" } }',
  ]);
  for (const br of ['\n', '\r\n', '\r', '\u0085', '\u2028', '\u2029']) {
    const r = await runInProcess(['plan', file, '--lab', '--format', 'sql', '--set', `note=hello${br}GO${br}DROP DATABASE [SalesDb]${br}GO`]);
    assert.is(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.not.ok(/[\r\u0085\u2028\u2029]/.test(r.stdout), `a raw ${JSON.stringify(br)} in the script`);
    assert.not.ok(lines.some((l) => /DROP DATABASE/.test(l) && !l.startsWith('--')), `${JSON.stringify(br)}: DROP DATABASE outside a comment:\n${r.stdout}`);
    assert.equal(lines.filter((l) => /^\s*GO\b/i.test(l)), ['GO'], `${JSON.stringify(br)}: the one GO is the SELECT's`);
    assert.ok(lines.some((l) => /^-- guard: .*hello/.test(l)), `${JSON.stringify(br)}: the value is in the script, commented:\n${r.stdout}`);
  }
});

// F14: a CR sends the terminal's cursor back over the DROP; ESC[8m conceals text.
const SPOOF = [
  'steps:',
  '  - id: tidy',
  '    type: sqlExec',
  '    target: sqlServer',
  '    with:',
  '      impact: change',
  '      sql: "DROP AVAILABILITY GROUP [dag1]; --\\rSELECT name FROM sys.databases;      "',
  '  - id: say',
  '    type: notify',
  '    with: { message: "ok\\e[8m hidden\\e[0m \\u202eevil" }',
];

test('plan (text and --format sql) shows control characters escaped, and says so', async () => {
  const file = runbookFile('spoof', SPOOF);
  const compact = await runInProcess(['plan', file, '--lab']);
  assert.not.ok(/[\r\u001b\u202e]/.test(compact.stdout), JSON.stringify(compact.stdout));
  assert.match(compact.stdout, /Control characters in this plan are shown escaped/);
  const text = await runInProcess(['plan', file, '--lab', '--full']);
  assert.is(text.code, 0, text.stderr);
  assert.not.ok(/[\r\u001b\u202e]/.test(text.stdout), JSON.stringify(text.stdout));
  assert.ok(text.stdout.includes('sql: DROP AVAILABILITY GROUP [dag1]; --\\rSELECT name FROM sys.databases;'), text.stdout);
  assert.ok(text.stdout.includes('message: ok\\x1b[8m hidden\\x1b[0m \\u202eevil'), text.stdout);
  assert.match(text.stdout, /Control characters in this plan are shown escaped/);
  const sql = await runInProcess(['plan', file, '--lab', '--format', 'sql']);
  assert.is(sql.code, 0, sql.stderr);
  assert.not.ok(/[\r\u001b\u202e]/.test(sql.stdout), JSON.stringify(sql.stdout));
  const lines = sql.stdout.split('\n');
  const at = lines.indexOf('DROP AVAILABILITY GROUP [dag1]; --\\rSELECT name FROM sys.databases;');
  assert.ok(at > 0, sql.stdout);
  assert.match(lines[at - 1]!, /^-- !! The next statement holds control characters, shown escaped/);
  const plain = await runInProcess(['plan', runbookFile('plain', ['steps:', '  - id: q', '    type: sqlExec', '    target: sqlServer', '    with: { impact: change, sql: "SELECT 1;" }']), '--lab']);
  assert.not.match(plain.stdout, /shown escaped/, 'no note without control characters');
});

test('validate: a step declared impact: read whose SQL is not a plain read, or a verify that is not, is an error at file:line:col', async () => {
  const lines = [
    'steps:',
    '  - id: tidy2',
    '    type: sqlExec',
    '    target: sqlServer',
    '    with:',
    '      impact: read',
    '      sql: "SELECT 1 AS ok; DROP AVAILABILITY GROUP [dag1];"',
    '  - id: change',
    '    type: sqlExec',
    '    target: sqlServer',
    '    with:',
    '      impact: change',
    '      sql: "ALTER AVAILABILITY GROUP [dag1] FAILOVER;"',
    '      verify: "SELECT 1 AS done; EXEC sp_x"',
  ];
  const { file, text, r } = await validateLines('read-writes', lines);
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.ok(r.stderr.includes(`${position(file, text, '"SELECT 1 AS ok')}: error read-not-a-read: Step \`tidy2\` is declared \`impact: read\`, but its SQL is not a plain read: it contains DROP, which a plain read does not.`), r.stderr);
  assert.ok(r.stderr.includes(`${position(file, text, '"SELECT 1 AS done')}: error verify-not-a-read: The verify query of step \`change\` is not a plain read: it contains EXEC`), r.stderr);
});

test('r5conn-2: validate: a step declared impact: read whose SQL is a bracketed or quoted procedure call is an error at file:line:col', async () => {
  const lines = [
    'steps:',
    '  - id: looks-like-a-read',
    '    type: sqlExec',
    '    target: sqlServer',
    '    with:',
    '      impact: read',
    "      sql: '[dbo].[usp_DropOrders] 1'",
    '  - id: quoted',
    '    type: sqlExec',
    '    target: sqlServer',
    '    with:',
    '      impact: read',
    `      sql: '"dbo"."p"'`,
  ];
  const { file, text, r } = await validateLines('bare-proc', lines);
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.ok(r.stderr.includes(`${position(file, text, "'[dbo]")}: error read-not-a-read: Step \`looks-like-a-read\` is declared \`impact: read\`, but its SQL is not a plain read: it does not start with SELECT ([dbo]: a name first in a batch is a procedure call`), r.stderr);
  assert.ok(r.stderr.includes(`${position(file, text, `'"dbo"`)}: error read-not-a-read: Step \`quoted\``), r.stderr);
});

test('r5conn-4: validate warns, at file:line:col, of a script that leaves session state a later step could rely on (a wave does not keep it)', async () => {
  const lines = [
    'steps:',
    '  - id: use-db',
    '    type: sqlExec',
    '    target: sqlServer',
    '    with: { impact: change, sql: "USE [SalesDb];" }',
    '  - id: hold-writers',
    '    type: sqlExec',
    '    target: sqlServer',
    "    with: { impact: change, sql: \"DECLARE @r int; EXEC @r = sp_getapplock @Resource = N'app:maintenance', @LockMode = 'Exclusive', @LockOwner = 'Session'; SET XACT_ABORT ON; BEGIN TRAN;\" }",
    '  - id: tidy',
    '    type: sqlExec',
    '    target: sqlServer',
    '    with: { impact: change, sql: "SET NOCOUNT ON; BEGIN TRAN; UPDATE t SET a = 1; COMMIT;" }',
  ];
  const { file, text, r } = await validateLines('state-left', lines);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.ok(r.stderr.includes(`${position(file, text, '"USE')}: warning session-state-not-kept: Step \`use-db\`'s script leaves state in its session for what runs after it: USE (the database). A later step`), r.stderr);
  assert.ok(r.stderr.includes("Step `hold-writers`'s script leaves state in its session for what runs after it: sp_getapplock with @LockOwner = 'Session' (the app lock), SET XACT_ABORT, BEGIN TRAN without its COMMIT (an open transaction)."), r.stderr);
  assert.not.ok(r.stderr.includes('`tidy`'), 'a script that commits what it begins and sets only NOCOUNT leaves nothing');
});

test('apply: a step whose impact renders to read and whose SQL is not a plain read is refused before it is sent (exit 3)', async () => {
  const { lab, dir, inventoryFile: inventory } = await labWithInventory({ scenario: 'healthy' }, 'runbook-sql-text-');
  try {
    // The impact comes from an input, so validate cannot judge the step: apply must.
    const file = runbookFile('tidy', [
      'inputs:',
      '  impact: { type: string, default: read, enum: [read, change], description: how the step counts }',
      'steps:',
      '  - id: tidy2',
      '    type: sqlExec',
      '    target: sqlServer',
      '    with:',
      '      impact: "{{inputs.impact}}"',
      '      sql: "SELECT 1 AS ok; DROP AVAILABILITY GROUP [dag1];"',
    ]);
    const r = await runInProcess(['apply', file, '-i', inventory, '--yes'], { env: lab.env, cwd: dir });
    assert.is(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /Refused to run a script declared impact: read that is not a plain read: it contains DROP/);
    assert.not.ok(lab.statements().some((s) => /DROP/i.test(s.statement)), 'the DROP was never sent');
    assert.ok(lab.link().replicas.sqlServer.dagPresent, 'the link is as it was');
  } finally {
    await lab.stop();
  }
});

// What `str` writes for a value with line breaks, (N'a' + NCHAR(13) + NCHAR(10) + ...), run on the
// lab end to end (its T-SQL has NCHAR now): the value comes back as it went in, GO line and all.
test('a multi-line input spliced with str reaches the server as one value and comes back unchanged', async () => {
  const { lab, dir, inventoryFile: inventory } = await labWithInventory({ scenario: 'healthy' }, 'runbook-sql-text-');
  try {
    const file = runbookFile('echo', [
      'inputs:',
      '  note: { type: string, multiline: true, description: free text }',
      'steps:',
      '  - id: echo',
      '    type: sqlExec',
      '    target: sqlServer',
      '    with: { impact: read, sql: "SELECT {{str inputs.note}} AS note;" }',
    ]);
    const note = "it's\r\nGO\nDROP DATABASE [SalesDb]\u2028end";
    const r = await runInProcess(['apply', file, '-i', inventory, '--yes', '--format', 'json', '--set', `note=${note}`], { env: lab.env, cwd: dir });
    assert.is(r.code, 0, r.stdout + r.stderr);
    const finished = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; outputs?: { first?: { note?: string } } }).find((e) => e.event === 'step-finished');
    assert.is(finished?.outputs?.first?.note, note);
    assert.not.ok(lab.statements().some((s) => /^DROP/i.test(s.statement)), 'nothing of the value ran as T-SQL');
  } finally {
    await lab.stop();
  }
});

test.run();
