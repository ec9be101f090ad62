import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isUnknown } from '../../../engine/step-api/args.js';
import { analyzeTemplate, renderTemplate, renderValue, renderWhen, templateReferences, TemplateError, unknownValue } from '../../../engine/template/render.js';
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

// The one evaluator, on a corpus. The expected texts are what Handlebars (compiled with strict and
// noEscape) rendered for the same templates when it was the second evaluator; the cases where the
// language now says otherwise on purpose are in the tests after this one.
const corpusContext = {
  a: "x]y'z Ωmega 🚀", b: { c: 'd', '0': 'zero' }, e: '', n: 3, z: 0, t: true, f: false, arr: [1, 2], obj: { k: 'v' }, nul: null,
  lsn: '98765432109876543210987', v: '16.0.4125.3', side: 'sqlServer', html: '<a & "b">',
};
const rendered: Array<[string, string]> = [
  ['plain {{a}} text', "plain x]y'z Ωmega 🚀 text"],
  ['{{b.c}}', 'd'],
  ['{{ident a}}', "[x]]y'z Ωmega 🚀]"],
  ['{{str a}}', "N'x]y''z Ωmega 🚀'"],
  ['{{str e}}', "N''"],
  ["{{eq a 'x'}}", 'false'],
  ['{{ne n 3}}', 'false'],
  ['{{eq n 3}}', 'true'],
  ['{{and t f}}', 'false'],
  ['{{and t (not f) (or f t)}}', 'true'],
  ['{{or f (not t)}}', 'false'],
  ['{{not e}}', 'true'],
  ["{{default e 'fallback'}}", 'fallback'],
  ["{{default a 'fallback'}}", "x]y'z Ωmega 🚀"],
  ["{{default nul 'none'}}", 'none'],
  ['{{gt n 2}}', 'true'],
  ["{{lte lsn '98765432109876543210988'}}", 'true'],
  ["{{versionAtLeast v '16.0.4125'}}", 'true'],
  ['{{otherSide side}}', 'managedInstance'],
  ['{{~ a ~}}  b', "x]y'z Ωmega 🚀b"],
  [' a {{~a}} ', " ax]y'z Ωmega 🚀 "],
  ['x \\{{a}} y', 'x {{a}} y'],
  ['{{! comment }}{{a}}', "x]y'z Ωmega 🚀"],
  ['{{!-- c --}}z', 'z'],
  ['{{n}}', '3'],
  ['{{z}}', '0'],
  ['{{t}}', 'true'],
  ['{{f}}', 'false'],
  ['{{eq nul null}}', 'true'],
  ['{{arr.length}}', '2'],
  ['{{html}}', '<a & "b">'],
  ['{{str html}}', `N'<a & "b">'`],
  ['{{eq 1 1}}', 'true'],
  ["{{eq 'a' \"a\"}}", 'true'],
  ['SELECT {{str a}}\nGO\nALTER AVAILABILITY GROUP {{ident b.c}} FAILOVER;', "SELECT N'x]y''z Ωmega 🚀'\nGO\nALTER AVAILABILITY GROUP [d] FAILOVER;"],
  ['{{ident (otherSide side)}}', '[managedInstance]'],
  ['{{b.[0]}}', 'zero'],
  ['{{#if t}}yes{{else}}no{{/if}}', 'yes'],
  ['{{#if f}}yes{{else}}no{{/if}}', 'no'],
  ['{{#if z}}yes{{else}}no{{/if}}', 'no'],
  ['{{#if e}}yes{{/if}}', ''],
  ['{{#if arr}}[{{arr.length}}]{{/if}}', '[2]'],
  ['{{#if nul}}y{{else if t}}chained {{a}}{{else}}n{{/if}}', "chained x]y'z Ωmega 🚀"],
  ['{{#unless f}}{{a}}{{/unless}}', "x]y'z Ωmega 🚀"],
  ['{{#unless t}}x{{else}}{{ident a}}{{/unless}}', "[x]]y'z Ωmega 🚀]"],
  ["{{#if (eq side 'sqlServer')}}SECONDARY{{else}}PRIMARY{{/if}}", 'SECONDARY'],
  ['a\n  {{#if t}}\n  line\n  {{/if}}\nb', 'a\n  line\nb'],
  ['{{~#if t~}} x {{~/if~}}', 'x'],
];
const refused: Array<[string, RegExp]> = [
  ['{{ident e}}', /^Template failed: ident of an empty string: an identifier cannot be empty\.$/],
  ["{{versionAtLeast side '1'}}", /^Template failed: versionAtLeast: "sqlServer" is not a version such as 16\.0\.4125\.$/],
  ['{{otherSide a}}', /^Template failed: otherSide needs sqlServer or managedInstance, got "x\]y'z Ωmega 🚀"\.$/],
];

