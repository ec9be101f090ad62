// Rules about the T-SQL a runbook sends (sqlExec's `sql` and `verify`), checked where its text is
// known: values spliced in raw, and scripts declared `impact: read` that are not provably reads.
//
// A value reaches T-SQL safely only through `ident` (a [name]) or `str` (an N'...' literal that
// keeps line breaks off the script's lines). Spliced raw, its text is SQL: `'` or `]` in it changes
// the statement, and a line break lets a line holding only GO end the batch, so the rest runs as
// T-SQL of its own (sqlcmd and SSMS split there, and so does the engine). A `multiline: true`
// input spliced raw is therefore an error; any other raw splice of a value is a warning.
import { diag } from '../../core/diagnostics.js';
import { readOnlyProblem } from '../../drivers/sql/checks.js';
import { reservedSqlProblems } from '../../drivers/sql/change-sql-rules.js';
import { isTemplate } from '../../template/render.js';
import { parseTemplate } from '../../template/syntax.js';
import type { RawStep, RuleContext } from './context.js';
import { isRecord } from '../../core/record.js';

/** The step type whose `with:` holds T-SQL text, and its fields that do. */
const SQL_STEP = 'sqlExec';
const SQL_FIELDS = ['sql', 'verify'] as const;

/** Helpers whose output is a quoted T-SQL token whatever their argument. */
const QUOTING = new Set(['ident', 'str']);
/** Helpers whose output is true/false or one of a few fixed words, never the argument's text. */
const FIXED_OUTPUT = new Set(['eq', 'ne', 'and', 'or', 'not', 'gt', 'gte', 'lt', 'lte', 'versionAtLeast', 'otherSide']);
/** What a template may read: inputs, the inventory, earlier outputs, the run. */
const VALUE_ROOTS = new Set(['inputs', 'link', 'steps', 'run']);

interface AstNode {
  type: string;
  loc?: { start: { line: number; column: number } };
  [key: string]: unknown;
}

interface RawSplice {
  path: string;
  line: number;
  column: number;
  /** The helper it went through on its way out (`default`), if any. */
  via?: string;
}

/** Handlebars' syntax tree, read through the fields this rule visits. */
function parse(text: string): AstNode {
  return parseTemplate(text) as unknown as AstNode;
}

const pathOf = (n: AstNode): string => (n.parts as string[]).join('.');
const at = (n: AstNode) => ({ line: n.loc?.start.line ?? 1, column: (n.loc?.start.column ?? 0) + 1 });

/** The values a template writes into its output as they are, with where they are written. */
export function rawSplices(template: string): RawSplice[] {
  const out: RawSplice[] = [];
  /** A mustache or subexpression: what it writes. */
  const output = (n: AstNode): void => {
    const path = n.path as AstNode;
    const params = (n.params as AstNode[] | undefined) ?? [];
    const pairs = ((n.hash as AstNode | undefined)?.pairs as AstNode[] | undefined) ?? [];
    const name = path.type === 'PathExpression' && !path.data && (path.parts as string[]).length === 1 ? String(path.original) : undefined;
    if (params.length === 0 && pairs.length === 0 && (name === undefined || !(QUOTING.has(name) || FIXED_OUTPUT.has(name)))) {
      if (path.type === 'PathExpression') out.push({ path: pathOf(path), ...at(path) });
      return;
    }
    if (name !== undefined && (QUOTING.has(name) || FIXED_OUTPUT.has(name))) return;
    // `default`, an inline `if`, or a helper we do not know: any argument may come out as it is.
    for (const arg of [...params, ...pairs.map((p) => p.value as AstNode)]) {
      if (arg.type === 'PathExpression') out.push({ path: pathOf(arg), ...at(arg), ...(name ? { via: name } : {}) });
      else if (arg.type === 'SubExpression') output(arg);
    }
  };
  const visit = (n: AstNode | undefined): void => {
    if (!n) return;
    if (n.type === 'Program') (n.body as AstNode[]).forEach(visit);
    else if (n.type === 'MustacheStatement') output(n);
    else if (n.type === 'BlockStatement') {
      // `{{#if x}}...{{/if}}` writes its branches, not x.
      visit(n.program as AstNode | undefined);
      visit(n.inverse as AstNode | undefined);
    }
  };
  visit(parse(template));
  return out.filter((s) => VALUE_ROOTS.has(s.path.split('.')[0]!));
}

/** The sqlExec steps' T-SQL fields, as [step, field, pointer, text]. */
export function* sqlTexts(ctx: RuleContext): Generator<[RawStep, (typeof SQL_FIELDS)[number], string, string]> {
  for (const step of ctx.steps) {
    if (step.type !== SQL_STEP || !isRecord(step.value.with)) continue;
    for (const field of SQL_FIELDS) {
      const text = step.value.with[field];
      if (typeof text === 'string') yield [step, field, `${step.pointer}/with/${field}`, text];
    }
  }
}

