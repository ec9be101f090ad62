// The runbook template language: the part of Handlebars' syntax a runbook may use, checked on the
// syntax tree Handlebars parses (engine/template/syntax.ts) and turned into the small tree that
// engine/template/evaluate.ts evaluates. Everything else is a problem with its position, so
// `runbook validate` refuses it at file:line:col instead of it meaning something surprising later.
//
// The language (README "Templates"):
//   text, `{{! comments }}`, `\{{` for literal braces, `~` whitespace control;
//   `{{path}}`               inputs.<name>, link.<field...>, steps.<id>.outputs.<name...>, run.id/started
//                            (`[name]` for a segment that is not a plain word);
//   `{{helper arg ...}}`     one of engine/template/helpers.ts, with its number of arguments;
//   arguments                paths, 'text' or "text", numbers, true/false, null, `(helper arg ...)`;
//   `{{#if x}}...{{else if y}}...{{else}}...{{/if}}`, `{{#unless x}}...{{/unless}}`.
// Not in it: other blocks ({{#each}}, {{#with}}, raw blocks), partials, decorators, `{{{x}}}`/`{{& x}}`,
// @data variables (@root, @index), `this`, `../`, `a/b` paths, `key=value` arguments, block params,
// Handlebars' own helpers (lookup, log), `undefined`. Why each matters: every variable a template
// reads is then a plain path from the root, which validate can check and plan can resolve (or mark
// known after apply); nothing loops or switches context, and nothing escapes or formats behind the
// DBA's back.
import { didYouMean } from '../core/diagnostics.js';
import type { TemplatePosition } from './error.js';
import { HELPERS, isHelper, KNOWN_HELPERS } from './helpers.js';
import type { Program } from './syntax.js';

export type Expression =
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'variable'; path: string; parts: string[]; at: TemplatePosition }
  | { kind: 'call'; helper: string; args: Expression[]; at: TemplatePosition };

export type Piece =
  | { kind: 'text'; text: string }
  | { kind: 'output'; value: Expression; at: TemplatePosition }
  | { kind: 'if'; negate: boolean; condition: Expression; then: Piece[]; otherwise: Piece[] };

/** A variable read or a helper called, where. */
export interface TemplateRef extends TemplatePosition {
  path: string;
}

export type TemplateProblemCode = 'template-unsupported' | 'unknown-helper' | 'helper-arguments';

export interface TemplateProblem extends TemplatePosition {
  code: TemplateProblemCode;
  message: string;
}

export interface CheckedTemplate {
  /** What evaluate.ts renders; meaningful only when there are no problems. */
  pieces: Piece[];
  /** Every variable the template reads, in order. */
  references: TemplateRef[];
  /** Every helper it calls, in order. */
  helpers: TemplateRef[];
  /** Everything outside the language; empty for a template that may be rendered. */
  problems: TemplateProblem[];
}

/** The loose shape of Handlebars' nodes that this module reads (hbs.AST types, with their optional parts). */
interface Node {
  type: string;
  loc?: { start: { line: number; column: number } } | null;
  [field: string]: unknown;
}

const HANDLEBARS_HELPERS = new Set(['each', 'with', 'lookup', 'log', 'helperMissing', 'blockHelperMissing']);
const ROOTS_HINT = 'read inputs.<name>, link.<field>, steps.<id>.outputs.<name> or run.id/run.started';
const HELPER_LIST = `Helpers: ${[...KNOWN_HELPERS].join(', ')}; blocks: {{#if}}, {{#unless}}.`;

function at(n: Node | undefined): TemplatePosition {
  const start = n?.loc?.start;
  return start ? { line: start.line, column: start.column + 1 } : { line: 1, column: 1 };
}

const arrayOf = (v: unknown): Node[] => (Array.isArray(v) ? (v as Node[]) : []);
const hashPairs = (n: Node): Node[] => arrayOf((n.hash as Node | undefined)?.pairs);

