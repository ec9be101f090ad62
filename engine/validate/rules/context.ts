// What a semantic rule sees: the loaded document, the steps as written, the resolved step types,
// and a way to report. Rules are small functions that push diagnostics and never throw.
import { diag, type Diagnostic } from '../../core/diagnostics.js';
import type { LoadedYaml } from '../../load/yaml.js';
import type { JsonSchema } from '../../core/types.js';
import { isRecord } from '../../core/record.js';
import type { StepDefinition } from '../../step-api/types.js';

export interface RawStep {
  index: number;
  pointer: string;
  value: Record<string, unknown>;
  id?: string;
  type?: string;
}

export interface RuleContext {
  file: string;
  doc: LoadedYaml;
  root: Record<string, unknown>;
  steps: RawStep[];
  /** Declared inputs (only well-formed entries). */
  inputs: Record<string, Record<string, unknown>>;
  /** Step definitions by type name, for the types that loaded. */
  definitions: Map<string, StepDefinition>;
  /** Every type name a step may use (built-ins and plugins). */
  knownTypes: string[];
  inventorySchema: JsonSchema;
  diagnostics: Diagnostic[];
}

export type Rule = (ctx: RuleContext) => void;

export function report(ctx: RuleContext, code: string, message: string, pointer: string, which: 'value' | 'key' = 'value'): void {
  ctx.diagnostics.push(diag(code, message, { file: ctx.file, ...ctx.doc.locate(pointer, which), path: pointer }));
}

export function reportAt(ctx: RuleContext, code: string, message: string, pointer: string, pos: { line: number; column: number }): void {
  ctx.diagnostics.push(diag(code, message, { file: ctx.file, ...pos, path: pointer }));
}

/** Every string in a nested value, with its pointer. */
export function* strings(value: unknown, pointer: string): Generator<[string, string]> {
  if (typeof value === 'string') yield [pointer, value];
  else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* strings(value[i], `${pointer}/${i}`);
  else if (isRecord(value)) for (const [k, v] of Object.entries(value)) yield* strings(v, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
}
