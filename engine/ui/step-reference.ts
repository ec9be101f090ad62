// The README's "Step reference", rendered from the step definitions and their `with:` schemas,
// the same source as validation and `runbook list-steps`. `npm run docs` writes it between the
// markers; test/engine/ui/step-reference.test.ts fails when the committed text differs.
import type { JsonSchema } from '../core/types.js';
import type { StepDefinition } from '../step-api/types.js';

export const DOCS_START = '<!-- steps:start -->';
export const DOCS_END = '<!-- steps:end -->';

export interface SchemaField {
  /** Dotted for nested objects, e.g. `expect.rows`. */
  name: string;
  type: string;
  required: boolean;
  description?: string;
  default?: unknown;
}

function typeText(schema: Record<string, unknown>): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' or ');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (Array.isArray(schema.type)) return schema.type.join(' or ');
  if (typeof schema.type === 'string') {
    if (schema.type === 'string' && schema.format === 'duration') return 'duration';
    return schema.type;
  }
  const alternatives = (schema.oneOf ?? schema.anyOf) as Record<string, unknown>[] | undefined;
  if (Array.isArray(alternatives)) return alternatives.map(typeText).join(' or ');
  return 'any';
}

/** Every property of a `with:` schema, nested objects flattened, in declaration order. */
export function schemaFields(schema: JsonSchema, prefix = ''): SchemaField[] {
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set((schema.required ?? []) as string[]);
  const out: SchemaField[] = [];
  for (const [name, prop] of Object.entries(props)) {
    const field: SchemaField = { name: prefix + name, type: typeText(prop), required: required.has(name) };
    if (typeof prop.description === 'string' && prop.description.trim() !== '') field.description = prop.description;
    if (prop.default !== undefined) field.default = prop.default;
    out.push(field);
    if (prop.properties) out.push(...schemaFields(prop as JsonSchema, `${prefix}${name}.`));
  }
  return out;
}

/** Properties (dotted) whose schema has no description: each is a gap in the docs. */
export function undocumentedFields(def: StepDefinition<any>): string[] {
  return schemaFields(def.with).filter((f) => f.description === undefined).map((f) => f.name);
}

function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').trim();
}

function impactText(def: StepDefinition<any>): string {
  if (typeof def.impact === 'string') return `\`${def.impact}\``;
  return 'depends on the arguments and the steps before it (see the description)';
}

const TARGET_TEXT: Record<StepDefinition<any>['target'], string> = {
  required: 'required (`sqlServer`, `managedInstance`, `primary` or `secondary`)',
  optional: 'optional',
  none: 'none (the step works on the link as a whole)',
};

export function renderStepDoc(def: StepDefinition<any>): string {
  const out = [`### \`${def.type}\``, '', def.description.trim(), ''];
  out.push(`- Impact: ${impactText(def)}`);
  out.push(`- Target: ${TARGET_TEXT[def.target]}`);
  const probed = !def.probe ? 'no' : typeof def.impact === 'string' ? 'yes (reads only)' : 'yes, for uses whose impact is `read` (reads only)';
  out.push(`- Probed by \`plan --probe\`: ${probed}`);
  out.push('');
  const fields = schemaFields(def.with);
  if (fields.length) {
    out.push('| `with:` field | type | required | default | description |', '| --- | --- | --- | --- | --- |');
    for (const f of fields) {
      // The step's declared defaults (defineStep's `defaults`); a plugin may still put one in its schema.
      const fallback = def.defaults?.[f.name] ?? f.default;
      const dflt = fallback === undefined ? '' : `\`${JSON.stringify(fallback)}\``;
      out.push(`| \`${f.name}\` | ${cell(f.type)} | ${f.required ? 'yes' : 'no'} | ${dflt} | ${cell(f.description ?? '')} |`);
    }
  } else out.push('No `with:` fields.');
  out.push('');
  const outputs = Object.entries(def.outputs ?? {});
  if (outputs.length) {
    out.push('| output | description |', '| --- | --- |');
    for (const [name, o] of outputs) out.push(`| \`${name}\` | ${cell(o.description)} |`);
  } else out.push('No outputs.');
  return out.join('\n');
}

/** The whole generated section, markers included; definitions sorted by type name. */
export function renderStepReference(defs: StepDefinition<any>[]): string {
  const sorted = [...defs].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  const index = sorted.map((d) => `[\`${d.type}\`](#${d.type.toLowerCase()})`).join(' · ');
  return [
    DOCS_START,
    '<!-- Generated from steps/*.ts by `npm run docs`; edit the step definitions, not this text. -->',
    '',
    `${sorted.length} step types: ${index}`,
    '',
    ...sorted.flatMap((d) => [renderStepDoc(d), '']),
    DOCS_END,
  ].join('\n');
}

/** The README with its step reference replaced; throws when the markers are missing. */
export function replaceStepReference(readme: string, section: string): string {
  const start = readme.indexOf(DOCS_START);
  const end = readme.indexOf(DOCS_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${DOCS_START} ... ${DOCS_END} markers under "## Step reference"`);
  return readme.slice(0, start) + section + readme.slice(end + DOCS_END.length);
}

/** The committed section, markers included, or undefined when the markers are missing. */
export function committedStepReference(readme: string): string | undefined {
  const start = readme.indexOf(DOCS_START);
  const end = readme.indexOf(DOCS_END);
  return start < 0 || end < start ? undefined : readme.slice(start, end + DOCS_END.length);
}
