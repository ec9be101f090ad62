// A table-driven tester for step types, in the manner of ESLint's RuleTester: one call per step
// type checks its contract and messages, validates `with:` blocks through the engine's own
// validator, and runs plan() with drivers that throw on any use (and with sockets refused), so a
// plan() that does I/O fails. run() and verify() are tested against the lab, in the same files.
//
//   stepTester.run(definition, {
//     valid: [{ pollInterval: '30s' }],
//     invalid: [{ with: { pollInterval: 5 }, errors: [{ code: 'wrong-type', path: '/with/pollInterval' }] }],
//     plan: [{ with: {}, summary: /polling every 10s$/, sql: [{ target: 'sqlServer', text: /@dag/, params: { dag: 'dag1' } }], guards: [...] }],
//     impact: [{ with: {}, history: [...], impact: 'dataLoss' }],
//   });
import { Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Diagnostic, Impact, InputSpec, Inventory, JsonSchema, ReplicaTarget } from '../../engine/core/types.js';
import type { StepDefinition, StepHistoryEntry, StepPlanResult, Unknown } from '../../engine/step-api/types.js';
import { checkStepDefinition } from '../../engine/step-api/contract.js';
import { isDefinedStep } from '../../engine/step-api/define-step.js';
import { resolveImpact } from '../../engine/step-api/impact.js';
import { placeholders } from '../../engine/step-api/messages.js';
import { ajv } from '../../engine/validate/schemas.js';
import { validateRunbook } from '../../engine/validate/runbook.js';
import { resolveInputs } from '../../engine/load/inputs.js';
import { buildPlan } from '../../engine/plan/build.js';
import { parseDuration } from '../../engine/core/duration.js';
import { labInventory } from '../../lab/inventory.js';

type With = Record<string, unknown>;

/** A `with:` block the engine's validator accepts; as a case, with the step's target and the runbook's inputs. */
export type ValidCase = With | { with: With; target?: ReplicaTarget; inputs?: Record<string, InputSpec>; name?: string };

export interface ExpectedDiagnostic {
  /** The diagnostic's code, e.g. `missing-required`, `unknown-key`, `wrong-type`. */
  code?: string;
  /** A fragment of its message, or a pattern. */
  message?: string | RegExp;
  /** Its JSON pointer relative to the step, e.g. `/with/pollInterval` or `/target`. */
  path?: string;
}

export interface InvalidCase {
  name?: string;
  with: With;
  target?: ReplicaTarget;
  inputs?: Record<string, InputSpec>;
  /** Every error the validator reports for the step, in order (warnings are not compared). */
  errors: ExpectedDiagnostic[];
}

export interface PlanCase {
  name?: string;
  /** The arguments as plan() receives them: rendered, with `unknown(from)` for values known after apply. */
  with: With;
  target?: ReplicaTarget;
  /** The steps before this one (ctx.history); leave out to plan with none passed. */
  history?: StepHistoryEntry[];
  inventory?: Inventory;
  /** The impact this use resolves to (also what ctx.impact says). */
  impact?: Impact;
  summary?: string | RegExp;
  /**
   * Each replica's SQL: the replicas in order, the text exactly, by one pattern or several, and
   * the parameters sent with it (`@name` values, as run() sends them), exactly; `null`: none.
   */
  sql?: Array<{ target: ReplicaTarget; text?: string | RegExp | RegExp[]; params?: Record<string, unknown> | null }>;
  /** The guards, exactly or by pattern; `null` when the plan has none. */
  guards?: Array<string | RegExp> | null;
  /** Anything else to assert about the result. */
  check?: (result: StepPlanResult) => void;
}

export interface ImpactCase {
  with: With;
  history?: StepHistoryEntry[];
  impact: Impact;
}

export interface StepCases {
  valid?: ValidCase[];
  invalid?: InvalidCase[];
  plan?: PlanCase[];
  impact?: ImpactCase[];
}

export interface TesterOptions {
  /** Built-in step types and the example plugin are written with defineStep; a bare plugin object may not be. */
  definedWithDefineStep?: boolean;
}

/** A value plan() sees as "known after apply". */
export function unknown(from: string): Unknown {
  return { unknown: true, from };
}

