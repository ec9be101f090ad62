// Validation of runbooks in two passes, collecting every finding: (1) shape: the runbook schema,
// then each step's `with:` against its type's schema; (2) meaning: the rules in engine/validate/rules/.
import { diag, hasErrors, sortDiagnostics, type Diagnostic } from '../core/diagnostics.js';
import { isFleetDocument, validateLoadedInventory, type InventoryResult } from './inventory.js';
import { loadYaml, readSource, type LoadedYaml } from '../load/yaml.js';
import type { PluginOptions } from '../load/plugins.js';
import type { RawStep, Rule, RuleContext } from './rules/context.js';
import { isRecord } from '../core/record.js';
import { schemaDiagnostics } from './schema-diagnostics.js';
import { isMissingSqlImpact, readsThatWrite, reservedSql, sqlImpactDeclared, sqlSplices } from './rules/sql.js';
import { sessionStateNotKept } from './rules/session-state.js';
import { duplicateStepIds, knownStepTypes, stepTargets } from './rules/steps.js';
import { templates } from './rules/templates.js';
import { durations, inputDefaults } from './rules/values.js';
import { documentValidator, readSchema, withValidator } from './schemas.js';
import type { InputSpec, Runbook, StepSpec } from '../core/types.js';
import type { StepDefinition, StepModuleMap } from '../step-api/types.js';

/** The semantic pass, in the order findings read best. Each rule is independent. */
const rules: Rule[] = [inputDefaults, duplicateStepIds, knownStepTypes, stepTargets, durations, templates, sqlImpactDeclared, sqlSplices, readsThatWrite, reservedSql, sessionStateNotKept];

export { validateInventory } from './inventory.js';
export type { InventoryResult } from './inventory.js';

export interface ValidateOptions {
  /** Built-in step types (steps/index.ts, or test-only types). */
  steps: StepModuleMap;
  text?: string;
  plugins?: Omit<PluginOptions, 'builtins'>;
}

export interface RunbookResult {
  runbook?: Runbook;
  diagnostics: Diagnostic[];
  source: string;
  /** Every step type the runbook may use: built-ins plus its plugins (plan reads definitions here). */
  steps?: StepModuleMap;
  /** Plugin step type -> module file. */
  pluginFiles?: Map<string, string>;
}

export async function validateRunbook(file: string, opts: ValidateOptions): Promise<RunbookResult> {
  return validateLoadedRunbook(file, loadYaml(file, opts.text), opts);
}

async function validateLoadedRunbook(file: string, doc: LoadedYaml, opts: ValidateOptions): Promise<RunbookResult> {
  const diagnostics = [...doc.diagnostics];
  const done = (extra: Partial<RunbookResult> = {}): RunbookResult => ({ diagnostics: sortDiagnostics(diagnostics), source: doc.source, ...extra });
  if (doc.value === undefined) return done();
  if (!isRecord(doc.value)) {
    diagnostics.push(diag('wrong-type', 'A runbook must be a mapping with name, description and steps.', { file, ...doc.locate(''), path: '' }));
    return done();
  }
  const root = doc.value;
  const schema = readSchema('runbook');
  const validate = documentValidator('runbook');
  if (!validate(root)) diagnostics.push(...schemaDiagnostics(validate.errors, { file, schema, data: root, base: '', locate: doc.locate }));

  // Step types: built-ins, plus the runbook's plugins.
  let steps: StepModuleMap = opts.steps;
  let pluginFiles = new Map<string, string>();
  const pluginList = Array.isArray(root.plugins) ? root.plugins.filter((p): p is string => typeof p === 'string') : [];
  if (pluginList.length > 0) {
    // Loaded only for a runbook that has plugins (start-up budget, README "Development").
    const { loadPlugins } = await import('../load/plugins.js');
    const loaded = await loadPlugins(file, pluginList, (p) => doc.locate(p), { ...opts.plugins, builtins: Object.keys(opts.steps) });
    diagnostics.push(...loaded.diagnostics);
    steps = { ...opts.steps, ...loaded.steps };
    pluginFiles = loaded.pluginFiles;
  }

  const rawSteps: RawStep[] = [];
  if (Array.isArray(root.steps)) {
    root.steps.forEach((value, index) => {
      if (!isRecord(value)) return;
      const step: RawStep = { index, pointer: `/steps/${index}`, value };
      if (typeof value.id === 'string') step.id = value.id;
      if (typeof value.type === 'string') step.type = value.type;
      rawSteps.push(step);
    });
  }
  const definitions = await loadDefinitions(file, doc, rawSteps, steps, diagnostics);

  for (const step of rawSteps) {
    const def = step.type === undefined ? undefined : definitions.get(step.type);
    if (!def) continue;
    const data = step.value.with ?? {};
    if (!isRecord(data)) continue; // the runbook schema already said `with` must be a mapping
    let check;
    try {
      check = withValidator(def, { plugin: pluginFiles.has(def.type) });
    } catch (e) {
      diagnostics.push(diag('step-schema-invalid', `The \`with:\` schema of step type \`${def.type}\` does not compile: ${(e as Error).message}`, { file, ...doc.locate(`${step.pointer}/type`), path: `${step.pointer}/type` }));
      continue;
    }
    if (!check(data)) {
      diagnostics.push(...schemaDiagnostics(check.errors, {
        file, schema: def.with, data, base: `${step.pointer}/with`, locate: doc.locate,
        suffix: ` (step type \`${def.type}\`)`, skipTemplates: true, ignore: (e) => isMissingSqlImpact(def.type, e),
      }));
    }
  }

  const inputs: Record<string, Record<string, unknown>> = {};
  if (isRecord(root.inputs)) for (const [k, v] of Object.entries(root.inputs)) if (isRecord(v)) inputs[k] = v;
  const ctx: RuleContext = {
    file, doc, root, steps: rawSteps, inputs, definitions,
    knownTypes: Object.keys(steps), inventorySchema: readSchema('inventory'), diagnostics,
  };
  for (const rule of rules) rule(ctx);

  if (hasErrors(diagnostics)) return done({ steps, pluginFiles });
  return done({ runbook: toRunbook(file, root), steps, pluginFiles });
}

