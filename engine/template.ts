// Handlebars for runbooks: strict (a missing variable is an error, never an empty string), no HTML
// escaping (this is T-SQL, not HTML), and helpers that quote T-SQL identifiers and strings.
// Values that only exist after earlier steps ran are `Unknown`; a template that touches one
// renders to an Unknown too, so a plan can say "(known after apply)" instead of failing.
import { createRequire } from 'node:module';
import type { Unknown } from './types.js';

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

export function isUnknown(v: unknown): v is Unknown {
  return typeof v === 'object' && v !== null && (v as { unknown?: unknown }).unknown === true && typeof (v as { from?: unknown }).from === 'string';
}

export function unknownValue(from: string): Unknown {
  return { unknown: true, from };
}

/** The longest T-SQL identifier (sysname). */
const MAX_IDENTIFIER = 128;

function scalarText(helper: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  throw new Error(`${helper} needs a string, got ${v === null ? 'null' : typeof v}`);
}

/** `[name]` with `]` doubled: safe for any T-SQL identifier. */
export function quoteIdent(v: unknown): string {
  const s = scalarText('ident', v);
  if (s === '') throw new Error('ident of an empty string: an identifier cannot be empty');
  if ([...s].length > MAX_IDENTIFIER) throw new Error(`ident: identifier longer than ${MAX_IDENTIFIER} characters`);
  if (s.includes('\0')) throw new Error('ident: identifier contains a NUL character');
  return `[${s.replace(/]/g, ']]')}]`;
}

/** `N'text'` with `'` doubled: a Unicode T-SQL string literal. */
export function quoteString(v: unknown): string {
  const s = scalarText('str', v);
  if (s.includes('\0')) throw new Error('str: text contains a NUL character');
  return `N'${s.replace(/'/g, "''")}'`;
}

type HelperArgs = unknown[];
const withoutOptions = (args: HelperArgs): unknown[] => args.slice(0, -1);

export const HELPERS: Record<string, (...args: HelperArgs) => unknown> = {
  ident: (v) => quoteIdent(v),
  str: (v) => quoteString(v),
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  and: (...args) => withoutOptions(args).every(Boolean),
  or: (...args) => withoutOptions(args).some(Boolean),
  not: (v) => !v,
  default: (v, fallback) => (v === undefined || v === null || v === '' ? fallback : v),
  gt: (a, b) => compareNumbers('gt', a, b) > 0,
  gte: (a, b) => compareNumbers('gte', a, b) >= 0,
  lt: (a, b) => compareNumbers('lt', a, b) < 0,
  lte: (a, b) => compareNumbers('lte', a, b) <= 0,
  versionAtLeast: (v, min) => compareVersions(v, min) >= 0,
  otherSide: (v) => otherSideOf(v),
};

/** Numbers compare as numbers; numeric text (LSNs, counts read as text) compares exactly as BigInt. */
function compareNumbers(helper: string, a: unknown, b: unknown): number {
  const asNumber = (v: unknown): number | bigint => {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'bigint') return v;
    if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return BigInt(v.trim());
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
    throw new Error(`${helper} compares numbers, got ${v === null ? 'null' : JSON.stringify(v)}`);
  };
  const x = asNumber(a);
  const y = asNumber(b);
  if (typeof x === 'bigint' && typeof y === 'bigint') return x < y ? -1 : x > y ? 1 : 0;
  const nx = Number(x);
  const ny = Number(y);
  return nx < ny ? -1 : nx > ny ? 1 : 0;
}

/** Dotted versions (SERVERPROPERTY('ProductVersion'), e.g. 16.0.4125.3) compared part by part; missing parts are 0. */
export function compareVersions(a: unknown, b: unknown): number {
  const parts = (v: unknown): number[] => {
    const text = scalarText('versionAtLeast', v).trim();
    if (!/^\d+(\.\d+)*$/.test(text)) throw new Error(`versionAtLeast: ${JSON.stringify(text)} is not a version such as 16.0.4125`);
    return text.split('.').map(Number);
  };
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** The other side of the link: sqlServer <-> managedInstance. */
function otherSideOf(v: unknown): string {
  if (v === 'sqlServer') return 'managedInstance';
  if (v === 'managedInstance') return 'sqlServer';
  throw new Error(`otherSide needs sqlServer or managedInstance, got ${JSON.stringify(v)}`);
}
/** Helpers a runbook may use: ours plus Handlebars' conditionals. */
export const KNOWN_HELPERS: ReadonlySet<string> = new Set([...Object.keys(HELPERS), 'if', 'unless']);

let instance: HandlebarsApi | undefined;
function handlebars(): HandlebarsApi {
  if (!instance) {
    // The single-file build loads in about a third of the time of the package's many CJS modules.
    const require = createRequire(import.meta.url);
    const base = require('handlebars/dist/handlebars.js') as HandlebarsApi;
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

interface AstNode {
  type: string;
  loc?: { start: { line: number; column: number } };
  [k: string]: unknown;
}

const analyses = new Map<string, TemplateAnalysis>();

/** Variables and helpers a template uses; throws TemplateError on a syntax error. */
export function analyzeTemplate(text: string): TemplateAnalysis {
  const cached = analyses.get(text);
  if (cached) return cached;
  let ast: AstNode;
  try {
    ast = handlebars().parse(text) as unknown as AstNode;
  } catch (e) {
    throw syntaxError(e, text);
  }
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