test('the evaluator renders the corpus as Handlebars did, and helpers refuse with the same messages', () => {
  for (const [text, expected] of rendered) {
    assert.equal(analyzeTemplate(text).problems, [], text);
    assert.is(renderTemplate(text, corpusContext), expected, text);
  }
  for (const [text, message] of refused) assert.throws(() => renderTemplate(text, corpusContext), message, text);
  assert.is(renderTemplate('{{#if arr}}some{{else}}none{{/if}}', { ...corpusContext, arr: [] }), 'none', 'an empty list is false');
});

test('null, a list or an object is never written as text', () => {
  const failure = (text: string) => {
    try {
      renderTemplate(text, corpusContext);
    } catch (e) {
      assert.instance(e, TemplateError);
      return e as TemplateError;
    }
    throw new Error(`${text} rendered`);
  };
  // Handlebars wrote "", "1,2" and "[object Object]" for these.
  assert.match(failure('{{nul}}').message, "`nul` is null: it has no value to write. Write {{default nul '...'}} to give it one.");
  assert.match(failure('x {{arr}}').message, '`arr` is a list: a template writes text, numbers and true/false.');
  const obj = failure('{{obj}}');
  assert.match(obj.message, '`obj` is an object: a template writes text, numbers and true/false. Read one of its fields, e.g. `obj.<name>`.');
  assert.equal([obj.path, obj.line, obj.column], ['obj', 1, 3]);
  assert.match(failure("{{default nul obj}}").message, "`default`'s result is an object");
});

// Everything Handlebars can do beyond the language is refused where it is written, with a reason;
// each of these rendered something (or failed at run time) when Handlebars evaluated what the
// direct evaluator could not.
const outside: Array<[string, string, string]> = [
  ['{{#each arr}}{{this}}{{/each}}', '1:1', '`{{#each}}` blocks are not part of runbook templates: only {{#if}}, {{#unless}} and {{else}}. A step that needs a loop or another context is a step type.'],
  ['x\n {{#with obj}}{{k}}{{/with}}', '2:2', '`{{#with}}` blocks are not part of runbook templates'],
  ['{{{{raw}}}} {{a}} {{{{/raw}}}}', '1:1', '`{{#raw}}` blocks are not part of runbook templates'],
  ['{{^t}}no{{/t}}', '1:1', '`{{#t}}` blocks are not part of runbook templates'],
  ['{{> partial}}', '1:1', '`{{> ...}}` partials are not part of runbook templates.'],
  ['{{#> layout}}x{{/layout}}', '1:1', '`{{> ...}}` partials are not part of runbook templates.'],
  ['{{* decorator}}', '1:1', '`{{* ...}}` decorators are not part of runbook templates.'],
  ['a {{{a}}}', '1:3', '`{{{...}}}` and `{{& ...}}` turn off HTML escaping, which runbook templates never do: write `{{...}}`.'],
  ['{{& a}}', '1:1', 'turn off HTML escaping'],
  ['{{@root.a}}', '1:3', "`@root.a`: Handlebars' @ variables (@root, @index, @key...) are not part of runbook templates"],
  ['{{eq @index 0}}', '1:6', "`@index`: Handlebars' @ variables"],
  ['{{../a}}', '1:3', '`../a`: `../` paths are not part of runbook templates (there is one context)'],
  ['{{this}}', '1:3', '`this`: `this` is not part of runbook templates'],
  ['{{this.a}}', '1:3', '`this.a`: `this` is not part of runbook templates'],
  ['{{./a}}', '1:3', '`./a`: `this` is not part of runbook templates'],
  ['{{b/c}}', '1:3', '`b/c`: write paths with dots (`b.c`).'],
  ['{{[a.b]}}', '1:3', 'a name in [ ] cannot be empty or hold a dot'],
  ['{{lookup obj "k"}}', '1:3', "Unknown template helper `lookup`. Handlebars' own helpers are not part of runbook templates. Helpers: ident, str, eq,"],
  ['{{log a}}', '1:3', 'Unknown template helper `log`.'],
  ["{{eqq a 'x'}}", '1:3', 'Unknown template helper `eqq`. Did you mean `eq`?'],
  ['{{b.c t}}', '1:3', '`b.c` is not a helper; a call starts with the helper\'s name.'],
  ['{{ident a x=1}}', '1:11', '`x=...`: named (key=value) arguments are not part of runbook templates; helpers take plain arguments.'],
  ['{{#if t includeZero=true}}y{{/if}}', '1:9', '`includeZero=...`: named (key=value) arguments'],
  ['{{#if t f}}y{{/if}}', '1:1', '`{{#if}}` takes one condition, got 2.'],
  ['{{#unless}}y{{/unless}}', '1:1', '`{{#unless}}` takes one condition, got 0.'],
  ['{{#if t as |x|}}y{{/if}}', '1:1', '`as |...|` block parameters are not part of runbook templates.'],
  ['{{if t}}', '1:3', '`if` is a block: write {{#if condition}}...{{/if}}.'],
  ['{{and}}', '1:3', '`and` takes 2 or more arguments, got 0.'],
  ['{{and t}}', '1:3', '`and` takes 2 or more arguments, got 1.'],
  ['{{ident}}', '1:3', '`ident` takes 1 argument, got 0.'],
  ['{{eq a}}', '1:3', '`eq` takes 2 arguments, got 1.'],
  ['{{not t f}}', '1:3', '`not` takes 1 argument, got 2.'],
  ['{{eq a undefined}}', '1:8', '`undefined` is not part of runbook templates'],
  ['{{"text"}}', '1:3', '`{{"text"}}`: a literal alone is not a template; write the text itself.'],
  ['{{true}}', '1:3', 'a literal alone is not a template'],
  ["{{('eq') a}}", '1:3', 'Template syntax error'],
];