async function loadDefinitions(file: string, doc: LoadedYaml, rawSteps: RawStep[], steps: StepModuleMap, diagnostics: Diagnostic[]): Promise<Map<string, StepDefinition>> {
  const definitions = new Map<string, StepDefinition>();
  const types = [...new Set(rawSteps.map((s) => s.type).filter((t): t is string => t !== undefined && Object.prototype.hasOwnProperty.call(steps, t)))];
  await Promise.all(
    types.map(async (type) => {
      try {
        definitions.set(type, (await steps[type]!()).default);
      } catch (e) {
        const first = rawSteps.find((s) => s.type === type)!;
        diagnostics.push(diag('step-load-failed', `Step type \`${type}\` failed to load: ${String((e as Error)?.message ?? e).split('\n')[0]}`, { file, ...doc.locate(`${first.pointer}/type`), path: `${first.pointer}/type` }));
      }
    }),
  );
  return definitions;
}

function toRunbook(file: string, root: Record<string, unknown>): Runbook {
  const steps = (root.steps as Array<Record<string, unknown>>).map((s) => ({ ...s, with: (s.with as Record<string, unknown> | undefined) ?? {} }) as unknown as StepSpec);
  const runbook: Runbook = {
    name: root.name as string,
    description: root.description as string,
    inputs: (root.inputs as Record<string, InputSpec> | undefined) ?? {},
    steps,
    file,
  };
  if (Array.isArray(root.plugins)) runbook.plugins = root.plugins as string[];
  if (root.outcomes && typeof root.outcomes === 'object') runbook.outcomes = root.outcomes as Runbook['outcomes'] & object;
  return runbook;
}

export interface FilesResult {
  diagnostics: Diagnostic[];
  /** file -> source text, for rendering carets. */
  sources: Map<string, string>;
  kinds: Map<string, 'runbook' | 'inventory' | 'unknown'>;
}

/** `runbook validate a.yml b.yml`: each file is a runbook (top-level `steps:`) or an inventory (`link:`). */
export async function validateFiles(files: string[], opts: Omit<ValidateOptions, 'text'>): Promise<FilesResult> {
  const out: FilesResult = { diagnostics: [], sources: new Map(), kinds: new Map() };
  for (const file of files) {
    const read = readSource(file);
    if (read.text === undefined) {
      out.diagnostics.push(...read.diagnostics);
      out.kinds.set(file, 'unknown');
      continue;
    }
    const doc = loadYaml(file, read.text);
    out.sources.set(file, doc.source);
    const v = doc.value;
    let result: { diagnostics: Diagnostic[] };
    if (isRecord(v) && 'steps' in v) {
      out.kinds.set(file, 'runbook');
      result = await validateLoadedRunbook(file, doc, opts);
    } else if (isRecord(v) && ('link' in v || isFleetDocument(v))) {
      out.kinds.set(file, 'inventory');
      result = validateLoadedInventory(file, doc) as InventoryResult;
    } else {
      out.kinds.set(file, 'unknown');
      const d = [...doc.diagnostics];
      if (doc.value !== undefined || d.length === 0) {
        d.push(diag('unknown-document', 'Neither a runbook (no top-level `steps:`) nor an inventory (no top-level `link:` or `links:`).', { file, ...doc.locate(''), path: '' }));
      }
      result = { diagnostics: d };
    }
    out.diagnostics.push(...sortDiagnostics(result.diagnostics));
  }
  return out;
}

