// Handlebars for runbooks: strict (a missing variable is an error, never an empty string), no HTML
// escaping (this is T-SQL, not HTML), and helpers that quote T-SQL identifiers and strings.
// Values that only exist after earlier steps ran are `Unknown`; a template that touches one
// renders to an Unknown too, so a plan can say "(known after apply)" instead of failing.
import { createRequire } from 'node:module';
import type { Unknown } from '../step-api/types.js';
import { isUnknown } from '../step-api/args.js';
import { directRenderer, NeedsHandlebars, type AstNode } from './evaluate.js';
import { HELPERS, KNOWN_HELPERS } from './helpers.js';

export { compareVersions, HELPERS, KNOWN_HELPERS, quoteIdent, quoteString } from './helpers.js';

type HandlebarsApi = typeof import('handlebars');
type TemplateDelegate = (context: unknown) => string;

export class TemplateError extends Error {
  /** The variable path the error is about, when there is one. */
  readonly path?: string;
  /** 1-based position inside the template text, when known. */
  readonly line?: number;
  readonly column?: number;
  constructor(message: string, extra: { path?: string; line?: number; column?: number } = {}) {
    super(message);
    this.name = 'TemplateError';
    if (extra.path !== undefined) this.path = extra.path;
    if (extra.line !== undefined) this.line = extra.line;
    if (extra.column !== undefined) this.column = extra.column;
  }
}

export function unknownValue(from: string): Unknown {
  return { unknown: true, from };
}

let instance: HandlebarsApi | undefined;
function handlebars(): HandlebarsApi {
  if (!instance) {
    // The single-file build loads in about a third of the time of the package's many CJS modules;
    // its minified form (the same code) parses faster still.
    const require = createRequire(import.meta.url);
    const base = require('handlebars/dist/handlebars.min.js') as HandlebarsApi;
    instance = base.create();
    for (const [name, fn] of Object.entries(HELPERS)) instance.registerHelper(name, fn as never);
  }
  return instance;
}

export interface TemplateRef {
  path: string;
  line: number;
  column: number;
}

export interface TemplateAnalysis {
  references: TemplateRef[];
  helpers: TemplateRef[];
}

const analyses = new Map<string, TemplateAnalysis>();
const asts = new Map<string, AstNode>();

/** The template's syntax tree (cached; validation and plan read the same texts). */
function parse(text: string): AstNode {
  let ast = asts.get(text);
  if (!ast) {
    try {
      ast = handlebars().parse(text) as unknown as AstNode;
    } catch (e) {
      throw syntaxError(e, text);
    }
    if (asts.size > 5000) asts.clear();
    asts.set(text, ast);
  }
  return ast;
}

/** Variables and helpers a template uses; throws TemplateError on a syntax error. */
export function analyzeTemplate(text: string): TemplateAnalysis {
  const cached = analyses.get(text);
  if (cached) return cached;
  const ast = parse(text);
  const out: TemplateAnalysis = { references: [], helpers: [] };
  const at = (n: AstNode) => ({ line: n.loc?.start.line ?? 1, column: (n.loc?.start.column ?? 0) + 1 });
  const pathOf = (n: AstNode): string => {
    const parts = (n.parts as string[]).join('.');
    return `${n.data ? '@' : ''}${'../'.repeat(Number(n.depth ?? 0))}${parts || String(n.original)}`;
  };
  const expr = (n: AstNode | undefined): void => {
    if (!n) return;
    if (n.type === 'PathExpression') out.references.push({ path: pathOf(n), ...at(n) });
    else if (n.type === 'SubExpression') call(n, true);
  };
  const call = (n: AstNode, isHelper: boolean): void => {
    const p = n.path as AstNode;
    const params = (n.params as AstNode[] | undefined) ?? [];
    const pairs = ((n.hash as AstNode | undefined)?.pairs as AstNode[] | undefined) ?? [];
    const simpleName = p.type === 'PathExpression' && (p.parts as string[]).length === 1 && !p.data ? String(p.original) : undefined;
    if (isHelper || params.length > 0 || pairs.length > 0 || (simpleName !== undefined && KNOWN_HELPERS.has(simpleName))) {
      out.helpers.push({ path: simpleName ?? String(p.original), ...at(p) });
    } else expr(p);
    params.forEach(expr);
    pairs.forEach((pair) => expr(pair.value as AstNode));
  };
  const visit = (n: AstNode | undefined): void => {
    if (!n) return;
    if (n.type === 'Program') (n.body as AstNode[]).forEach(visit);
    else if (n.type === 'MustacheStatement') call(n, false);
    else if (n.type === 'BlockStatement' || n.type === 'DecoratorBlock') {
      call(n, true);
      visit(n.program as AstNode | undefined);
      visit(n.inverse as AstNode | undefined);
    } else if (n.type === 'PartialStatement' || n.type === 'PartialBlockStatement') {
      out.helpers.push({ path: '>partial', ...at(n) });
    }
  };
  visit(ast);
  if (analyses.size > 5000) analyses.clear();
  analyses.set(text, out);
  return out;
}