const isCase = (v: ValidCase): v is { with: With; target?: ReplicaTarget; inputs?: Record<string, InputSpec>; name?: string } =>
  typeof v === 'object' && v !== null && 'with' in v && typeof v.with === 'object' && v.with !== null && !Array.isArray(v.with);

function label(w: unknown): string {
  const text = JSON.stringify(w);
  return text.length > 90 ? `${text.slice(0, 87)}...` : text;
}

/** The case's `target:`; without one, `primary` for a step type that requires a target. `target: undefined` means none. */
function targetOf(def: StepDefinition<any>, c: { target?: ReplicaTarget }): ReplicaTarget | undefined {
  if ('target' in c) return c.target;
  return def.target === 'required' ? 'primary' : undefined;
}

/** What the engine's validator says about one step of this type with this `with:`. */
async function validateStep(def: StepDefinition<any>, block: With, target: ReplicaTarget | undefined, inputs: Record<string, InputSpec> | undefined) {
  const step: Record<string, unknown> = { id: 'tested', type: def.type, with: block };
  if (target !== undefined) step.target = target;
  const runbook: Record<string, unknown> = { name: 'step-tester', description: `Exercises ${def.type}.`, steps: [step] };
  if (inputs) runbook.inputs = inputs;
  // JSON is YAML: the validator reads it as any runbook, positions and all.
  const result = await validateRunbook(`step-tester/${def.type}.yml`, { steps: { [def.type]: async () => ({ default: def }) }, text: JSON.stringify(runbook, null, 2) });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  return { result, errors };
}

function relative(d: Diagnostic): string | undefined {
  return d.path?.replace(/^\/steps\/0/, '');
}

function shownDiagnostics(ds: Diagnostic[]): string {
  return ds.map((d) => `${d.code} ${relative(d) ?? ''}: ${d.message}`).join('\n') || '(none)';
}

/** Runs `fn` with every new TCP/TLS connection refused: the plan may not talk to anything. */
function withoutSockets<T>(fn: () => T): T {
  const connect = Socket.prototype.connect;
  Socket.prototype.connect = function refuse(): never {
    throw new Error('plan() opened a network connection; plan must not do I/O');
  } as typeof connect;
  try {
    return fn();
  } finally {
    Socket.prototype.connect = connect;
  }
}

/** The drivers of a plan context: any use is a test failure, named. */
const throwingDrivers = {
  sql: () => {
    throw new Error('plan() called ctx.sql(); plan must not do I/O');
  },
  arm: () => {
    throw new Error('plan() called ctx.arm(); plan must not do I/O');
  },
  resolveTarget: () => {
    throw new Error('plan() called ctx.resolveTarget(); plan must not do I/O');
  },
};

/** plan() with a context whose drivers throw and with sockets refused; a Promise back is a failure too. */
function planWithoutIo(def: StepDefinition<any>, ctx: Record<string, unknown>, args: With): StepPlanResult {
  const result = withoutSockets(() => def.plan({ ...ctx, ...throwingDrivers } as never, args)) as unknown;
  assert.ok(result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then !== 'function', `${def.type}.plan() must return a plan synchronously`);
  const plan = result as StepPlanResult;
  assert.type(plan.summary, 'string', `${def.type}.plan() must return a summary`);
  return plan;
}

function matches(actual: string, expected: string | RegExp): boolean {
  return typeof expected === 'string' ? actual === expected : expected.test(actual);
}

function walk(schema: JsonSchema, path: string, visit: (path: string, s: JsonSchema) => void): void {
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (!props) return;
  for (const [name, sub] of Object.entries(props)) {
    visit(`${path}.${name}`, sub);
    walk(sub, `${path}.${name}`, visit);
  }
}