test('everything outside the language is refused at its line:column, by analysis and by rendering', () => {
  for (const [text, where, message] of outside) {
    let error: unknown;
    try {
      renderTemplate(text, corpusContext);
    } catch (e) {
      error = e;
    }
    assert.instance(error, TemplateError, text);
    const e = error as TemplateError;
    assert.ok(e.message.includes(message), `${text}: ${e.message}`);
    assert.is(`${e.line}:${e.column}`, where, `${text}: ${e.message}`);
    if (!message.startsWith('Template syntax error')) {
      const { problems } = analyzeTemplate(text);
      assert.ok(problems.length > 0 && problems[0]!.message === e.message, text);
    }
  }
  const codes = (text: string) => analyzeTemplate(text).problems.map((p) => `${p.code}@${p.line}:${p.column}`);
  assert.equal(codes("{{lookup obj 'k'}} {{eq a}}\n{{#each arr}}{{/each}}"), ['unknown-helper@1:3', 'helper-arguments@1:22', 'template-unsupported@2:1']);
});

test('a block that does not close where it opened is a syntax error at the block', () => {
  try {
    renderTemplate('x {{#if t}}y{{/unless}}', corpusContext);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TemplateError);
    assert.is((e as TemplateError).message, "Template syntax error: if doesn't match unless.");
    assert.is(`${(e as TemplateError).line}:${(e as TemplateError).column}`, '1:6');
  }
});

test('a helper that refuses its value is reported at the call', () => {
  try {
    renderTemplate("SELECT 1;\nALTER AVAILABILITY GROUP {{ident e}} FAILOVER;", corpusContext);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TemplateError);
    assert.is(`${(e as TemplateError).line}:${(e as TemplateError).column}`, '2:28');
  }
});

test("every template in the shipped runbooks is inside the language, and its if/else renders as written", () => {
  const dir = join(root, 'runbooks');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
  assert.ok(files.length >= 5, 'the shipped runbooks are there');
  const texts = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.includes('{{')) texts.add(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const f of files) walk(loadYaml(join(dir, f)).value);
  assert.ok(texts.size >= 40, `${texts.size} templates found`);
  for (const text of texts) assert.equal(analyzeTemplate(text).problems, [], text);
  const primary = "{{#if (eq inputs.direction 'toManagedInstance')}}sqlServer{{else}}managedInstance{{/if}}";
  assert.ok(texts.has(primary), 'planned-failover.yml still chooses the source this way');
  assert.is(renderTemplate(primary, { inputs: { direction: 'toManagedInstance' } }), 'sqlServer');
  assert.is(renderTemplate(primary, { inputs: { direction: 'toSqlServer' } }), 'managedInstance');
});

test.run();
