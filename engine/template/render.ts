// Runbook templates, rendered: Handlebars parses (engine/template/syntax.ts), the template
// language decides what is allowed (language.ts), and our evaluator renders (evaluate.ts): strict
// (a missing variable is an error, never an empty string), no HTML escaping (this is T-SQL, not
// HTML), and helpers that quote T-SQL identifiers and strings (helpers.ts).
// Values that only exist after earlier steps ran are `Unknown`; a template that touches one
// renders to an Unknown too, so a plan can say "(known after apply)" instead of failing.
import type { Unknown } from '../step-api/types.js';
import { isUnknown } from '../step-api/args.js';
import { TemplateError } from './error.js';
import { renderPieces } from './evaluate.js';
import { checkTemplate, type CheckedTemplate, type TemplateProblem } from './language.js';
import { parseTemplate } from './syntax.js';

export { TemplateError } from './error.js';
export type { TemplateProblem, TemplateRef } from './language.js';
export { compareVersions, quoteIdent, quoteString } from './helpers.js';

export function unknownValue(from: string): Unknown {
  return { unknown: true, from };
}

export type TemplateAnalysis = CheckedTemplate;

const checked = new Map<string, CheckedTemplate>();

/**
 * What a template reads and calls, and everything in it outside the template language (each with
 * its position); throws TemplateError on a syntax error. Cached: validate and plan read the same texts.
 */
export function analyzeTemplate(text: string): TemplateAnalysis {
  let analysis = checked.get(text);
  if (!analysis) {
    analysis = checkTemplate(parseTemplate(text));
    if (checked.size > 5000) checked.clear();
    checked.set(text, analysis);
  }
  return analysis;
}

/** Variable paths a template reads, e.g. `inputs.direction`, `steps.before.outputs.secondary`. */
export function templateReferences(text: string): string[] {
  return [...new Set(analyzeTemplate(text).references.map((r) => r.path))];
}

export function isTemplate(text: string): boolean {
  return text.includes('{{');
}

function problemError(p: TemplateProblem): TemplateError {
  return new TemplateError(p.message, { line: p.line, column: p.column });
}

type Lookup = { kind: 'value'; value: unknown } | { kind: 'unknown'; from: string } | { kind: 'missing'; at: string };

/** Walks a dotted path; stops at the first Unknown or missing segment. */
export function lookupPath(context: unknown, path: string): Lookup {
  let v: unknown = context;
  const parts = path.split('.');
  for (let i = 0; i < parts.length; i++) {
    if (isUnknown(v)) return { kind: 'unknown', from: path };
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, parts[i]!)) {
      return { kind: 'missing', at: parts.slice(0, i + 1).join('.') };
    }
    v = (v as Record<string, unknown>)[parts[i]!];
  }
  if (isUnknown(v)) return { kind: 'unknown', from: path };
  return v === undefined ? { kind: 'missing', at: path } : { kind: 'value', value: v };
}

/** Renders one template; an Unknown when it reads a value not known until apply. */
export function renderTemplate(text: string, context: object): string | Unknown {
  if (!isTemplate(text)) return text;
  const { pieces, references, problems } = analyzeTemplate(text);
  let unknown: Unknown | undefined;
  for (const ref of references) {
    const found = lookupPath(context, ref.path);
    if (found.kind === 'unknown') {
      unknown = unknownValue(found.from);
      break;
    }
    if (found.kind === 'missing') {
      throw new TemplateError(`\`${ref.path}\` is not defined${found.at !== ref.path ? ` (no \`${found.at}\`)` : ''}.`, { path: ref.path, line: ref.line, column: ref.column });
    }
  }
  // Refused even when a value is unknown: what is outside the language never waits for apply.
  if (problems.length > 0) throw problemError(problems[0]!);
  return unknown ?? renderPieces(pieces, context);
}

/** Renders every string in a nested value (a step's `with:`); strings that read Unknowns become Unknown. */
export function renderValue(value: unknown, context: object): unknown {
  if (typeof value === 'string') return renderTemplate(value, context);
  if (Array.isArray(value)) return value.map((v) => renderValue(v, context));
  if (value !== null && typeof value === 'object' && !isUnknown(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderValue(v, context);
    return out;
  }
  return value;
}

/** A `when:` condition: `true`, `false`, or Unknown (decided at run time). */
export function renderWhen(text: string, context: object): boolean | Unknown {
  const r = renderTemplate(text, context);
  if (isUnknown(r)) return r;
  const t = r.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  throw new TemplateError(`\`when:\` must render to true or false, got ${JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t)}.`);
}
