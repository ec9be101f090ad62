// `runbook list-steps`: every built-in step type, described from its own definition and schema.
import type { Impact } from '../core/types.js';
import type { StepDefinition } from '../step-api/types.js';
import { loadAllBuiltins } from '../step-api/registry.js';
import { stepModules } from '../../steps/index.js';
import type { CommandIO } from './io.js';

export interface StepField {
  name: string;
  type: string;
  required: boolean;
  description: string;
  default?: unknown;
  enum?: unknown[];
}

export interface StepTypeInfo {
  type: string;
  description: string;
  /** A function-valued impact depends on the arguments and the steps before it. */
  impact: Impact | 'depends';
  target: 'required' | 'optional' | 'none';
  outputs: Array<{ name: string; description: string }>;
  with: StepField[];
}

function typeOf(schema: Record<string, unknown>): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (typeof schema.type === 'string') return schema.type;
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  if (Array.isArray(schema.oneOf) || Array.isArray(schema.anyOf)) {
    return ((schema.oneOf ?? schema.anyOf) as Record<string, unknown>[]).map(typeOf).join(' | ');
  }
  return 'any';
}

export function describeStep(def: StepDefinition<any>): StepTypeInfo {
  const props = (def.with.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set((def.with.required ?? []) as string[]);
  return {
    type: def.type,
    description: def.description,
    impact: typeof def.impact === 'function' ? 'depends' : def.impact,
    target: def.target,
    outputs: Object.entries(def.outputs ?? {}).map(([name, o]) => ({ name, description: o.description })),
    with: Object.entries(props).map(([name, schema]) => {
      const field: StepField = { name, type: typeOf(schema), required: required.has(name), description: String(schema.description ?? '') };
      // A step type's defaults live in its definition (defineStep's `defaults`), never in the schema.
      const fallback = def.defaults?.[name];
      if (fallback !== undefined) field.default = fallback;
      return field;
    }),
  };
}

export async function listSteps(): Promise<StepTypeInfo[]> {
  return (await loadAllBuiltins(stepModules)).map(describeStep);
}

export function renderStepsText(steps: StepTypeInfo[]): string {
  if (steps.length === 0) return 'No step types are registered (steps/index.ts is empty).\n';
  const out: string[] = [];
  for (const s of steps) {
    out.push(`${s.type}  [${s.impact === 'depends' ? 'impact depends on arguments' : s.impact}]  target: ${s.target}`);
    out.push(`  ${s.description}`);
    if (s.with.length) {
      out.push('  with:');
      for (const f of s.with) {
        const extra = f.default !== undefined ? ` (default ${JSON.stringify(f.default)})` : '';
        out.push(`    ${f.name}${f.required ? '' : '?'}: ${f.type}${extra}  ${f.description}`);
      }
    }
    if (s.outputs.length) {
      out.push('  outputs:');
      for (const o of s.outputs) out.push(`    ${o.name}  ${o.description}`);
    }
    out.push('');
  }
  return out.join('\n');
}

export async function listStepsCommand(opts: { format: 'text' | 'json' }, io: CommandIO): Promise<number> {
  const steps = await listSteps();
  io.stdout.write(opts.format === 'json' ? JSON.stringify(steps, null, 2) + '\n' : renderStepsText(steps));
  return 0;
}
