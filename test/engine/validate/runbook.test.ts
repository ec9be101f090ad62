import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateFiles, validateRunbook } from '../../../engine/validate/runbook.js';
import { testSteps } from '../../fixtures/runbooks/steps.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures');
const HEADER = [
  'name: t', //                                                     1
  'description: d', //                                              2
  'inputs:', //                                                     3
  '  direction: { type: string, enum: [a, b], default: a }', //     4
  'steps:', //                                                      5
  '  - id: one', //                                                 6
  '    type: echo', //                                              7
  '    with: { message: hi }', //                                   8
];

async function found(...steps: string[]): Promise<string[]> {
  const r = await validateRunbook('rb.yml', { steps: testSteps, text: `${[...HEADER, ...steps].join('\n')}\n` });
  return r.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`);
}

async function messages(...steps: string[]): Promise<string[]> {
  const r = await validateRunbook('rb.yml', { steps: testSteps, text: `${[...HEADER, ...steps].join('\n')}\n` });
  return r.diagnostics.map((d) => d.message);
}

test('a good runbook validates and comes back normalised', async () => {
  const r = await validateRunbook(join(fixtures, 'runbooks', 'good.yml'), { steps: testSteps });
  assert.equal(r.diagnostics, []);
  assert.equal(r.runbook?.steps.map((s) => s.id), ['hello', 'change', 'after']);
  assert.equal(r.runbook?.inputs.direction?.default, 'toManagedInstance');
  assert.is(r.runbook?.steps[1]?.target, 'primary');
  assert.equal((await found())[0], undefined);
});

test('all problems of a file are reported together', async () => {
  const r = await validateRunbook(join(fixtures, 'runbooks', 'four-problems.yml'), { steps: testSteps });
  assert.equal(r.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`), [
    'unknown-key@6:13',
    'duplicate-step-id@7:9',
    'unknown-step-type@8:11',
    'undefined-variable@12:25',
  ]);
  assert.is(r.runbook, undefined);
});

test('unknown keys, with did-you-mean', async () => {
  assert.equal(await found('  - id: two', '    type: echo', '    whn: "{{eq 1 1}}"', '    with: { message: x }'), ['unknown-key@11:5']);
  const [whn] = await messages('  - id: two', '    type: echo', '    whn: "{{eq 1 1}}"', '    with: { message: x }');
  assert.match(whn!, 'Did you mean `when`?');
  assert.match(whn!, 'Unknown key `whn` in step `two`.', 'a step is named by its id, not its index');
  const noId = await messages('  - type: echo', '    whn: x', '    with: { message: x }');
  assert.ok(noId.some((m) => m.startsWith('Unknown key `whn` in `steps[1]`.')), noId.join('\n'));
  assert.equal(await found('  - id: two', '    type: echo', '    with: { mesage: x }'), ['unknown-key@11:13']);
});

test('wrong types, in the runbook and in with:', async () => {
  assert.equal(await found('  - id: two', '    type: echo', '    retry: { count: two }', '    with: { message: x }'), ['wrong-type@11:21']);
  assert.equal(await found('  - id: two', '    type: echo', '    with: { message: [1, 2] }'), ['wrong-type@11:22']);
});

test('missing required keys', async () => {
  assert.equal(await found('  - id: two', '    with: { message: x }'), ['missing-required@9:5']);
  assert.equal(await found('  - id: two', '    type: echo'), ['missing-required@9:5']);
});

test('enum mismatch lists allowed values', async () => {
  assert.equal(await found('  - id: two', '    type: sqlish', '    target: primay', '    with: { sql: x }'), ['bad-enum@11:13']);
  const [m] = await messages('  - id: two', '    type: sqlish', '    target: primay', '    with: { sql: x }');
  assert.match(m!, 'sqlServer, managedInstance, primary, secondary');
  assert.match(m!, 'Did you mean `primary`?');
  assert.equal(await found('  - id: two', '    type: echo', '    with: { message: x, level: loud }'), ['bad-enum@11:32']);
});

test('unknown step type, with did-you-mean', async () => {
  assert.equal(await found('  - id: two', '    type: ecoh', '    with: { message: x }'), ['unknown-step-type@10:11']);
  assert.match((await messages('  - id: two', '    type: ecoh'))[0]!, 'Did you mean `echo`?');
});

test('duplicate step ids point at the second and name the first line', async () => {
  assert.equal(await found('  - id: one', '    type: echo', '    with: { message: x }'), ['duplicate-step-id@9:9']);
  assert.match((await messages('  - id: one', '    type: echo', '    with: { message: x }'))[0]!, 'line 6');
});

test('target: where the type takes none, and missing where required', async () => {
  assert.equal(await found('  - id: two', '    type: echo', '    target: primary', '    with: { message: x }'), ['target-not-allowed@11:5']);
  assert.equal(await found('  - id: two', '    type: sqlish', '    with: { sql: x }'), ['target-required@9:5']);
});

test('references to unknown, later or self steps, and to undeclared outputs', async () => {
  const step = (msg: string) => ['  - id: two', '    type: echo', `    with: { message: "${msg}" }`, '  - id: three', '    type: echo', '    with: { message: x }'];
  assert.equal(await found(...step('{{steps.nope.outputs.message}}')), ['unknown-step@11:25']);
  assert.equal(await found(...step('{{steps.three.outputs.message}}')), ['forward-reference@11:25']);
  assert.equal(await found(...step('{{steps.two.outputs.message}}')), ['forward-reference@11:25']);
  assert.equal(await found(...step('{{steps.one.outputs.mesage}}')), ['unknown-output@11:25']);
  assert.match((await messages(...step('{{steps.one.outputs.mesage}}')))[0]!, 'Did you mean `message`?');
  assert.equal(await found(...step('ok {{steps.one.outputs.message}}')), []);
});

