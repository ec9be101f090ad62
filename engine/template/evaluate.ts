// Direct evaluation of simple templates from their Handlebars syntax tree.
import { HELPERS } from './helpers.js';

/** A node of Handlebars' syntax tree (only the fields we read). */
export interface AstNode {
  type: string;
  loc?: { start: { line: number; column: number } };
  [k: string]: unknown;
}

/*
 * Most runbook templates are text around `{{path}}`, `{{helper arg ...}}` with our own helpers,
 * literals and plain paths, and `{{#if}}`/`{{#unless}}` blocks. Those are evaluated straight from
 * the syntax tree: Handlebars' code generation is the largest part of what templates cost
 * `runbook plan`. Anything else (other blocks, partials, hash arguments, `@data`, `../`, `this`,
 * Handlebars' other helpers, a value that is a function) goes to Handlebars itself. Same output either way; test/engine/template/render.test.ts
 * renders a corpus both ways and compares.
 */
type Eval = (context: object) => unknown;

/** Thrown while evaluating directly when only Handlebars can say what the template does. */
export class NeedsHandlebars extends Error {}

function plainPath(n: AstNode | undefined): string[] | undefined {
  if (!n || n.type !== 'PathExpression' || n.data || Number(n.depth ?? 0) !== 0) return undefined;
  const parts = n.parts as string[];
  if (parts.length === 0 || parts.some((p) => p === '' || p.includes('.')) || parts.join('.') !== n.original) return undefined;
  return parts;
}

function lookupParts(context: object, parts: readonly string[]): unknown {
  let v: unknown = context;
  for (const p of parts) {
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, p)) throw new NeedsHandlebars();
    v = (v as Record<string, unknown>)[p];
  }
  if (typeof v === 'function') throw new NeedsHandlebars();
  return v;
}

function hasHash(n: AstNode): boolean {
  const pairs = (n.hash as AstNode | undefined)?.pairs as unknown[] | undefined;
  return pairs !== undefined && pairs.length > 0;
}

function expression(n: AstNode): Eval | undefined {
  switch (n.type) {
    case 'StringLiteral':
    case 'NumberLiteral':
    case 'BooleanLiteral': {
      const v = n.value;
      return () => v;
    }
    case 'NullLiteral':
      return () => null;
    case 'UndefinedLiteral':
      return () => undefined;
    case 'PathExpression': {
      const parts = plainPath(n);
      return parts && ((context) => lookupParts(context, parts));
    }
    case 'SubExpression':
      return helperCall(n);
    default:
      return undefined;
  }
}

/** `helper arg ...` with one of our helpers and at least one argument. */
function helperCall(n: AstNode): Eval | undefined {
  const name = plainPath(n.path as AstNode | undefined);
  const params = (n.params as AstNode[] | undefined) ?? [];
  if (!name || name.length !== 1 || !Object.prototype.hasOwnProperty.call(HELPERS, name[0]!) || params.length === 0 || hasHash(n)) return undefined;
  const fn = HELPERS[name[0]!]!;
  const args = params.map(expression);
  if (args.some((a) => a === undefined)) return undefined;
  const evals = args as Eval[];
  // Handlebars passes an options object last; our helpers only ever drop it.
  const options = { name: name[0], hash: {} };
  return (context) => fn(...evals.map((a) => a(context)), options);
}

function mustache(n: AstNode, isHelper: (name: string) => boolean): Eval | undefined {
  if (hasHash(n)) return undefined;
  if (((n.params as AstNode[] | undefined) ?? []).length > 0) return helperCall(n);
  const parts = plainPath(n.path as AstNode | undefined);
  // `{{name}}` may call a helper of that name (ours or Handlebars' own): leave those to Handlebars.
  if (!parts || (parts.length === 1 && isHelper(parts[0]!))) return undefined;
  return (context) => lookupParts(context, parts);
}

/**
 * `{{#if x}}...{{else}}...{{/if}}` and `{{#unless x}}`: as Handlebars' own helpers, the first part
 * renders unless the value is falsy (0 included) or an empty list. Same context inside.
 */
function conditionalBlock(n: AstNode, isHelper: (name: string) => boolean): Eval | undefined {
  const name = plainPath(n.path as AstNode | undefined);
  const params = (n.params as AstNode[] | undefined) ?? [];
  if (!name || name.length !== 1 || (name[0] !== 'if' && name[0] !== 'unless') || params.length !== 1 || hasHash(n)) return undefined;
  const program = n.program as AstNode | undefined;
  const inverse = n.inverse as AstNode | undefined;
  if (((program?.blockParams as unknown[] | undefined) ?? []).length > 0) return undefined;
  const condition = expression(params[0]!);
  const yes = program ? renderProgram(program, isHelper) : () => '';
  const no = inverse ? renderProgram(inverse, isHelper) : () => '';
  if (!condition || !yes || !no) return undefined;
  const negate = name[0] === 'unless';
  return (context) => {
    const v = condition(context);
    if (typeof v === 'function') throw new NeedsHandlebars();
    const empty = !v || (Array.isArray(v) && v.length === 0);
    return empty !== negate ? no(context) : yes(context);
  };
}

function renderProgram(ast: AstNode, isHelper: (name: string) => boolean): ((context: object) => string) | undefined {
  const pieces: Array<string | Eval> = [];
  for (const n of ast.body as AstNode[]) {
    if (n.type === 'ContentStatement') pieces.push(String(n.value));
    else if (n.type === 'CommentStatement') continue;
    else {
      const e = n.type === 'MustacheStatement' ? mustache(n, isHelper) : n.type === 'BlockStatement' ? conditionalBlock(n, isHelper) : undefined;
      if (!e) return undefined;
      pieces.push(e);
    }
  }
  return (context) => {
    let out = '';
    for (const p of pieces) {
      if (typeof p === 'string') out += p;
      else {
        const v = p(context);
        // As Handlebars appends with noEscape: null and undefined add nothing.
        if (v !== null && v !== undefined) out += v as string;
      }
    }
    return out;
  };
}

/**
 * A renderer for the template's syntax tree, or undefined when only Handlebars can render it.
 * `isHelper(name)`: whether `{{name}}` would call a helper registered with Handlebars.
 */
export function directRenderer(ast: AstNode, isHelper: (name: string) => boolean): ((context: object) => string) | undefined {
  return renderProgram(ast, isHelper);
}
