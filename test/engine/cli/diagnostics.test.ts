// Every diagnostic kind of the issue, through the CLI (its main() in this process): `file:line:col:
// error <code>: <message>`, then the offending source line and a caret under the column; `--format
// json` carries the same data; exit 2 and never a stack trace. One runbook holds one of each
// mistake, so this also shows that all problems of a file are reported together.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, noStack, root, runInProcess, tempDir } from '../../helpers/cli.js';

const dir = tempDir('runbook-cli-diag-');
const everyMistake = join(dir, 'every-mistake.yml');
writeFileSync(everyMistake, [
  'name: every-mistake', //                                                                         1
  'description: One of each mistake, all reported together.', //                                    2
  'description: twice', //                                                                          3
  'inputs:', //                                                                                     4
  '  mode: { type: string, enum: [a, b], default: a }', //                                          5
  'steps:', //                                                                                      6
  '  - id: roles', //                                                                               7
  '    type: assertRole', //                                                                        8
  '    with: { exactlyOnePrimary: true }', //                                                       9
  '  - id: tell', //                                                                                10
  '    type: notifi', //                                                                            11
  '    with: { message: hi }', //                                                                   12
  '  - id: roles', //                                                                               13
  '    type: notify', //                                                                            14
  '    whn: "{{eq inputs.mode \'a\'}}"', //                                                         15
  '    with: { message: "{{inputs.mod}}" }', //                                                     16
  '  - id: four', //                                                                                17
  '    type: notify', //                                                                            18
  '    retry: { count: two }', //                                                                   19
  '    when: yes', //                                                                               20
  '    with: { message: "{{steps.nope.outputs.primary}}", levl: warn }', //                         21
  '  - id: five', //                                                                                22
  '    type: notify', //                                                                            23
  '    with: { message: "{{steps.roles.outputs.primry}} on {{link.sqlServer.nme}}" }', //           24
  '  - id: six', //                                                                                 25
  '    type: notify', //                                                                            26
  '    with: { message: "{{ident link.name}" }', //                                                 27
  '',
].join('\n'));

/** code@line:col, and a fragment each message must contain (the "did you mean" where there is one). */
const expected: Array<[string, string]> = [
  ['yaml-duplicate-key@3:1', 'line 2, column 1'],
  ['unknown-step-type@11:11', 'Did you mean `notify`?'],
  ['duplicate-step-id@13:9', 'line 7'],
  ['unknown-key@15:5', 'Did you mean `when`?'],
  ['undefined-variable@16:25', 'Did you mean `mode`?'],
  ['wrong-type@19:21', 'integer'],
  ['bad-when@20:11', 'true or false'],
  ['unknown-step@21:25', '`nope`'],
  ['unknown-key@21:56', 'Did you mean `level`?'],
  ['unknown-output@24:25', 'Did you mean `primary`?'],
  ['undefined-variable@24:59', 'Did you mean `name`?'],
  ['template-syntax@27:40', 'syntax'],
];

interface Shown {
  file: string;
  line: number;
  column: number;
  code: string;
  message: string;
}


/**
 * Parses text diagnostics and checks each one's quoted line and caret against the file itself:
 * the line after the header is the source line, the caret sits under the reported column.
 */
function parseText(stderr: string, sources: Map<string, string>): Shown[] {
  const lines = stderr.replace(/\n$/, '').split('\n');
  const out: Shown[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(.+):(\d+):(\d+): error ([a-z0-9-]+): (.+)$/.exec(lines[i]!);
    assert.ok(m, `not a diagnostic header: ${JSON.stringify(lines[i])}\n${stderr}`);
    const d: Shown = { file: m[1]!, line: Number(m[2]), column: Number(m[3]), code: m[4]!, message: m[5]! };
    out.push(d);
    const source = sources.get(d.file);
    if (source === undefined) {
      while (lines[i + 1]?.startsWith('  ')) i++;
      continue;
    }
    const sourceLine = source.split('\n')[d.line - 1]!.replace(/\t/g, ' ');
    assert.is(lines[i + 1], `  ${sourceLine}`, `${d.code}: the offending line is quoted`);
    assert.is(lines[i + 2], `  ${' '.repeat(d.column - 1)}^`, `${d.code}: the caret is under column ${d.column}`);
    i += 2;
  }
  return out;
}

const at = (d: { code: string; line: number; column: number }) => `${d.code}@${d.line}:${d.column}`;

function checkEveryMistake(shown: Shown[]): void {
  assert.equal(shown.map(at), expected.map(([where]) => where));
  expected.forEach(([, fragment], i) => assert.match(shown[i]!.message, fragment, expected[i]![0]));
  for (const d of shown) assert.is(d.file, everyMistake);
}

test('validate: every kind in one file, each with its line, caret and code; exit 2, no stack', async () => {
  const r = await runInProcess(['validate', everyMistake]);
  assert.is(r.code, 2);
  assert.is(r.stdout, '');
  noStack(r.stderr);
  checkEveryMistake(parseText(r.stderr, new Map([[everyMistake, readFileSync(everyMistake, 'utf8')]])));
});

