import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isUnknown, renderTemplate, renderValue, renderWhen, templateReferences, TemplateError, unknownValue } from '../../engine/template.js';

const ctx = {
  inputs: { direction: 'toManagedInstance', empty: '', flag: true },
  link: { name: 'dag]1', sqlServer: { agName: "O'Brien" }, managedInstance: { name: 'Ωmega 🚀' } },
  steps: { before: { outputs: { secondary: unknownValue('steps.before.outputs.secondary') } }, done: { outputs: { n: 3 } } },
  run: { id: 'r1', started: '2024-01-01T00:00:00Z' },
};

test('ident doubles ] and brackets; str doubles quotes with N prefix', () => {
  assert.is(renderTemplate('{{ident link.name}}', ctx), '[dag]]1]');
  assert.is(renderTemplate('{{str link.sqlServer.agName}}', ctx), "N'O''Brien'");
  assert.is(renderTemplate("{{ident 'a]]b'}} {{str \"it's\"}}", ctx), "[a]]]]b] N'it''s'");
});

test('unicode and empty strings quote correctly; ident of empty is an error', () => {
  assert.is(renderTemplate('{{ident link.managedInstance.name}} {{str link.managedInstance.name}}', ctx), "[Ωmega 🚀] N'Ωmega 🚀'");
  assert.is(renderTemplate('{{str inputs.empty}}', ctx), "N''");
  assert.throws(() => renderTemplate('{{ident inputs.empty}}', ctx), (e: unknown) => e instanceof TemplateError && /empty/.test(e.message));
});

test('no HTML escaping', () => {
  assert.is(renderTemplate('{{str x}}', { x: '<a & "b">' }), `N'<a & "b">'`);
  assert.is(renderTemplate('{{x}}', { x: "<'&>" }), "<'&>");
});

test('a missing variable is an error naming it', () => {
  try {
    renderTemplate('SELECT {{inputs.nope}}', ctx);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TemplateError);
    assert.is((e as TemplateError).path, 'inputs.nope');
    assert.match((e as Error).message, 'inputs.nope');
  }
  assert.throws(() => renderTemplate('{{ident link.nope.deeper}}', ctx), /link\.nope\.deeper/);
});

test('Unknown values propagate instead of failing', () => {
  const r = renderTemplate('ALTER ... {{ident steps.before.outputs.secondary}}', ctx);
  assert.ok(isUnknown(r));
  assert.equal(r, { unknown: true, from: 'steps.before.outputs.secondary' });
  const unknownOutputs = { ...ctx, steps: { before: unknownValue('steps.before') } };
  assert.equal(renderTemplate('{{steps.before.outputs.x}}', unknownOutputs), { unknown: true, from: 'steps.before.outputs.x' });
  const v = renderValue({ a: '{{steps.before.outputs.secondary}}', b: ['{{steps.done.outputs.n}}', 7], c: 'plain' }, ctx) as Record<string, unknown>;
  assert.ok(isUnknown(v.a));
  assert.equal(v.b, ['3', 7]);
  assert.is(v.c, 'plain');
});

test('when: renders to booleans, Unknown, or an error', () => {
  assert.is(renderWhen("{{eq inputs.direction 'toManagedInstance'}}", ctx), true);
  assert.is(renderWhen("{{ne inputs.direction 'toManagedInstance'}}", ctx), false);
  assert.is(renderWhen('{{and inputs.flag (not false) (or false true)}}', ctx), true);
  assert.ok(isUnknown(renderWhen("{{eq steps.before.outputs.secondary 'x'}}", ctx)));
  assert.throws(() => renderWhen('{{inputs.direction}}', ctx), /true or false/);
});

test('default helper', () => {
  assert.is(renderTemplate("{{default inputs.empty 'fallback'}}", ctx), 'fallback');
});

test('references and syntax errors', () => {
  assert.equal(templateReferences("{{ident link.name}} {{#if (eq inputs.direction 'x')}}{{steps.before.outputs.secondary}}{{/if}}"), [
    'link.name', 'inputs.direction', 'steps.before.outputs.secondary',
  ]);
  try {
    renderTemplate('ok\n{{ident link.name}', ctx);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TemplateError);
    assert.is((e as TemplateError).line, 2);
    assert.match((e as Error).message, 'syntax');
  }
});

test.run();