/** `name` when the node is a plain one-word path (a helper's or block's name). */
function simpleName(n: Node | undefined): string | undefined {
  if (!n || n.type !== 'PathExpression' || n.data || Number(n.depth) !== 0) return undefined;
  const parts = n.parts as string[];
  return parts.length === 1 && parts[0] === n.original ? parts[0] : undefined;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function checkTemplate(ast: Program): CheckedTemplate {
  const out: CheckedTemplate = { pieces: [], references: [], helpers: [], problems: [] };
  const problem = (code: TemplateProblemCode, message: string, where: Node | undefined): void => {
    out.problems.push({ code, message, ...at(where) });
  };
  const unsupported = (message: string, where: Node | undefined) => problem('template-unsupported', message, where);

  const variable = (n: Node): Expression => {
    const original = String(n.original);
    const parts = n.parts as string[];
    const none: Expression = { kind: 'literal', value: null };
    if (n.data) {
      unsupported(`\`@${original.replace(/^@/, '')}\`: Handlebars' @ variables (@root, @index, @key...) are not part of runbook templates; ${ROOTS_HINT}.`, n);
      return none;
    }
    if (Number(n.depth) > 0) {
      unsupported(`\`${original}\`: \`../\` paths are not part of runbook templates (there is one context); ${ROOTS_HINT}.`, n);
      return none;
    }
    if (parts.length === 0 || /^(this|\.)([./]|$)/.test(original)) {
      unsupported(`\`${original}\`: \`this\` is not part of runbook templates; ${ROOTS_HINT}.`, n);
      return none;
    }
    if (parts.join('.') !== original) {
      unsupported(`\`${original}\`: write paths with dots (\`${parts.join('.')}\`).`, n);
      return none;
    }
    if (parts.some((p) => p === '' || p.includes('.'))) {
      unsupported(`\`${original}\`: a name in [ ] cannot be empty or hold a dot.`, n);
      return none;
    }
    const path = parts.join('.');
    out.references.push({ path, ...at(n) });
    return { kind: 'variable', path, parts, at: at(n) };
  };

  const expression = (n: Node): Expression => {
    switch (n.type) {
      case 'StringLiteral':
      case 'NumberLiteral':
      case 'BooleanLiteral':
        return { kind: 'literal', value: n.value as string | number | boolean };
      case 'NullLiteral':
        return { kind: 'literal', value: null };
      case 'UndefinedLiteral':
        unsupported('`undefined` is not part of runbook templates: no value is ever undefined (a missing variable is an error).', n);
        return { kind: 'literal', value: null };
      case 'PathExpression':
        return variable(n);
      case 'SubExpression':
        return call(n, true);
      default:
        unsupported(`\`${n.type}\` is not part of runbook templates.`, n);
        return { kind: 'literal', value: null };
    }
  };

  /** A mustache's or a subexpression's content: a helper call, or (a mustache only) a variable. */
  const call = (n: Node, subexpression: boolean): Expression => {
    const path = n.path as Node;
    const params = arrayOf(n.params);
    const pairs = hashPairs(n);
    if (pairs.length > 0) unsupported(`\`${String(pairs[0]!.key)}=...\`: named (key=value) arguments are not part of runbook templates; helpers take plain arguments.`, pairs[0]);
    if (path.type !== 'PathExpression') {
      unsupported(
        params.length === 0 && !subexpression
          ? `\`{{${JSON.stringify(path.original)}}}\`: a literal alone is not a template; write the text itself.`
          : `\`${JSON.stringify(path.original)}\` is not a helper; a call starts with the helper's name.`,
        path,
      );
      params.forEach(expression);
      return { kind: 'literal', value: null };
    }
    const name = simpleName(path);
    if (!subexpression && params.length === 0 && !(name !== undefined && (isHelper(name) || name === 'if' || name === 'unless'))) {
      return variable(path);
    }
    const args = params.map(expression);
    if (name === undefined) {
      unsupported(`\`${String(path.original)}\` is not a helper; a call starts with the helper's name. ${HELPER_LIST}`, path);
    } else if (name === 'if' || name === 'unless') {
      unsupported(`\`${name}\` is a block: write {{#${name} condition}}...{{/${name}}}.`, path);
    } else if (!isHelper(name)) {
      const note = HANDLEBARS_HELPERS.has(name) ? " Handlebars' own helpers are not part of runbook templates." : didYouMean(name, KNOWN_HELPERS);
      problem('unknown-helper', `Unknown template helper \`${name}\`.${note} ${HELPER_LIST}`, path);
    } else {
      out.helpers.push({ path: name, ...at(path) });
      const { min, max } = HELPERS[name]!;
      if (args.length < min || args.length > max) {
        const takes = min === max ? plural(min, 'argument') : max === Infinity ? `${min} or more arguments` : `${min} to ${max} arguments`;
        problem('helper-arguments', `\`${name}\` takes ${takes}, got ${args.length}.`, path);
      }
    }
    return { kind: 'call', helper: name ?? String(path.original), args, at: at(path) };
  };

  const block = (n: Node): Piece | undefined => {
    const name = simpleName(n.path as Node);
    if (name !== 'if' && name !== 'unless') {
      const shown = name ?? String((n.path as Node).original);
      const loop = shown === 'each' || shown === 'with' ? ' A step that needs a loop or another context is a step type.' : '';
      unsupported(`\`{{#${shown}}}\` blocks are not part of runbook templates: only {{#if}}, {{#unless}} and {{else}}.${loop}`, n);
      return undefined;
    }
    const pairs = hashPairs(n);
    if (pairs.length > 0) unsupported(`\`${String(pairs[0]!.key)}=...\`: named (key=value) arguments are not part of runbook templates.`, pairs[0]);
    const params = arrayOf(n.params);
    if (params.length !== 1) unsupported(`\`{{#${name}}}\` takes one condition, got ${params.length}.`, n);
    const program = n.program as Node | undefined;
    if (arrayOf(program?.blockParams).length > 0) unsupported(`\`as |...|\` block parameters are not part of runbook templates.`, n);
    const condition: Expression = params.length > 0 ? expression(params[0]!) : { kind: 'literal', value: null };
    params.slice(1).forEach(expression);
    return { kind: 'if', negate: name === 'unless', condition, then: statements(program), otherwise: statements(n.inverse as Node | undefined) };
  };

  const statements = (program: Node | undefined): Piece[] => {
    const pieces: Piece[] = [];
    for (const n of arrayOf(program?.body)) {
      switch (n.type) {
        case 'ContentStatement':
          if (n.value !== '') pieces.push({ kind: 'text', text: String(n.value) });
          break;
        case 'CommentStatement':
          break;
        case 'MustacheStatement': {
          if (n.escaped === false) {
            unsupported('`{{{...}}}` and `{{& ...}}` turn off HTML escaping, which runbook templates never do: write `{{...}}`.', n);
          }
          pieces.push({ kind: 'output', value: call(n, false), at: at(n) });
          break;
        }
        case 'BlockStatement': {
          const piece = block(n);
          if (piece) pieces.push(piece);
          break;
        }
        case 'PartialStatement':
        case 'PartialBlockStatement':
          unsupported('`{{> ...}}` partials are not part of runbook templates.', n);
          break;
        case 'Decorator':
        case 'DecoratorBlock':
          unsupported('`{{* ...}}` decorators are not part of runbook templates.', n);
          break;
        default:
          unsupported(`\`${n.type}\` is not part of runbook templates.`, n);
      }
    }
    return pieces;
  };

  out.pieces = statements(ast as unknown as Node);
  return out;
}