/** Variable paths a template reads, e.g. `inputs.direction`, `steps.before.outputs.secondary`. */
export function templateReferences(text: string): string[] {
  return [...new Set(analyzeTemplate(text).references.map((r) => r.path))];
}

export function isTemplate(text: string): boolean {
  return text.includes('{{');
}

/**
 * Jison's message shows the last 20 characters before the error with newlines removed, then a
 * caret; find the offset on the reported line whose preceding text matches, for an exact column.
 */
function errorColumn(text: string, line: number, shown: string): number {
  const truncated = shown.startsWith('...');
  const pre = truncated ? shown.slice(3) : shown;
  let lineStart = 0;
  for (let l = 1; l < line; l++) lineStart = text.indexOf('\n', lineStart) + 1;
  let lineEnd = text.indexOf('\n', lineStart);
  if (lineEnd === -1) lineEnd = text.length;
  for (let off = lineStart; off <= lineEnd; off++) {
    const past = text.slice(0, off).replace(/\n/g, '');
    if ((truncated ? past.slice(-20) : past) === pre) return off - lineStart + 1;
  }
  return 1;
}

function syntaxError(e: unknown, text: string): TemplateError {
  const msg = String((e as Error)?.message ?? e);
  const m = /^Parse error on line (\d+):\n([^\n]*)\n(-*)\^\n([^\n]*)/.exec(msg);
  if (m) {
    const got = /got '([^']+)'/.exec(m[4]!)?.[1];
    const expecting = /Expecting (.*), got/.exec(m[4]!)?.[1] ?? '';
    const hint = expecting.includes("'CLOSE'") ? ' (is a `}}` missing?)' : expecting.includes('OPEN_ENDBLOCK') || expecting.includes('INVERSE') ? ' (is a `{{/if}}` missing?)' : '';
    const what = got === 'EOF' ? 'the template ends too early' : `unexpected ${got === 'INVALID' ? 'character' : (got ?? 'token')}`;
    return new TemplateError(`Template syntax error: ${what}${hint}.`, { line: Number(m[1]), column: errorColumn(text, Number(m[1]), m[2]!.slice(0, m[3]!.length)) });
  }
  const lex = /^Parse error on line (\d+)/.exec(msg);
  const first = msg.split('\n')[0]!;
  return new TemplateError(`Template syntax error: ${first.replace(/\.$/, '')}.`, lex ? { line: Number(lex[1]), column: 1 } : {});
}

const compiled = new Map<string, TemplateDelegate>();
function compile(text: string): TemplateDelegate {
  let fn = compiled.get(text);
  if (!fn) {
    fn = handlebars().compile(text, { strict: true, noEscape: true }) as TemplateDelegate;
    if (compiled.size > 5000) compiled.clear();
    compiled.set(text, fn);
  }
  return fn;
}

const directs = new Map<string, ((context: object) => string) | null>();

/** The direct renderer of `text` (engine/template/evaluate.ts), or undefined: Handlebars renders it. */
function direct(text: string): ((context: object) => string) | undefined {
  let fn = directs.get(text);
  if (fn === undefined) {
    const helpers = handlebars().helpers as Record<string, unknown>;
    fn = directRenderer(parse(text), (name) => Object.prototype.hasOwnProperty.call(helpers, name)) ?? null;
    if (directs.size > 5000) directs.clear();
    directs.set(text, fn);
  }
  return fn ?? undefined;
}

/** Handlebars' own rendering, for tests that compare it with the direct one. */
export function renderWithHandlebars(text: string, context: object): string {
  return compile(text)(context);
}

/** Whether `text` is rendered without Handlebars' compiler (for tests). */
export function rendersDirectly(text: string): boolean {
  return direct(text) !== undefined;
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
  const { references } = analyzeTemplate(text);
  for (const ref of references) {
    if (ref.path.startsWith('@') || ref.path.startsWith('../') || ref.path === 'this') continue;
    const found = lookupPath(context, ref.path);
    if (found.kind === 'unknown') return unknownValue(found.from);
    if (found.kind === 'missing') {
      throw new TemplateError(`\`${ref.path}\` is not defined${found.at !== ref.path ? ` (no \`${found.at}\`)` : ''}.`, { path: ref.path, line: ref.line, column: ref.column });
    }
  }
  try {
    const fast = direct(text);
    if (fast) {
      try {
        return fast(context);
      } catch (e) {
        if (!(e instanceof NeedsHandlebars)) throw e;
      }
    }
    return compile(text)(context);
  } catch (e) {
    const err = e as { message?: string; lineNumber?: number; column?: number };
    const message = String(err.message ?? e).replace(/ - \d+:\d+$/, '').replace(/ in \[object Object\]$/, '');
    const extra: { line?: number; column?: number } = {};
    if (typeof err.lineNumber === 'number') extra.line = err.lineNumber;
    if (typeof err.column === 'number') extra.column = err.column + 1;
    throw new TemplateError(`Template failed: ${message}.`, extra);
  }
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
