// The one evaluator of runbook templates: renders the tree engine/template/language.ts made from
// Handlebars' parse. Strict: a variable that is not there is an error, never an empty string; a
// value written into text must be text, a number or true/false (null, a list or an object is an
// error, never "" or "[object Object]"); nothing is HTML-escaped. Conditions follow Handlebars'
// #if (false, 0, "", null and an empty list are false), and so do and, or and not.
import { TemplateError, type TemplatePosition } from './error.js';
import type { Expression, Piece } from './language.js';
import { HELPERS, isTrue } from './helpers.js';

/** Walks a variable's path from the root, own properties only. */
function read(context: object, expr: Extract<Expression, { kind: 'variable' }>): unknown {
  let v: unknown = context;
  for (let i = 0; i < expr.parts.length; i++) {
    const part = expr.parts[i]!;
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, part) || (v as Record<string, unknown>)[part] === undefined) {
      const known = expr.parts.slice(0, i + 1).join('.');
      throw new TemplateError(`\`${expr.path}\` is not defined${known !== expr.path ? ` (no \`${known}\`)` : ''}.`, { path: expr.path, ...expr.at });
    }
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** An expression's value in `context` (engine/template/explain.ts reads the parts of a condition). */
export function value(expr: Expression, context: object): unknown {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'variable':
      return read(context, expr);
    case 'call': {
      const args = expr.args.map((a) => value(a, context));
      try {
        return HELPERS[expr.helper]!.fn(...args);
      } catch (e) {
        throw new TemplateError(`Template failed: ${(e as Error).message}.`, expr.at);
      }
    }
  }
}

function asText(v: unknown, expr: Expression, at: TemplatePosition): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  const what = expr.kind === 'variable' ? `\`${expr.path}\`` : expr.kind === 'call' ? `\`${expr.helper}\`'s result` : 'null';
  const path = expr.kind === 'variable' ? { path: expr.path } : {};
  const where = expr.kind === 'literal' ? at : expr.at;
  if (v === null) {
    const fallback = expr.kind === 'variable' ? ` Write {{default ${expr.path} '...'}} to give it one.` : '';
    throw new TemplateError(`${what} is null: it has no value to write.${fallback}`, { ...path, ...where });
  }
  const field = expr.kind === 'variable' ? ` Read one of its fields, e.g. \`${expr.path}.<name>\`.` : '';
  throw new TemplateError(`${what} is ${Array.isArray(v) ? 'a list' : 'an object'}: a template writes text, numbers and true/false.${field}`, { ...path, ...where });
}

export function renderPieces(pieces: readonly Piece[], context: object): string {
  let out = '';
  for (const p of pieces) {
    if (p.kind === 'text') out += p.text;
    else if (p.kind === 'output') out += asText(value(p.value, context), p.value, p.at);
    else out += renderPieces(isTrue(value(p.condition, context)) === p.negate ? p.otherwise : p.then, context);
  }
  return out;
}
