// A `when:` condition in words, for the operator: why a step was skipped (`dropLinkAfter is false`,
// `rowCount of dag-on-sql-server is 0, not more than 0`) rather than the raw template. Each helper
// says which of its arguments decided it: `and` names the first false part, `or` every part, a
// comparison the value it compared. Anything else (text around the expression, an #if block)
// is not explained: the caller falls back to the template as written.
import type { Expression } from './language.js';
import { analyzeTemplate } from './render.js';
import { value } from './evaluate.js';
import { isTrue } from './helpers.js';

/** A variable as the operator knows it: an input by its name, an output as `name of step`. */
function nameOf(expr: Expression): string | undefined {
  if (expr.kind !== 'variable') return undefined;
  const [root, ...rest] = expr.parts;
  if (root === 'inputs' && rest.length) return rest.join('.');
  if (root === 'steps' && rest.length >= 3 && rest[1] === 'outputs') return `${rest.slice(2).join('.')} of ${rest[0]}`;
  return expr.path;
}

function shown(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const COMPARED: Record<string, [yes: string, no: string]> = {
  gt: ['more than', 'not more than'],
  gte: ['at least', 'less than'],
  lt: ['less than', 'not less than'],
  lte: ['at most', 'more than'],
  versionAtLeast: ['at least', 'older than'],
};

/** Why `expr` has the value it has, in words; undefined when it cannot be said plainly. */
function why(expr: Expression, context: object): string | undefined {
  if (expr.kind === 'literal') return undefined;
  const result = value(expr, context);
  if (expr.kind === 'variable') return `${nameOf(expr)} is ${shown(result)}`;
  const args = expr.args;
  switch (expr.helper) {
    case 'not':
      return why(args[0]!, context);
    case 'and':
    case 'or': {
      // What decided it: for a false `and` (a true `or`) the first part that did; otherwise all of them.
      const deciding = (expr.helper === 'and') === isTrue(result) ? args : [args.find((a) => isTrue(value(a, context)) === isTrue(result))!];
      const parts = deciding.map((a) => why(a, context));
      return parts.every((p) => p !== undefined) ? parts.join(' and ') : undefined;
    }
    case 'eq':
    case 'ne': {
      const [a, b] = nameOf(args[0]!) === undefined ? [args[1]!, args[0]!] : [args[0]!, args[1]!];
      const name = nameOf(a);
      if (name === undefined) return undefined;
      const va = value(a, context);
      const vb = value(b, context);
      return va === vb ? `${name} is ${shown(vb)}` : `${name} is ${shown(va)}, not ${shown(vb)}`;
    }
    default: {
      const words = COMPARED[expr.helper];
      const name = args[0] && nameOf(args[0]);
      if (!words || name === undefined) return undefined;
      return `${name} is ${shown(value(args[0]!, context))}, ${isTrue(result) ? words[0] : words[1]} ${shown(value(args[1]!, context))}`;
    }
  }
}

/** A `when:` that rendered false, in words; undefined when the template is not a single expression. */
export function explainWhen(text: string, context: object): string | undefined {
  try {
    const pieces = analyzeTemplate(text).pieces.filter((p) => !(p.kind === 'text' && p.text.trim() === ''));
    const only = pieces[0];
    if (pieces.length !== 1 || only?.kind !== 'output') return undefined;
    return why(only.value, context);
  } catch {
    return undefined;
  }
}