function contractTests(t: ReturnType<typeof suite>, def: StepDefinition<any>, options: TesterOptions): void {
  t('contract: checkStepDefinition finds nothing missing; a frozen defineStep literal', () => {
    assert.equal(checkStepDefinition(def, def.type), []);
    assert.ok(def.description.length > 20, `${def.type}: the description says what the step does`);
    for (const [name, spec] of Object.entries(def.outputs)) assert.ok(spec.description.length > 5, `${def.type} output ${name} has no description`);
    if (options.definedWithDefineStep !== false) {
      assert.ok(isDefinedStep(def), `${def.type} is written with defineStep`);
      assert.ok(Object.isFrozen(def), 'nothing is added to a step type after its literal');
    }
  });

  t('with: a valid JSON Schema (draft-07 meta-schema), closed objects, every property described, no defaults in it', () => {
    const schema = def.with;
    assert.ok(ajv().validateSchema(schema), `${def.type}.with: ${ajv().errorsText()}`);
    assert.is(schema.type, 'object');
    assert.is(schema.additionalProperties, false, `${def.type}: additionalProperties: false`);
    walk(schema, 'with', (path, s) => {
      assert.type(s.description, 'string', `${def.type} ${path} has no description`);
      assert.ok((s.description as string).trim().length > 0, `${def.type} ${path} has an empty description`);
      assert.not.ok('default' in s, `${def.type} ${path}: defaults live in the step's defaults, not the schema`);
      if (s.type === 'object' && s.properties) assert.is(s.additionalProperties, false, `${def.type} ${path}: additionalProperties: false`);
    });
  });

  t('defaults: each names a with: property, is a valid value for it, and its description says so', () => {
    const props = (def.with.properties ?? {}) as Record<string, JsonSchema>;
    for (const [name, value] of Object.entries(def.defaults ?? {})) {
      const prop = props[name];
      assert.ok(prop, `${def.type}: default for \`${name}\`, which is not a with: property`);
      const check = ajv().compile(prop);
      assert.ok(check(value), `${def.type}: default ${JSON.stringify(value)} for \`${name}\` fails its own schema: ${ajv().errorsText(check.errors)}`);
      // `format: duration` is the engine's own rule (engine/validate/rules/values.ts), not ajv's.
      if (prop.format === 'duration') {
        assert.not.throws(() => parseDuration(String(value)), `${def.type}: default ${JSON.stringify(value)} for \`${name}\` fails its own schema: not a duration`);
      }
      assert.ok(String(prop.description).includes(String(value)), `${def.type}: the description of \`${name}\` should name its default ${String(value)}`);
    }
  });

  t('messages: ids in lowerCamel; sentences (capital first, full stop last) with well-formed {{placeholders}}', () => {
    for (const [id, template] of Object.entries(def.messages ?? {})) {
      assert.match(id, /^[a-z][A-Za-z0-9]*$/, `${def.type} message id ${id}`);
      assert.match(template, /^[A-Z]/, `${def.type} message ${id} starts with a capital letter`);
      assert.match(template, /\.$/, `${def.type} message ${id} ends with a full stop`);
      const names = placeholders(template);
      for (const name of names) assert.match(name, /^[a-z][A-Za-z0-9]*$/, `${def.type} message ${id}: placeholder {{${name}}}`);
      const rest = template.replace(/\{\{\s*\w+\s*\}\}/g, '');
      assert.not.match(rest, /\{\{|\}\}/, `${def.type} message ${id}: a brace that is not a {{placeholder}}`);
    }
  });

  t('{}: rejected for each required property, else valid and planned without I/O', async () => {
    const required = (def.with.required ?? []) as string[];
    const target = def.target === 'required' ? 'primary' : undefined;
    const { errors, result } = await validateStep(def, {}, target, undefined);
    if (required.length > 0) {
      assert.equal(errors.map((d) => d.code), required.map(() => 'missing-required'), shownDiagnostics(errors));
      for (const name of required) assert.ok(errors.some((d) => d.message.includes(`\`${name}\``)), `${def.type}: {} should be refused for missing \`${name}\`\n${shownDiagnostics(errors)}`);
    } else {
      assert.equal(errors, [], `${def.type}: {} should be a valid with:\n${shownDiagnostics(errors)}`);
      planValidated(def, result.runbook!, undefined);
    }
  });
}

/** The engine's own buildPlan over a validated tester runbook, with plan() given throwing drivers. */
function planValidated(def: StepDefinition<any>, runbook: NonNullable<Awaited<ReturnType<typeof validateRunbook>>['runbook']>, inventory: Inventory | undefined): void {
  const guarded: StepDefinition<any> = { ...def, plan: (ctx, args) => planWithoutIo(def, ctx as never, args) };
  const inputs = resolveInputs(runbook, []);
  assert.equal(inputs.diagnostics, []);
  const plan = buildPlan({
    runbook,
    source: '',
    inventory: inventory ?? labInventory(),
    inputs: inputs.inputs,
    steps: new Map([[def.type, { definition: guarded, plugin: false }]]),
  });
  assert.is(plan.steps.length, 1);
}

