// Rules about templates: they parse, stay inside the template language (engine/template/language.ts:
// known helpers with their number of arguments, #if/#unless, no loops, partials, `this` or @data),
// and read only variables that will exist: declared inputs, inventory fields, outputs that earlier
// steps declare, and run.id/started.
import { didYouMean } from '../../core/diagnostics.js';
import { analyzeTemplate, isTemplate, TemplateError } from '../../template/render.js';
import type { JsonSchema } from '../../core/types.js';
import { reportAt, report, strings, type RawStep, type RuleContext } from './context.js';
import { isRecord } from '../../core/record.js';

const ROOTS = ['inputs', 'link', 'steps', 'run'];
const RUN_FIELDS = ['id', 'started'];

export function templates(ctx: RuleContext): void {
  for (const step of ctx.steps) {
    for (const where of ['with', 'when']) {
      for (const [pointer, text] of strings(step.value[where], `${step.pointer}/${where}`)) {
        if (isTemplate(text)) checkTemplate(ctx, step, pointer, text);
      }
    }
    if (typeof step.value.when === 'string') checkWhenShape(ctx, step, step.value.when);
    // Plan and apply read these as they are written: a template here was never rendered.
    const plain: Array<[string, unknown]> = [
      ['timeout', step.value.timeout],
      ['retry/delay', isRecord(step.value.retry) ? step.value.retry.delay : undefined],
    ];
    for (const [where, value] of plain) {
      if (typeof value === 'string' && isTemplate(value)) {
        report(ctx, 'template-not-allowed', `\`${where.replace('/', '.')}:\` is a plain duration such as 30s; templates are rendered only in \`with:\` and \`when:\` (a step type's own duration arguments, e.g. waitLsnStable's \`with: { timeout: "{{inputs.lsnTimeout}}" }\`, may hold one).`, `${step.pointer}/${where}`);
      }
    }
  }
}

function checkWhenShape(ctx: RuleContext, step: RawStep, when: string): void {
  const t = when.trim();
  const single = t.startsWith('{{') && t.endsWith('}}') && t.indexOf('{{', 2) === -1;
  if (!single) {
    report(ctx, 'bad-when', `\`when:\` must be one template that renders to true or false, e.g. "{{eq inputs.direction 'toSqlServer'}}".`, `${step.pointer}/when`);
  }
}

function checkTemplate(ctx: RuleContext, step: RawStep, pointer: string, text: string): void {
  let analysis;
  try {
    analysis = analyzeTemplate(text);
  } catch (e) {
    const err = e as TemplateError;
    reportAt(ctx, 'template-syntax', err.message, pointer, ctx.doc.locateInValue(pointer, err.line ?? 1, err.column ?? 1));
    return;
  }
  const at = (r: { line: number; column: number }) => ctx.doc.locateInValue(pointer, r.line, r.column);
  // unknown-helper, helper-arguments, template-unsupported
  for (const p of analysis.problems) reportAt(ctx, p.code, p.message, pointer, at(p));
  for (const ref of analysis.references) {
    const problem = referenceProblem(ctx, step, ref.path);
    if (problem) reportAt(ctx, problem.code, problem.message, pointer, at(ref));
  }
}

interface Problem {
  code: string;
  message: string;
}

function referenceProblem(ctx: RuleContext, step: RawStep, path: string): Problem | undefined {
  const parts = path.split('.');
  const root = parts[0]!;
  const undef = (message: string): Problem => ({ code: 'undefined-variable', message });
  if (!ROOTS.includes(root)) {
    return undef(`\`${path}\` is not a variable; templates read inputs.<name>, link.<field>, steps.<id>.outputs.<name> and run.id/run.started.${didYouMean(root, ROOTS)}`);
  }
  if (root === 'inputs') {
    const name = parts[1];
    const declared = Object.keys(ctx.inputs);
    if (name === undefined) return undef('`inputs` needs a name: inputs.<name>.');
    if (!declared.includes(name)) return undef(`Input \`${name}\` is not declared under \`inputs:\`.${didYouMean(name, declared)}`);
    if (parts.length > 2) return undef(`Input \`${name}\` is a single value; \`${path}\` reads inside it.`);
    return undefined;
  }
  if (root === 'run') {
    if (parts.length !== 2 || !RUN_FIELDS.includes(parts[1]!)) return undef(`\`${path}\` is not defined; \`run\` has id and started.${didYouMean(parts[1] ?? '', RUN_FIELDS)}`);
    return undefined;
  }
  if (root === 'link') return linkProblem(ctx.inventorySchema, parts);
  return stepOutputProblem(ctx, step, path, parts);
}

function resolveRef(root: JsonSchema, s: JsonSchema): JsonSchema {
  const ref = s.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return s;
  let v: unknown = root;
  for (const seg of ref.slice(2).split('/')) v = isRecord(v) ? v[seg] : undefined;
  return isRecord(v) ? (v as JsonSchema) : s;
}

function linkProblem(inventorySchema: JsonSchema, parts: string[]): Problem | undefined {
  let node = resolveRef(inventorySchema, inventorySchema);
  for (let i = 0; i < parts.length; i++) {
    const props = isRecord(node.properties) ? node.properties : undefined;
    if (!props || !isRecord(props[parts[i]!])) {
      const so = parts.slice(0, i).join('.');
      const known = props ? Object.keys(props) : [];
      return {
        code: 'undefined-variable',
        message: `\`${parts.join('.')}\` is not in the inventory: \`${so}\` has no \`${parts[i]}\`.${didYouMean(parts[i]!, known)}`,
      };
    }
    node = resolveRef(inventorySchema, props[parts[i]!] as JsonSchema);
  }
  return undefined;
}

function stepOutputProblem(ctx: RuleContext, step: RawStep, path: string, parts: string[]): Problem | undefined {
  const [, id, outputs, name] = parts;
  // Deeper paths read inside an output (e.g. steps.version.outputs.first.version, a column of sqlExec's first row).
  if (id === undefined || outputs !== 'outputs' || name === undefined || parts.length < 4) {
    return { code: 'undefined-variable', message: `\`${path}\` is not a step output; write steps.<id>.outputs.<name>.` };
  }
  const ids = ctx.steps.filter((s) => s.id !== undefined).map((s) => s.id!);
  const target = ctx.steps.find((s) => s.id === id);
  if (!target) return { code: 'unknown-step', message: `No step has the id \`${id}\`.${didYouMean(id, ids)}` };
  if (target.index >= step.index) {
    const line = ctx.doc.locate(`${target.pointer}/id`).line;
    const when = target.index === step.index ? 'is this step itself' : `comes later (line ${line})`;
    return { code: 'forward-reference', message: `Step \`${id}\` ${when}; a step can only read outputs of steps before it.` };
  }
  const def = target.type === undefined ? undefined : ctx.definitions.get(target.type);
  if (!def) return undefined; // its type is unknown; that is reported once, on the step itself
  const declared = Object.keys(def.outputs ?? {});
  if (!declared.includes(name)) {
    const list = declared.length ? ` It declares: ${declared.join(', ')}.` : ' It declares no outputs.';
    return { code: 'unknown-output', message: `Step \`${id}\` (type \`${def.type}\`) has no output \`${name}\`.${didYouMean(name, declared)}${list}` };
  }
  return undefined;
}
