// Handlebars as the parser of runbook templates, and nothing else: its documented `parse` turns
// the text into its syntax tree (with whitespace control applied: `~` and standalone block lines),
// which engine/template/language.ts checks and evaluate.ts evaluates. Handlebars' compiler and
// runtime are never called. The AST is Handlebars' public compiler API
// (handlebars-lang/handlebars.js docs/compiler-api.md; the `hbs.AST` types in handlebars/types).
import type Handlebars from 'handlebars';
import { TemplateError } from './error.js';
import { loadHandlebarsParse } from './handlebars.js';

export type Program = hbs.AST.Program;

let parseText: typeof Handlebars.parse | undefined;

function handlebarsParse(): typeof Handlebars.parse {
  // Loaded on the first template, not with the module: `runbook --help` and runbooks without
  // templates never read it. The single minified file, with its code cache, loads faster than the
  // package's many CommonJS modules (bench/startup.ts, engine/template/handlebars.ts).
  parseText ??= loadHandlebarsParse().parse;
  return parseText;
}

/**
 * Trees already made, by text: validate's rules and the template checker read the same texts (a
 * sqlExec script is parsed for its splices and again for its references), and Handlebars' parser
 * is slow on cold code (bench/startup). Shared, so never changed: its readers only read it.
 */
const parsed = new Map<string, Program>();

/** Handlebars' syntax tree of `text` (shared: read it, do not change it); a TemplateError with the position on a syntax error. */
export function parseTemplate(text: string): Program {
  const known = parsed.get(text);
  if (known) return known;
  let tree: Program;
  try {
    tree = handlebarsParse()(text);
  } catch (e) {
    throw syntaxError(e, text);
  }
  if (parsed.size > 5000) parsed.clear();
  parsed.set(text, tree);
  return tree;
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
  // Errors the grammar's actions raise ("if doesn't match unless", "Invalid path: a.this") carry
  // their node's position (column 0-based) and repeat it at the end of the message.
  const located = e as { lineNumber?: unknown; column?: unknown };
  const first = msg.split('\n')[0]!.replace(/ - \d+:\d+$/, '');
  if (typeof located.lineNumber === 'number' && typeof located.column === 'number') {
    return new TemplateError(`Template syntax error: ${first.replace(/\.$/, '')}.`, { line: located.lineNumber, column: located.column + 1 });
  }
  const lex = /^Parse error on line (\d+)/.exec(msg);
  return new TemplateError(`Template syntax error: ${first.replace(/\.$/, '')}.`, lex ? { line: Number(lex[1]), column: 1 } : {});
}