test('undefined template variables: inputs, link, other roots', async () => {
  const step = (msg: string) => ['  - id: two', '    type: echo', `    with: { message: "${msg}" }`];
  assert.equal(await found(...step('{{inputs.directon}}')), ['undefined-variable@11:25']);
  assert.match((await messages(...step('{{inputs.directon}}')))[0]!, 'Did you mean `direction`?');
  assert.equal(await found(...step('x {{link.sqlServer.nme}}')), ['undefined-variable@11:27']);
  assert.equal(await found(...step('{{link.managedInstance.connection.host}} {{run.id}} {{inputs.direction}}')), []);
  assert.equal(await found(...step('{{env.HOME}}')), ['undefined-variable@11:25']);
  assert.equal(await found(...step('{{run.user}}')), ['undefined-variable@11:25']);
});

test('template syntax errors point inside a block scalar', async () => {
  assert.equal(await found('  - id: two', '    type: echo', '    with:', '      message: |', '        line one', '        {{ident link.name}'), ['template-syntax@14:9']);
});

test('when: must be a template and use known helpers', async () => {
  const step = (when: string) => ['  - id: two', '    type: echo', `    when: "${when}"`, '    with: { message: x }'];
  assert.equal(await found(...step('yes')), ['bad-when@11:11']);
  assert.equal(await found(...step("{{eqq inputs.direction 'a'}}")), ['unknown-helper@11:14']);
  assert.match((await messages(...step("{{eqq inputs.direction 'a'}}")))[0]!, 'Did you mean `eq`?');
  assert.equal(await found(...step("{{and (eq inputs.direction 'a') (not false)}}")), []);
});

test('templates outside the template language are refused at file:line:col', async () => {
  const step = (msg: string) => ['  - id: two', '    type: echo', `    with: { message: "${msg}" }`];
  assert.equal(await found(...step('{{#each inputs.direction}}x{{/each}}')), ['template-unsupported@11:23']);
  assert.equal(await found(...step('{{{inputs.direction}}}')), ['template-unsupported@11:23']);
  assert.equal(await found(...step('{{> footer}}')), ['template-unsupported@11:23']);
  assert.equal(await found(...step('x {{@root.inputs.direction}}')), ['template-unsupported@11:27']);
  assert.equal(await found(...step('{{../inputs.direction}}')), ['template-unsupported@11:25']);
  assert.equal(await found(...step('{{ident this}}')), ['template-unsupported@11:31']);
  assert.equal(await found(...step('{{str inputs.direction x=1}}')), ['template-unsupported@11:46']);
  assert.equal(await found(...step('{{eq inputs.direction}}')), ['helper-arguments@11:25']);
  assert.equal(await found(...step("{{lookup link 'name'}}")), ['unknown-helper@11:25']);
  assert.match((await messages(...step('{{#each inputs.direction}}x{{/each}}')))[0]!, 'only {{#if}}, {{#unless}} and {{else}}');
  assert.equal(await found(...step("{{#if (eq inputs.direction 'a')}}A{{else if inputs.direction}}B{{else}}{{str inputs.direction}}{{/if}}")), []);
});

test('a step\'s own timeout: and retry.delay: are plain durations: a template there is refused, not left for plan to trip on', async () => {
  assert.equal(await found('  - id: two', '    type: echo', '    timeout: "{{inputs.direction}}"', '    with: { message: x }'), ['template-not-allowed@11:14']);
  assert.equal(await found('  - id: two', '    type: echo', '    retry: { count: 1, delay: "{{inputs.direction}}" }', '    with: { message: x }'), ['template-not-allowed@11:31']);
  assert.match((await messages('  - id: two', '    type: echo', '    timeout: "{{inputs.direction}}"', '    with: { message: x }'))[0]!, 'templates are rendered only in `with:` and `when:`');
});

test('bad durations: timeout, retry.delay and with: fields in duration format', async () => {
  assert.equal(await found('  - id: two', '    type: echo', '    timeout: 10 minutes', '    with: { message: x }'), ['bad-duration@11:14']);
  assert.equal(await found('  - id: two', '    type: echo', '    retry: { count: 1, delay: -1s }', '    with: { message: x }'), ['bad-duration@11:31']);
  assert.equal(await found('  - id: two', '    type: echo', '    with: { message: x, pause: "30" }'), ['bad-duration@11:32']);
  assert.equal(await found('  - id: two', '    type: echo', '    with: { message: x, pause: "{{inputs.direction}}" }'), []);
});

test('input defaults must fit their type and enum', async () => {
  const r = await validateRunbook('rb.yml', {
    steps: testSteps,
    text: 'name: t\ndescription: d\ninputs:\n  n: { type: integer, default: x }\n  d: { type: string, enum: [a], default: b }\nsteps:\n  - id: one\n    type: echo\n    with: { message: hi }\n',
  });
  assert.equal(r.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`), ['bad-input-default@4:32', 'bad-input-default@5:42']);
});

test('validateFiles tells runbooks from inventories by content', async () => {
  const r = await validateFiles([join(fixtures, 'runbooks', 'good.yml'), join(fixtures, 'inventories', 'good.yml'), join(fixtures, 'inventories', 'neither.yml')], { steps: testSteps });
  assert.equal([...r.kinds.values()], ['runbook', 'inventory', 'unknown']);
  assert.equal(r.diagnostics.map((d) => d.code), ['unknown-document']);
  assert.ok(r.sources.get(join(fixtures, 'runbooks', 'good.yml'))?.includes('name: good'));
});

test.run();