test('validate --format json: the same diagnostics as data, on stdout; exit 2', async () => {
  const text = await runInProcess(['validate', everyMistake]);
  const json = await runInProcess(['validate', everyMistake, '--format', 'json']);
  assert.is(json.code, 2);
  assert.is(json.stderr, '');
  const diags = JSON.parse(json.stdout) as Array<Shown & { severity: string; path: string }>;
  checkEveryMistake(diags);
  for (const d of diags) {
    assert.is(d.severity, 'error');
    assert.type(d.path, 'string');
  }
  const shown = parseText(text.stderr, new Map());
  assert.equal(diags.map(({ file, line, column, code, message }) => ({ file, line, column, code, message })), shown);
});

test('plan and apply report the same diagnostics (text and json), exit 2, and run nothing', async () => {
  const source = new Map([[everyMistake, readFileSync(everyMistake, 'utf8')]]);
  const plan = await runInProcess(['plan', everyMistake, '--lab']);
  assert.is(plan.code, 2);
  noStack(plan.stderr);
  checkEveryMistake(parseText(plan.stderr, source));
  const planJson = await runInProcess(['plan', everyMistake, '--lab', '--format', 'json']);
  assert.is(planJson.code, 2);
  checkEveryMistake(JSON.parse(planJson.stdout));
  const cwd = tempDir();
  const apply = await runInProcess(['apply', everyMistake, '-i', fixture('inventory.yml'), '--yes'], { cwd });
  assert.is(apply.code, 2);
  checkEveryMistake(parseText(apply.stderr, source));
  assert.not.ok(existsSync(join(cwd, '.runbook')), 'no run was started');
});

test('tab indentation: reported at the tab, exit 2', async () => {
  const file = join(dir, 'tab.yml');
  writeFileSync(file, 'name: t\ndescription: d\nsteps:\n\t- id: a\n');
  const r = await runInProcess(['validate', file]);
  assert.is(r.code, 2);
  const shown = parseText(r.stderr, new Map([[file, readFileSync(file, 'utf8')]]));
  assert.equal(shown.map(at), ['yaml-tab-indentation@4:1']);
});

test('YAML syntax errors and unreadable files: one diagnostic each, exit 2', async () => {
  const broken = join(dir, 'broken.yml');
  writeFileSync(broken, 'name: x\nsteps: [1, 2\n');
  const missing = join(dir, 'missing.yml');
  const r = await runInProcess(['validate', broken, missing]);
  assert.is(r.code, 2);
  noStack(r.stderr);
  const shown = parseText(r.stderr, new Map([[broken, readFileSync(broken, 'utf8')]]));
  assert.equal(shown.map((d) => `${d.file === broken ? 'broken' : 'missing'}:${d.code}`), ['broken:yaml-syntax', 'missing:file-unreadable']);
});

test('an inventory with a literal password: an error that says what to do, the password never shown', async () => {
  const inv = join(dir, 'inventory-with-password.yml');
  const text = readFileSync(fixture('inventory.yml'), 'utf8').replace('passwordEnv: TEST_SQL_PASSWORD', 'password: "Pa55-sentinel-w0rd"');
  writeFileSync(inv, text);
  const line = text.split('\n').findIndex((l) => l.includes('password:')) + 1;
  for (const format of ['text', 'json']) {
    const r = await runInProcess(['validate', inv, '--format', format]);
    assert.is(r.code, 2, format);
    assert.not.match(r.stdout + r.stderr, 'Pa55-sentinel', format);
    const diags = format === 'json' ? (JSON.parse(r.stdout) as Shown[]) : parseText(r.stderr, new Map());
    assert.equal(diags.map(at), [`inline-password@${line}:7`], format);
    assert.match(diags[0]!.message, 'passwordEnv');
  }
  const plan = await runInProcess(['plan', join(root, 'test', 'fixtures', 'runbooks', 'engine-back', 'builtins.yml'), '-i', inv]);
  assert.is(plan.code, 2);
  assert.match(plan.stderr, `inline-password`);
  assert.not.match(plan.stdout + plan.stderr, 'Pa55-sentinel');
});

test('a bad plugin is a diagnostic at its line, not a crash; apply runs nothing', async () => {
  const rb = join(root, 'test', 'fixtures', 'runbooks', 'with-plugins.yml');
  const r = await runInProcess(['validate', rb]);
  assert.is(r.code, 2);
  noStack(r.stderr);
  const codes = parseText(r.stderr, new Map([[rb, readFileSync(rb, 'utf8')]])).map(at);
  for (const want of ['plugin-not-found@5:5', 'plugin-failed@6:5', 'plugin-invalid@7:5']) assert.ok(codes.includes(want), `${want} in ${codes.join(' ')}`);
  const cwd = tempDir();
  const apply = await runInProcess(['apply', rb, '-i', fixture('inventory.yml'), '--yes'], { cwd });
  assert.is(apply.code, 2);
  noStack(apply.stderr);
  assert.match(apply.stderr, /plugin exploded on import/);
  assert.not.ok(existsSync(join(cwd, '.runbook')), 'no run was started');
});

test('--set problems are diagnostics too: unknown input, value outside the enum', async () => {
  const r = await runInProcess(['plan', fixture('flow.yml'), '-i', fixture('inventory.yml'), '--set', 'greting=hi']);
  assert.is(r.code, 2);
  noStack(r.stderr);
  assert.match(r.stderr, /^<command line>:1:\d+: error unknown-input: .*greting/m);
  assert.match(r.stderr, /Did you mean `greeting`\?/);
});

test.run();