/** A value spliced into T-SQL without ident or str: an error for a multi-line input, a warning otherwise. */
export function sqlSplices(ctx: RuleContext): void {
  for (const [, , pointer, text] of sqlTexts(ctx)) {
    if (!isTemplate(text)) continue;
    let splices: RawSplice[];
    try {
      splices = rawSplices(text);
    } catch {
      continue; // a template that does not parse is reported by the templates rule
    }
    for (const s of splices) {
      const where = { file: ctx.file, ...ctx.doc.locateInValue(pointer, s.line, s.column), path: pointer };
      const through = s.via ? ` (through \`${s.via}\`)` : '';
      const [root, name] = s.path.split('.');
      if (root === 'inputs' && name !== undefined && ctx.inputs[name]?.multiline === true) {
        ctx.diagnostics.push(diag(
          'multiline-raw-sql',
          `Input \`${name}\` is multi-line and reaches T-SQL without \`str\`${through}: a line holding only GO in it would end the batch and run the rest as T-SQL of its own. Write {{str ${s.path}}}.`,
          where,
        ));
        continue;
      }
      ctx.diagnostics.push(diag(
        'raw-sql-splice',
        `\`${s.path}\` reaches T-SQL without \`ident\` or \`str\`${through}: its text becomes SQL as it is (a ' or ] in it changes the statement). Write {{str ${s.path}}} for a value or {{ident ${s.path}}} for a name.`,
        where,
        { severity: 'warning' },
      ));
    }
  }
}

/**
 * A sqlExec declared `impact: read` runs without confirmation and `plan --probe` sends it: its
 * SQL must be a plain read as the engine's scanner sees it (engine/drivers/sql/checks.ts). The
 * same for `verify`, which is sent on resume and after a lost answer. Checked here when the text
 * is known; apply checks the rendered text again before sending it.
 */
export function readsThatWrite(ctx: RuleContext): void {
  for (const [step, field, pointer, text] of sqlTexts(ctx)) {
    if (isTemplate(text)) continue;
    const declaredRead = field === 'verify' || (isRecord(step.value.with) && step.value.with.impact === 'read');
    if (!declaredRead) continue;
    const problem = readOnlyProblem(text);
    if (!problem) continue;
    const id = step.id ?? `#${step.index + 1}`;
    const message =
      field === 'sql'
        ? `Step \`${id}\` is declared \`impact: read\`, but its SQL is not a plain read: ${problem}. A read runs without confirmation and \`plan --probe\` would send it; declare \`impact: change\` (or dataLoss) for SQL that may change anything.`
        : `The verify query of step \`${id}\` is not a plain read: ${problem}. It would never be sent, so the step could not be verified after a lost answer or on resume; make it a SELECT.`;
    ctx.diagnostics.push(diag(field === 'sql' ? 'read-not-a-read' : 'verify-not-a-read', message, { file: ctx.file, ...ctx.doc.locate(pointer), path: pointer }));
  }
}

/**
 * What the run's lock check needs of the script (engine/drivers/sql/change-sql-rules.ts): error
 * number 59317 is the check's, and a change script may not turn statement execution off. Checked
 * here when the text is known; apply checks the rendered text again before sending it.
 */
export function reservedSql(ctx: RuleContext): void {
  for (const [step, field, pointer, text] of sqlTexts(ctx)) {
    if (field !== 'sql' || isTemplate(text)) continue;
    const change = !(isRecord(step.value.with) && step.value.with.impact === 'read');
    const id = step.id ?? `#${step.index + 1}`;
    const params = isRecord(step.value.with) && isRecord(step.value.with.params) && Object.keys(step.value.with.params).length > 0;
    for (const p of reservedSqlProblems(text, change, params)) {
      const where = { file: ctx.file, ...ctx.doc.locateInValue(pointer, p.line, p.column), path: pointer };
      ctx.diagnostics.push(diag('reserved-sql', `Step \`${id}\`: ${p.message}.`, where));
    }
  }
}

/**
 * sqlExec's `impact` is required (steps/sqlExec.ts): without it a plain SELECT would count as a
 * change (asked for, never probed), and the engine does not guess a read: a SELECT can call a
 * function that writes, so only the author can say it reads. Said here, with what the scanner
 * makes of the SQL, instead of the schema's bare "missing required key".
 */
export function sqlImpactDeclared(ctx: RuleContext): void {
  for (const step of ctx.steps) {
    // A step with no `with:` at all is checked as `with: {}`, as the schema pass does.
    const given = step.value.with ?? {};
    if (step.type !== SQL_STEP || !isRecord(given) || given.impact !== undefined) continue;
    const id = step.id ?? `#${step.index + 1}`;
    const sql = given.sql;
    const hint =
      typeof sql !== 'string' ? ''
        : isTemplate(sql) ? ' Its SQL is a template, so it is judged once rendered: declare what it does.'
          : readOnlyProblem(sql) === undefined ? ' Its SQL is a plain read, so probably `impact: read` (then it runs unconfirmed and `plan --probe` sends it).'
            : ' Its SQL is not a plain read: `impact: change`, or `dataLoss` if it can lose committed transactions.';
    const pointer = `${step.pointer}/with`;
    ctx.diagnostics.push(diag(
      'missing-required',
      `Missing required key \`impact\` in step \`${id}\` (sqlExec): read, change or dataLoss; what its SQL does to the link is the author's to say.${hint}`,
      { file: ctx.file, ...ctx.doc.locate(pointer, 'key'), path: pointer },
    ));
  }
}

/** The schema error sqlImpactDeclared reports better. */
export function isMissingSqlImpact(stepType: string, e: { keyword: string; instancePath: string; params: Record<string, unknown> }): boolean {
  return stepType === SQL_STEP && e.keyword === 'required' && e.instancePath === '' && e.params.missingProperty === 'impact';
}
