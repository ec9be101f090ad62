import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isUnknown } from '../../../engine/step-api/args.js';
import { renderTemplate, renderValue, renderWhen, renderWithHandlebars, rendersDirectly, templateReferences, TemplateError, unknownValue } from '../../../engine/template/render.js';
import { loadYaml } from '../../../engine/load/yaml.js';
import { root } from '../../helpers/cli.js';

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
  // Handlebars' own strict mode lets a missing last segment through as a helper argument; we do not.
  assert.throws(() => renderTemplate("{{eq inputs.nope 'x'}}", ctx), /inputs\.nope/);
  assert.throws(() => renderWhen('{{not inputs.nope}}', ctx), /inputs\.nope/);
  assert.throws(() => renderTemplate('{{eq u undefined}}', {}), /`u` is not defined/);
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

// Simple templates are evaluated straight from the syntax tree, the rest by Handlebars: both ways
// must give the same text, or fail with the same message.
const corpusContext = {
  a: "x]y'z Ωmega 🚀", b: { c: 'd', '0': 'zero' }, e: '', n: 3, z: 0, t: true, f: false, arr: [1, 2], obj: { k: 'v' }, nul: null,
  lsn: '98765432109876543210987', v: '16.0.4125.3', side: 'sqlServer', html: '<a & "b">',
};
const direct = [
  'plain {{a}} text', '{{b.c}}', '{{ident a}}', '{{str a}}', '{{str e}}', '{{ident e}}', "{{eq a 'x'}}", '{{ne n 3}}', '{{eq n 3}}',
  '{{and t f}}', '{{and t (not f) (or f t)}}', '{{or f (not t)}}', '{{not e}}', "{{default e 'fallback'}}", "{{default a 'fallback'}}",
  '{{gt n 2}}', "{{lte lsn '98765432109876543210988'}}", "{{versionAtLeast v '16.0.4125'}}", "{{versionAtLeast side '1'}}", '{{otherSide side}}',
  '{{otherSide a}}', '{{{a}}}', '{{~ a ~}}  b', ' a {{~a}} ', 'x \\{{a}} y', '{{! comment }}{{a}}', '{{!-- c --}}z', '{{n}}', '{{z}}', '{{t}}', '{{f}}',
  '{{arr}}', '{{obj}}', '{{nul}}', '{{eq nul null}}', '{{arr.length}}', '{{html}}', '{{str html}}', '{{eq 1 1}}', "{{eq 'a' \"a\"}}",
  'SELECT {{str a}}\nGO\nALTER AVAILABILITY GROUP {{ident b.c}} FAILOVER;', '{{ident (otherSide side)}}', '{{eq a}}', '{{b.[0]}}',
];
direct.push(
  '{{#if t}}yes{{else}}no{{/if}}', '{{#if f}}yes{{else}}no{{/if}}', '{{#if z}}yes{{else}}no{{/if}}', '{{#if e}}yes{{/if}}', '{{#if arr}}[{{arr}}]{{/if}}',
  '{{#if nul}}y{{else if t}}chained {{a}}{{else}}n{{/if}}', '{{#unless f}}{{a}}{{/unless}}', '{{#unless t}}x{{else}}{{ident a}}{{/unless}}',
  "{{#if (eq side 'sqlServer')}}SECONDARY{{else}}PRIMARY{{/if}}", 'a\n  {{#if t}}\n  line\n  {{/if}}\nb', '{{~#if t~}} x {{~/if~}}',
);
const viaHandlebars = [
  '{{lookup obj "k"}}', '{{this.a}}', '{{@root.a}}', '{{ident a x=1}}', '{{and}}', '{{ident}}', '{{#each arr}}{{this}}{{/each}}',
  '{{#if t includeZero=true}}y{{/if}}', '{{#if t f}}y{{/if}}', '{{> partial}}',
];
const emptyList = { ...corpusContext, arr: [] };

function outcome(render: () => unknown): unknown {
  try {
    return { value: render() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

test('direct evaluation agrees with Handlebars on a corpus (and is used for the simple ones)', () => {
  for (const text of direct) assert.ok(rendersDirectly(text), `rendered directly: ${text}`);
  for (const text of viaHandlebars) assert.not.ok(rendersDirectly(text), `left to Handlebars: ${text}`);
  for (const text of [...direct, ...viaHandlebars]) {
    const mine = outcome(() => renderTemplate(text, corpusContext));
    const theirs = outcome(() => renderWithHandlebars(text, corpusContext));
    // renderTemplate words a failure as "Template failed: <message>."; compare the message itself.
    const norm = (o: any) => ('error' in o ? { error: String(o.error).replace(/^Template failed: /, '').replace(/\.$/, '') } : o);
    assert.equal(norm(mine), norm(theirs), text);
  }
  assert.is(renderTemplate('{{ident a}} {{str a}}', corpusContext), "[x]]y'z Ωmega 🚀] N'x]y''z Ωmega 🚀'");
  assert.is(renderTemplate('{{#if arr}}some{{else}}none{{/if}}', emptyList), renderWithHandlebars('{{#if arr}}some{{else}}none{{/if}}', emptyList));
  assert.is(renderTemplate('{{#if arr}}some{{else}}none{{/if}}', emptyList), 'none');
});

test("the shipped runbooks' templates render the same both ways", () => {
  const dir = join(root, 'runbooks');
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
  } catch {
    return;
  }
  const texts = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.includes('{{')) texts.add(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const f of files) walk(loadYaml(join(dir, f)).value);
  let directCount = 0;
  for (const text of texts) {
    if (rendersDirectly(text)) directCount++;
    // Every variable the template reads gets the same value: a side name, then a version-like text.
    for (const value of ['sqlServer', '16.0.4125', "it's ]"]) {
      const ctx: Record<string, unknown> = {};
      for (const path of templateReferences(text)) {
        const parts = path.split('.');
        let node = ctx;
        parts.slice(0, -1).forEach((p) => (node = (node[p] ??= {}) as Record<string, unknown>));
        node[parts.at(-1)!] = value;
      }
      const mine = outcome(() => renderTemplate(text, ctx));
      const theirs = outcome(() => renderWithHandlebars(text, ctx));
      const norm = (o: any) => ('error' in o ? { error: String(o.error).replace(/^Template failed: /, '').replace(/\.$/, '') } : o);
      assert.equal(norm(mine), norm(theirs), `${text} with ${value}`);
    }
  }
  if (texts.size > 0) assert.ok(directCount >= texts.size / 2, `${directCount} of ${texts.size} shipped templates rendered directly`);
});

test.run();