export const stepTester = {
  /** Registers and runs a suite `<type> (step tester)`: the contract, then every table entry. */
  run(definition: StepDefinition<any>, cases: StepCases, options: TesterOptions = {}): void {
    const def = definition;
    const t = suite(`${def.type} (step tester)`);
    contractTests(t, def, options);

    for (const entry of cases.valid ?? []) {
      const c = isCase(entry) ? entry : { with: entry };
      const target = targetOf(def, c);
      t(`valid: ${c.name ?? label(c.with)}`, async () => {
        const { errors, result } = await validateStep(def, c.with, target, c.inputs);
        assert.equal(errors, [], `${def.type}: expected no errors for ${label(c.with)}\n${shownDiagnostics(errors)}`);
        planValidated(def, result.runbook!, undefined);
      });
    }

    for (const c of cases.invalid ?? []) {
      const target = targetOf(def, c);
      t(`invalid: ${c.name ?? label(c.with)}`, async () => {
        assert.ok(c.errors.length > 0, 'an invalid case names the errors it expects');
        const { errors } = await validateStep(def, c.with, target, c.inputs);
        const report = `${def.type} ${label(c.with)}:\n${shownDiagnostics(errors)}`;
        assert.is(errors.length, c.errors.length, report);
        c.errors.forEach((expected, i) => {
          const got = errors[i]!;
          if (expected.code !== undefined) assert.is(got.code, expected.code, report);
          if (expected.path !== undefined) assert.is(relative(got), expected.path, report);
          if (expected.message !== undefined) {
            assert.ok(typeof expected.message === 'string' ? got.message.includes(expected.message) : expected.message.test(got.message), `${report}\nexpected a message like ${String(expected.message)}`);
          }
        });
      });
    }

    for (const c of cases.plan ?? []) {
      t(`plan: ${c.name ?? label(c.with)}`, () => {
        const history = c.history ?? [];
        const impact = resolveImpact(def, c.with, history);
        if (c.impact !== undefined) assert.is(impact, c.impact, `${def.type}: impact of ${label(c.with)}`);
        const ctx: Record<string, unknown> = { stepId: 'planned', inventory: c.inventory ?? labInventory(), impact };
        if (c.target !== undefined) ctx.target = c.target;
        if (c.history !== undefined) ctx.history = c.history.map((h) => ({ ...h }));
        const plan = planWithoutIo(def, ctx, c.with);
        if (c.summary !== undefined) assert.ok(matches(plan.summary, c.summary), `summary: ${plan.summary}\nexpected: ${String(c.summary)}`);
        if (c.sql !== undefined) {
          assert.equal(plan.sql?.map((s) => s.target), c.sql.map((s) => s.target), 'the replicas the SQL is for');
          c.sql.forEach((s, i) => {
            for (const text of s.text === undefined ? [] : Array.isArray(s.text) ? s.text : [s.text]) {
              assert.ok(matches(plan.sql![i]!.text, text), `sql[${i}]:\n${plan.sql![i]!.text}\nexpected: ${String(text)}`);
            }
            if (s.params === null) assert.is(plan.sql![i]!.params, undefined, `sql[${i}] has no parameters`);
            else if (s.params !== undefined) assert.equal(plan.sql![i]!.params, s.params, `sql[${i}] parameters`);
          });
        }
        if (c.guards === null) assert.is(plan.guards, undefined, `guards: ${JSON.stringify(plan.guards)}`);
        else if (c.guards !== undefined) {
          assert.is(plan.guards?.length, c.guards.length, `guards: ${JSON.stringify(plan.guards)}`);
          c.guards.forEach((g, i) => assert.ok(matches(plan.guards![i]!, g), `guards[${i}]: ${plan.guards![i]}\nexpected: ${String(g)}`));
        }
        c.check?.(plan);
      });
    }

    for (const c of cases.impact ?? []) {
      t(`impact: ${label(c.with)} after ${(c.history ?? []).map((h) => `${h.type}:${h.state}`).join(', ') || 'nothing'} is ${c.impact}`, () => {
        assert.is(resolveImpact(def, c.with, c.history ?? []), c.impact);
      });
    }

    t.run();
  },
};
