// A runbook's inputs as an operator reads them: name, value (or default), type, allowed values and
// description. The plan shows them with the values it used; `runbook inputs <runbook>` without.
import type { InputSpec } from '../core/types.js';
import type { PlanValue } from '../plan/types.js';

function literal(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** `one of a, b`, the type, `multi-line`, `secret`: what a value must be, in a few words. */
export function inputConstraints(spec: InputSpec): string {
  const parts: string[] = [];
  if (spec.enum) parts.push(`one of ${spec.enum.map(literal).join(', ')}`);
  else parts.push(spec.type);
  if (spec.multiline) parts.push('multi-line');
  if (spec.secret) parts.push('secret');
  return parts.join(', ');
}

/**
 * One line per input, names and values aligned: `name = value  [constraints]  description`. With
 * `values` (a plan's resolved inputs) each shows its value; without, its default or `(required)`.
 */
export function inputLines(specs: Record<string, InputSpec>, values?: Record<string, PlanValue>, indent = '  '): string[] {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const value = values && Object.hasOwn(values, name) ? literal(values[name]) : spec.default !== undefined ? literal(spec.default) : undefined;
    const head = values ? `${name} = ${value ?? ''}` : value !== undefined ? `${name} (default ${value})` : `${name} (required)`;
    return { head, tail: [`[${inputConstraints(spec)}]`, spec.description?.trim() ?? ''].filter(Boolean).join('  ') };
  });
  const width = Math.max(0, ...rows.map((r) => r.head.length));
  return rows.map((r) => `${indent}${r.head.padEnd(width)}  ${r.tail}`.trimEnd());
}
