// What a runbook's own T-SQL may not say, because the run's lock check (lock-guard.ts) depends on it:
// - the check's error number, 59317, in a THROW or RAISERROR of the script: the run tells the
//   check's refusal by more than its number (lockCheckAnswer), but a reserved number keeps the
//   script's own errors from ever looking like it;
// - in a change script, SET NOEXEC, SET FMTONLY and SET PARSEONLY: under them the server compiles
//   the batch without running it, so the check at a later batch's head is not run either, and a
//   `SET NOEXEC OFF` after it would run that batch's change unchecked ("compiles each batch ... but
//   does not execute them", set-noexec-transact-sql.md; FMTONLY and PARSEONLY the same,
//   set-fmtonly-transact-sql.md, set-parseonly-transact-sql.md, MicrosoftDocs/sql-docs). Putting
//   `SET NOEXEC OFF` in front of the check would run statements the author meant to skip.
// And what a script with `params:` may not rely on: sqlExec sends each of its batches as its own
// sp_executesql call, and on SQL Server "Changes in database context last only to the end of the
// sp_executesql statement" (sp-executesql-transact-sql.md), as does a SET option ("the value of the
// SET option is restored after control is returned from the batch specified in the dynamic SQL
// string", set-statements-transact-sql.md; MicrosoftDocs/sql-docs). A USE or SET option in a batch
// before the last would not reach the batches after it, which would run in master or with the
// default: refused, rather than run where the author did not mean.
import { isTrivia, scanSql, type SqlToken } from './scanner.js';
import { splitBatches } from './batches.js';
import { bareProcedureCall } from './guarded-batches.js';
import { SESSION_OPTIONS } from './session-state.js';

/** The error number the lock check THROWs with (a user-defined one, 50000 or more). */
export const LOCK_NOT_HELD_ERROR = 59_317;

export interface SqlRuleProblem {
  /** 1-based line and column in the script. */
  line: number;
  column: number;
  message: string;
}

const SKIPPING_SETS = new Set(['noexec', 'fmtonly', 'parseonly']);

/**
 * The problems of `sql`; `change`: the script is not a declared read; `withParams`: it has
 * `params:`, so each batch is an sp_executesql call of its own.
 */
export function reservedSqlProblems(sql: string, change: boolean, withParams = false): SqlRuleProblem[] {
  const words = scanSql(sql).filter((t) => !isTrivia(t));
  const problems: SqlRuleProblem[] = [...(change ? bareProcedureCalls(sql) : []), ...(withParams ? contextEndingWithItsCall(sql) : [])];
  const at = (t: SqlToken) => ({ line: t.line, column: t.start - sql.lastIndexOf('\n', t.start - 1) });
  const lower = (t: SqlToken | undefined) => (t?.kind === 'word' ? t.text.toLowerCase() : undefined);
  for (let i = 0; i < words.length; i++) {
    const word = lower(words[i]);
    const raised = word === 'throw' ? words[i + 1] : word === 'raiserror' && words[i + 1]?.text === '(' ? words[i + 2] : undefined;
    if (raised?.kind === 'number' && Number(raised.text) === LOCK_NOT_HELD_ERROR) {
      problems.push({
        ...at(raised),
        message: `error number ${LOCK_NOT_HELD_ERROR} is reserved for the run's lock check (the server's refusal of a change whose lock is not held); raise another number`,
      });
    }
    const option = word === 'set' ? lower(words[i + 1]) : undefined;
    if (change && option && SKIPPING_SETS.has(option)) {
      problems.push({
        ...at(words[i]!),
        message: `SET ${option.toUpperCase()} is refused in a change script: under it the server would skip the lock check that each change batch begins with, and a later SET ${option.toUpperCase()} OFF would run a change unchecked; skip statements with IF ... or a separate step instead`,
      });
    }
  }
  return problems;
}

/**
 * A change batch that begins with a procedure called without EXEC: the lock check could not go at
 * its head, only as a batch of its own before it, and a KILL of the lock session between the two
 * would not be seen by the server (guarded-batches.ts bareProcedureCall). `EXEC name ...` carries it.
 */
function bareProcedureCalls(sql: string): SqlRuleProblem[] {
  let batches;
  try {
    batches = splitBatches(sql);
  } catch {
    return []; // a bad GO line is reported as such
  }
  return batches.flatMap((batch) => {
    const name = bareProcedureCall(batch.text);
    if (!name) return [];
    return [{
      line: batch.startLine + name.line - 1,
      column: name.start - batch.text.lastIndexOf('\n', name.start - 1),
      message: `${name.text} is a procedure called without EXEC, which only the first statement of a batch may be, so the run's lock check could not go at the head of this change batch (only as a batch of its own before it, a moment the server does not check); write \`EXEC ${name.text}\` instead`,
    }];
  });
}

/**
 * A change of the security context (EXECUTE AS, SETUSER, REVERT) at `word`: it lasts "for the
 * duration of the session or module execution" (execute-as-transact-sql.md); whether an
 * sp_executesql call ends it as it ends a USE is not said there, so it is refused before the last
 * batch either way: carried or not, the later batches would not run as the author can tell
 * (attack r6safety finding 7).
 */
function impersonationAt(word: string, next: SqlToken | undefined): string | undefined {
  if ((word === 'execute' || word === 'exec') && next?.kind === 'word' && next.text.toLowerCase() === 'as') return `${word.toUpperCase()} AS`;
  if (word === 'setuser' || word === 'revert') return word.toUpperCase();
  return undefined;
}

/** USE and SET options in a batch before the last of a script sent through sp_executesql (see the top of this file). */
function contextEndingWithItsCall(sql: string): SqlRuleProblem[] {
  let batches;
  try {
    batches = splitBatches(sql);
  } catch {
    return []; // a bad GO line is reported as such
  }
  const problems: SqlRuleProblem[] = [];
  for (const batch of batches.slice(0, -1)) {
    const words = scanSql(batch.text).filter((t) => !isTrivia(t));
    words.forEach((t, i) => {
      const word = t.kind === 'word' ? t.text.toLowerCase() : '';
      const next = words[i + 1];
      const option = word === 'set' && next?.kind === 'word' && words[i + 2]?.text !== '=' ? next.text.toLowerCase() : undefined;
      const impersonation = impersonationAt(word, next);
      if (word !== 'use' && !(option && SESSION_OPTIONS.has(option)) && !impersonation) return;
      const what = impersonation ?? (word === 'use' ? 'USE' : `SET ${option!.toUpperCase()}`);
      problems.push({
        line: batch.startLine + t.line - 1,
        column: t.start - batch.text.lastIndexOf('\n', t.start - 1),
        message: impersonation
          ? `${what} may not reach the batches after this one: with \`params:\` each batch is sent as its own sp_executesql call, and a security context change there may end with that call, so the later batches could run as the run's own login; change the context and do the work in the same batch`
          : `${what} would not reach the batches after this one: with \`params:\` each batch is sent as its own sp_executesql call, and on SQL Server a USE or SET option there lasts only to the end of that call (sp_executesql, SET statements: MicrosoftDocs/sql-docs); put it in each batch that needs it, or use three-part names`,
      });
    });
  }
  return problems;
}
