// Where the run's lock check goes for one change batch (lock-guard.ts writes the check): at the
// batch's head, or as a batch of its own right before it when the batch must start its batch.
// Pure text work, so plan can say which batches get it which way without loading a driver.
import { ATOMIC_START, STATEMENT_START } from './checks.js';
import { isTrivia, scanSql, unterminatedToken, type SqlToken } from './scanner.js';

/** Module definitions that must start their batch: CREATE / ALTER / CREATE OR ALTER of one of these. */
const FIRST_IN_BATCH = new Set(['procedure', 'proc', 'function', 'view', 'trigger', 'schema', 'default', 'rule']);

/**
 * Whether `batch` cannot follow another statement in its batch: it defines a module, or it starts
 * with a procedure name called without EXEC. Unreadable text (an unterminated string) counts as
 * such too: the check then goes alone and the server judges the batch.
 */
export function mustStartItsBatch(batch: string): boolean {
  const all = scanSql(batch);
  if (unterminatedToken(all)) return true;
  const words = all.filter((t) => !isTrivia(t));
  const first = words[0];
  if (!first) return false;
  if (procedureCalledBare(words)) return true;
  if (first.kind !== 'word') return false;
  const verb = first.text.toLowerCase();
  if (verb !== 'create' && verb !== 'alter') return false;
  let k = 1;
  if (words[k]?.text.toLowerCase() === 'or' && words[k + 1]?.text.toLowerCase() === 'alter') k += 2;
  return FIRST_IN_BATCH.has(words[k]?.text.toLowerCase() ?? '');
}

/**
 * The name a batch begins with when it calls a procedure without EXEC (`sp_configure 'x', 1;
 * RECONFIGURE;`): only the first statement of a batch may ("Batches", MicrosoftDocs/sql-docs), so
 * the run's lock check could only go as a batch of its own before it, a window the server does not
 * check; `EXEC name ...` can carry the check at its head. Undefined for any other batch (or one
 * that cannot be read: an unterminated string).
 */
export function bareProcedureCall(batch: string): SqlToken | undefined {
  const all = scanSql(batch);
  if (unterminatedToken(all)) return undefined;
  const words = all.filter((t) => !isTrivia(t));
  return procedureCalledBare(words) ? words[0] : undefined;
}

function procedureCalledBare(words: SqlToken[]): boolean {
  const first = words[0];
  if (!first) return false;
  if (first.kind === 'bracketed' || first.kind === 'quoted') return true;
  if (first.kind !== 'word') return false;
  // A GOTO label (`x:`) is no procedure call, and may follow other statements (attack r6safety finding 9).
  if (words[1]?.kind === 'symbol' && words[1].text === ':') return false;
  const verb = first.text.toLowerCase();
  return verb !== 'create' && verb !== 'alter' && !STATEMENT_START.has(verb) && !ATOMIC_START.has(verb) && verb !== 'with';
}

/** What to send for one change batch: the check first, in the batch itself or alone right before it. */
export function guardedBatches(batch: string, check: string): string[] {
  return mustStartItsBatch(batch) ? [check, batch] : [`${check} ${batch}`];
}

/** What the plan says of the lock check a change script's batches (`batches`, in order) get at apply. */
export function lockCheckPlanText(batches: string[]): string {
  const alone = batches.flatMap((b, i) => (mustStartItsBatch(b) ? [i + 1] : []));
  const head = 'apply sends each batch behind the run\'s lock check (THROW 59317 unless this run\'s lock session still holds the link\'s lock)';
  if (alone.length === 0) return `${head}, at the head of the batch`;
  const which = batches.length === 1 ? 'the batch' : `batch${alone.length > 1 ? 'es' : ''} ${alone.join(', ')}`;
  return `${head}; ${which} must start ${alone.length > 1 && batches.length > 1 ? 'their' : 'its'} batch, so ${alone.length > 1 ? 'each gets' : 'it gets'} the check as a batch of its own right before it (one more round trip, a window the server does not check)`;
}
