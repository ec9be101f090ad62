// Names an inventory gives that reach T-SQL (quoted with `ident`/`str`) and the operator's screen
// (the plan, a wave's one confirmation listing). Quoting makes any text safe in T-SQL, but:
// - a line break in a script is a hazard of its own (a line holding only GO splits a batch);
// - a control or format character (Unicode Cc, Cf: NUL, tab, U+202E RIGHT-TO-LEFT OVERRIDE, a
//   zero-width space) can hide itself or make a listing show another name than the one that runs,
//   and the listing is the operator's one check of a wave;
// - an identifier (a distributed availability group, an availability group, a database) is a
//   sysname: at most 128 characters (MicrosoftDocs/sql-docs, docs/relational-databases/databases/
//   database-identifiers.md: "Identifiers must contain from 1 through 128 characters"), the
//   bound `ident` enforces (engine/template/helpers.ts) when it is too late to say where.
import { LINE_BREAK } from '../core/sql-literal.js';
import { MAX_IDENTIFIER } from '../template/helpers.js';

const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}]/u;

/** What is wrong with `value` given as `key`; `identifier` when it names a SQL Server object. */
export function sqlNameProblem(key: string, value: string, identifier: boolean): string | undefined {
  if (LINE_BREAK.test(value)) return `\`${key}\` holds a line break: SQL object names are one line (a line break in T-SQL could put GO on a line of its own).`;
  const hidden = CONTROL_OR_FORMAT.exec(value);
  if (hidden) {
    const code = `U+${hidden[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    return `\`${key}\` holds the control or format character ${code}: it does not show as itself, so the name on screen (a plan, a wave's confirmation) would not be the name that runs.`;
  }
  const length = [...value].length;
  if (identifier && length > MAX_IDENTIFIER) return `\`${key}\` is ${length} characters long: a SQL Server identifier (sysname) is at most ${MAX_IDENTIFIER}.`;
  return undefined;
}
