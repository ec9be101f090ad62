// buildPlan is pure: these tests give it in-memory runbooks and step definitions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildPlan, sha256 } from '../../../engine/plan/build.js';
import type { LoadedStep } from '../../../engine/step-api/types.js';
import type { Inventory, Runbook } from '../../../engine/core/types.js';
import type { StepDefinition } from '../../../engine/step-api/types.js';
import type { Plan } from '../../../engine/plan/types.js';

const inventory: Inventory = {
  link: {
    name: 'dag1',
    database: 'salesdb',
    sqlServer: { name: 'SQL1', agName: 'ag1', connection: { host: 'sql1.example', passwordEnv: 'SQL_PW' } },
    managedInstance: { name: 'mi1', resourceGroup: 'rg', subscriptionId: 'sub', tier: 'GeneralPurpose', connection: { host: 'mi1.example', passwordEnv: 'MI_PW' } },
  },
  arm: { endpoint: 'https://management.azure.com' },
};

const echo: StepDefinition<any> = {
  type: 'echo', description: 'echo', with: { type: 'object' }, impact: 'read', target: 'optional',
  outputs: { value: { description: 'v' } },
  plan: (_ctx, args) => ({ summary: `echo ${typeof args.message === 'string' ? args.message : '?'}` }),
  run: async (_ctx, args) => ({ value: args.message }),
};
const sql: StepDefinition<any> = {
  type: 'sql', description: 'sql', with: { type: 'object' }, impact: 'change', target: 'required', outputs: {},
  plan: (ctx, args) => ({ summary: 'send SQL', sql: [{ target: ctx.target!, text: String(args.sql) }], guards: ['none'] }),
  run: async () => ({}),
};
const seenHistory: string[][] = [];
const deleteLink: StepDefinition<any> = {
  type: 'deleteLink', description: 'delete', with: { type: 'object' }, target: 'none', outputs: {},
  impact: (_args, ctx) => {
    seenHistory.push(ctx.history.map((h) => `${h.id}:${h.state}`));
    return ctx.history.some((h) => h.type === 'echo' && h.state === 'will-run') ? 'change' : 'dataLoss';
  },
  plan: () => ({ summary: 'delete the link' }),
  run: async () => ({}),
};
const steps = new Map<string, LoadedStep>([
  ['echo', { definition: echo, plugin: true }],
  ['sql', { definition: sql, plugin: false }],
  ['deleteLink', { definition: deleteLink, plugin: false }],
]);

function runbook(stepsSpec: Runbook['steps']): Runbook {
  return {
    name: 'rb', description: 'a runbook', file: 'rb.yml',
    inputs: { direction: { type: 'string', default: 'toMI' }, token: { type: 'string', secret: true } as never },
    steps: stepsSpec,
  };
}

const flow = runbook([
  { id: 'first', type: 'echo', with: { message: 'hi {{link.name}}' } },
  { id: 'gate', type: 'echo', when: "{{eq inputs.direction 'toMI'}}", with: { message: 'gate' } },
  { id: 'never', type: 'echo', when: "{{eq inputs.direction 'toSQL'}}", with: { message: 'no' } },
  { id: 'later', type: 'echo', when: "{{eq steps.first.outputs.value 'hi dag1'}}", with: { message: 'got {{steps.first.outputs.value}}' } },
  { id: 'alter', type: 'sql', target: 'sqlServer', timeout: '2s', retry: { count: 3, delay: '500ms' }, with: { sql: 'ALTER AVAILABILITY GROUP {{ident link.name}} FAILOVER;' } },
]);

function make(rb: Runbook = flow): Plan {
  return buildPlan({ runbook: rb, source: 'text of rb', inventory, inventorySource: { file: 'inv.yml' }, inputs: { direction: 'toMI', token: 'hunter2' }, steps });
}

test('a plan survives a JSON round trip unchanged', () => {
  const plan = make();
  assert.equal(JSON.parse(JSON.stringify(plan)), plan);
  assert.is(plan.runbook.sha256, sha256('text of rb'));
  assert.is(plan.inventory.link, 'dag1');
  assert.is(plan.inventory.file, 'inv.yml');
});

test('when: is decided at plan time where it can be, at run time where it cannot', () => {
  const plan = make();
  const by = Object.fromEntries(plan.steps.map((s) => [s.id, s]));
  assert.is(by.first!.decision, 'run');
  assert.is(by.gate!.decision, 'run');
  assert.is(by.gate!.when?.rendered, 'true');
  assert.is(by.never!.decision, 'skip');
  assert.is(by.later!.decision, 'decided at run time');
  assert.is(by.later!.when?.dependsOn, 'steps.first.outputs.value');
});

test('values from earlier steps stay unknown; known values are rendered, SQL in full', () => {
  const plan = make();
  const later = plan.steps.find((s) => s.id === 'later')!;
  assert.equal(later.with.message, { unknown: true, from: 'steps.first.outputs.value' });
  assert.is(plan.steps[0]!.with.message, 'hi dag1');
  const alter = plan.steps.find((s) => s.id === 'alter')!;
  assert.is(alter.with.sql, 'ALTER AVAILABILITY GROUP [dag1] FAILOVER;');
  assert.equal(alter.plan.sql, [{ target: 'sqlServer', text: 'ALTER AVAILABILITY GROUP [dag1] FAILOVER;' }]);
  assert.equal(alter.timeout, { text: '2s', ms: 2000 });
  assert.equal(alter.retry, { count: 3, delay: '500ms', delayMs: 500 });
  assert.is(alter.impact, 'change');
  assert.is(alter.index, 5);
});

test('plugin step types are marked as plugins', () => {
  const plan = make();
  assert.is(plan.steps[0]!.plugin, true);
  assert.is(plan.steps[4]!.plugin, false);
});

test('secret inputs are redacted in the plan', () => {
  const plan = make();
  assert.is(plan.inputs.token, '(secret)');
  assert.is(plan.inputs.direction, 'toMI');
  assert.not.ok(JSON.stringify(plan).includes('hunter2'));
});

test('impact functions see earlier steps as will-run / may-run', () => {
  seenHistory.length = 0;
  const rb = runbook([
    { id: 'a', type: 'echo', when: "{{eq inputs.direction 'x'}}", with: { message: 'a' } },
    { id: 'del', type: 'deleteLink', with: {} },
  ]);
  const plan = make(rb);
  assert.equal(seenHistory[0], ['a:skipped']);
  assert.is(plan.steps[1]!.impact, 'dataLoss');

  seenHistory.length = 0;
  const rb2 = runbook([
    { id: 'a', type: 'echo', with: { message: 'a' } },
    { id: 'b', type: 'echo', when: "{{eq steps.a.outputs.value 'a'}}", with: { message: 'b' } },
    { id: 'del', type: 'deleteLink', with: {} },
  ]);
  const plan2 = make(rb2);
  assert.equal(seenHistory[0], ['a:will-run', 'b:may-run']);
  assert.is(plan2.steps[2]!.impact, 'change');
});

test('a when: that renders neither true nor false is a plan error naming the step', () => {
  const rb = runbook([{ id: 'odd', type: 'echo', when: '{{inputs.direction}}', with: { message: 'x' } }]);
  assert.throws(() => make(rb), /odd/);
});

test.run();
