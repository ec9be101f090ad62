// sqlExec: a T-SQL script on one replica, split into batches on GO lines as sqlcmd does, with
// named parameters, the first result set as outputs, and an optional expectation about it.
//
// How long a batch may run: a read gets the connection's request timeout (requestTimeoutMs,
// default 30 s), so a stuck read fails fast. A change or data-loss script gets no timer of the
// driver's: a real BACKUP ... TO URL, a large BACKUP LOG or a FAILOVER on a busy server can take
// far longer than 30 s (its progress is in sys.dm_exec_requests.percent_complete), and cancelling
// one mid-way leaves the operator guessing. It is cancelled only by the step's own `timeout:`
// (then its outcome is checked with verify) or by `with.requestTimeout` when the runbook sets one.
import { isSingleStatement, readOnlyProblem } from '../engine/drivers/sql/checks.js';
import { isConnectionLoss } from '../engine/drivers/sql/connect-failure.js';
import { inOneSession, runSql } from '../engine/drivers/on-demand.js';
import type { QueryParams, RunSqlOptions } from '../engine/drivers/sql/pool.js';
import { reservedSqlProblems } from '../engine/drivers/sql/change-sql-rules.js';
import { lockCheckPlanText } from '../engine/drivers/sql/guarded-batches.js';
import { BatchSplitError, excerpt, scriptLine, splitBatches } from '../engine/drivers/sql/batches.js';
import { rowsTable } from './support/rows-table.js';
import { LockCheckRefused, LockLostMidBatch, sendBatch } from './support/guarded-send.js';
import { checkExpectation, expectationMessages, expectationText, toOutputValue, type Expectation } from '../engine/drivers/sql/results.js';
import {
  defineStep,
  durationMs,
  durationText,
  isUnknown,
  shown,
  StepFailure,
  type ChangeGuard,
  type Impact,
  type MessageData,
  type ReplicaTarget,
  type StepFailureOptions,
  type StepMessages,
  type StepPlanResult,
} from '../engine/step-api/index.js';

export interface SqlExecArgs {
  sql: string;
  params?: QueryParams;
  impact?: Impact;
  expect?: Expectation;
  verify?: string;
  verifyTarget?: string;
  requestTimeout?: string;
}

/** Rows kept in the outputs (and so in the journal); rowCount is always the true count. */
export const MAX_OUTPUT_ROWS = 1000;

const scalar = { type: ['string', 'number', 'boolean', 'null'] };

export default defineStep({
  type: 'sqlExec',
  description:
    'Runs a T-SQL script on one replica. GO lines split it into batches as in sqlcmd (GO n runs a batch n times); the first result set becomes the outputs.',
  with: {
    type: 'object',
    additionalProperties: false,
    // `impact` is required: a script without it would count as a change, a plain SELECT too
    // (confirmation asked, never probed); with it, validate checks a declared read is one.
    required: ['sql', 'impact'],
    properties: {
      sql: {
        type: 'string',
        minLength: 1,
        description:
          'The T-SQL script. Build identifiers with {{ident x}} and strings with {{str x}}; a line holding only GO ends a batch.',
      },
      params: {
        type: 'object',
        description: 'Named parameters, available as @name in every batch. Each batch then goes as its own sp_executesql call, where a USE or SET option lasts only to the end of the call: one in a batch before the last is refused, and so is EXECUTE AS, SETUSER or REVERT.',
        propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
        additionalProperties: scalar,
      },
      impact: {
        enum: ['read', 'change', 'dataLoss'],
        description:
          'What the script does to the link: read (a plain SELECT, checked before it is sent; runs without confirmation and in plan --probe), change (confirmed before it runs) or dataLoss (needs --allow-data-loss).',
      },
      expect: {
        type: 'object',
        additionalProperties: false,
        description: 'What the first result set must look like; the step fails with a clear message otherwise.',
        properties: {
          rows: { type: 'integer', minimum: 0, description: 'Exactly this many rows.' },
          empty: { type: 'boolean', description: 'true: no rows at all; false: at least one row.' },
          column: { type: 'string', description: 'A column of the first row to compare with `equals`.' },
          equals: { ...scalar, description: 'The value `column` must have in the first row (compared as text).' },
        },
        dependencies: { column: ['equals'], equals: ['column'] },
      },
      verify: {
        type: 'string',
        minLength: 1,
        description:
          'A read-only query whose first row\'s first column is 1 when the change has already happened (e.g. the roles already swapped). Used on resume and after a lost answer, so the script is never sent twice blindly; it must be a plain SELECT (checked as plan --probe checks reads), or it is never sent.',
      },
      requestTimeout: {
        type: 'string',
        format: 'duration',
        description:
          "How long each batch may run before it is cancelled. Default: a read, the connection's requestTimeoutMs (30s unless the inventory says otherwise); a change or data-loss script, no limit of its own (only the step's timeout: and an interrupt stop it), because BACKUP and FAILOVER can take long on a real server.",
      },
      verifyTarget: {
        type: 'string',
        description:
          'Where to run `verify` (sqlServer, managedInstance, primary or secondary); default the step\'s target. Give a fixed side when the script changes roles: `primary` moves with them.',
      },
    },
  },
  messages: {
    sqlError: 'SQL error {{number}} (state {{state}}, severity {{severity}}) on {{side}} at line {{line}} of the script: {{error}}.',
    badGo: 'Cannot split the script into batches: {{error}}.',
    notARead: 'Refused to run a script declared impact: read that is not a plain read: {{problem}}. Nothing was sent; declare impact: change for SQL that may change anything.',
    batchDone: 'Batch {{batch}} of {{batches}} done on {{side}}.',
    rowsRead: 'Read {{count}} from {{side}}.',
    notProbed: 'Not probed: {{reason}}.',
    noVerify: 'Step {{step}} has no verify: query, so whether it took effect cannot be checked.',
    connectionLost: 'The connection to {{side}} was lost during batch {{batch}} of {{batches}}: {{error}}.',
    transactionLeftOpen:
      'The script left {{count}} transaction(s) open on {{side}} at its end; it was rolled back, so what the script did inside it did not take effect. A step must COMMIT what it begins: its session is not kept for the next step (in a wave it is reset, which rolls it back, as soon as the step ends).',
    lockNotHeld: 'Batch {{batch}} of {{batches}} on {{side}} did not run, and nothing of the script ran: {{reason}}.',
    reservedSql: 'Refused to run the script: line {{line}}, column {{column}}: {{problem}}. Nothing was sent.',
    lockLostMidBatch:
      'The link lock on {{side}} was lost while batch {{batch}} of {{batches}} was running there ({{reason}}); the batch was cancelled, so how much of it ran is unknown; check the replica before going on.',
    lockNotHeldPartway: 'Batch {{batch}} of {{batches}} on {{side}} did not run, but the batches before it did (the script ran only in part): {{reason}}.',
    outcomeUnknown:
      'The connection to {{side}} was lost during batch {{batch}} of {{batches}}, so whether it took effect is unknown; check the replica before going on ({{error}}).',
    ...expectationMessages,
  },
  impact: (args: SqlExecArgs) => (args.impact && !isUnknown(args.impact) ? args.impact : 'change'),
  target: 'required',
  // A read-only script reads the server as it is then; a resume runs it again.
  resultHolds: 'moment',
  outputs: {
    rows: { description: `The rows of the first result set (at most ${MAX_OUTPUT_ROWS}), column name to value.` },
    rowCount: { description: 'How many rows the first result set had.' },
    first: { description: 'The first row of the first result set, column name to value (empty when none).' },
    rowsAffected: { description: 'Rows affected by all statements of all batches.' },
    replica: { description: 'The replica the script ran on (sqlServer or managedInstance).' },
  },

  plan(ctx, args: SqlExecArgs): StepPlanResult {
    const target = ctx.target ?? 'primary';
    const text = shown(args.sql);
    let batchWord = 'T-SQL';
    const guards: string[] = [];
    if (typeof args.sql === 'string') {
      try {
        const all = splitBatches(args.sql);
        const n = all.reduce((sum, b) => sum + b.repeat, 0);
        batchWord = n === 1 ? '1 batch of T-SQL' : `${n} batches of T-SQL`;
        if (ctx.impact !== 'read') guards.push(lockCheckPlanText(all.map((b) => b.text)));
      } catch {
        // validate reports a bad GO line; the plan still shows the script.
      }
    }
    const params = args.params && !isUnknown(args.params) ? Object.keys(args.params) : [];
    const withParams = params.length ? ` with ${params.map((p) => `@${p}`).join(', ')}` : '';
    if (args.expect && !isUnknown(args.expect)) guards.push(expectationText(args.expect));
    if (args.requestTimeout !== undefined) guards.push(`Each batch is cancelled after ${durationText(args.requestTimeout, '30s')}`);
    const sent = args.params && !isUnknown(args.params) && params.length ? { params: args.params as Record<string, unknown> } : {};
    return { summary: `Run ${batchWord} on ${target}${withParams}`, sql: [{ target, text, ...sent }], guards: guards.length ? guards : undefined };
  },

  async run(ctx, args: SqlExecArgs) {
    const impact = ctx.impact;
    // Before any wait for a session: a refusal of the script's text, nothing sent.
    const reserved = reservedSqlProblems(args.sql, impact !== 'read', Object.keys(args.params ?? {}).length > 0)[0];
    if (reserved) throw ctx.refuse('reservedSql', { line: reserved.line, column: reserved.column, problem: reserved.message });
    // Nothing is sent until the script's session is in hand: in a wave that may mean waiting for
    // one of the server's shared sessions, which an interrupt or the step's timeout ends as "not sent".
    const gate = impact === 'read' ? undefined : ctx.sendGate;
    gate?.notSent();
    // A read runs unconfirmed: it must be one as the engine's scanner reads it (validate checks it when the text is known).
    const notRead = impact === 'read' ? readOnlyProblem(args.sql) : undefined;
    if (notRead) throw ctx.refuse('notARead', { problem: notRead });
    const side = await ctx.resolveTarget(ctx.target ?? 'primary');
    let batches;
    try {
      batches = splitBatches(args.sql);
    } catch (error) {
      if (error instanceof BatchSplitError) throw ctx.fail('badGo', { error: error.message.replace(/\.$/, '') }, { notApplied: true });
      throw error;
    }
    const total = batches.reduce((sum, b) => sum + b.repeat, 0);
    const requestTimeoutMs =
      args.requestTimeout !== undefined ? durationMs(args.requestTimeout, '30s', 'requestTimeout') : impact === 'read' ? undefined : 0;
    // A change carries the run's lock check to the server with each batch (engine/drivers/sql/lock-guard.ts).
    const guard = impact === 'read' ? undefined : ctx.changeGuard?.(side);
    const pool = await ctx.sql(side);
    let first: { columns: string[]; rows: Array<Record<string, unknown>> } | undefined;
    let rowsAffected = 0;
    let done = 0;
    try {
      // All the script's batches on one session (USE and SET carry between them), in a wave too.
      await inOneSession(pool, async () => {
        gate?.sending();
        for (const batch of batches) {
          for (let i = 0; i < batch.repeat; i++) {
            ctx.signal.throwIfAborted();
            let result;
            try {
              result = await sendBatch(pool, batch.text, args.params ?? {}, ctx.signal, { requestTimeoutMs }, guard);
            } catch (error) {
              if (ctx.signal.aborted) throw error;
              if (error instanceof LockLostMidBatch) {
                throw ctx.outcomeUnknown('lockLostMidBatch', { side, batch: done + 1, batches: total, reason: error.message.replace(/\.$/, '') });
              }
              const notHeld = error instanceof LockCheckRefused ? error.message : guard?.refused(error);
              if (notHeld) {
                const data = { reason: notHeld.replace(/\.$/, ''), side, batch: done + 1, batches: total };
                throw done === 0 ? ctx.refuse('lockNotHeld', data) : ctx.fail('lockNotHeldPartway', data);
              }
              throw describeFailure(ctx, error, { side, batch, script: args.sql, index: done + 1, total, impact, changed: done > 0 });
            }
            done++;
            rowsAffected += (result.rowsAffected ?? []).reduce((a, b) => a + b, 0);
            const sets = (result.recordsets ?? []) as Array<Array<Record<string, unknown>> & { columns?: object }>;
            if (!first && sets.length > 0) {
              const set = sets[0];
              first = { columns: Object.keys(set.columns ?? set[0] ?? {}), rows: [...set] };
            }
            if (total > 1) ctx.log.progress(ctx.text('batchDone', { batch: done, batches: total, side }));
          }
        }
        if (impact !== 'read') await noTransactionLeftOpen(ctx, pool, side);
      }, gate?.signal ?? ctx.signal);
    } finally {
      // Anything but a read may have moved roles (FAILOVER, SET ROLE): ask again next time.
      if (impact !== 'read') ctx.invalidateRoles?.();
    }
    const rows = (first?.rows ?? []).map((r) => mapValues(r));
    // What a read learnt stays on the operator's screen as a small table (the outputs keep the data).
    if (impact === 'read' && first) {
      const count = `${rows.length} row${rows.length === 1 ? '' : 's'}`;
      ctx.log.info([ctx.text('rowsRead', { count, side }), ...(rows.length ? rowsTable(first.columns, rows) : [])].join('\n'));
    }
    if (args.expect) {
      const problem = checkExpectation(args.expect, first && { columns: first.columns, rows });
      if (problem) throw ctx.fail(problem.id, problem.data);
    }
    return {
      rows: rows.slice(0, MAX_OUTPUT_ROWS),
      rowCount: rows.length,
      first: rows[0] ?? {},
      rowsAffected,
      replica: side,
    };
  },

  // plan --probe calls this only for uses declared `impact: read`, and it sends the script only
  // if every batch really is a plain SELECT: the declaration is the author's, the check is ours.
  async probe(ctx, args: SqlExecArgs) {
    const problem = readOnlyProblem(args.sql);
    if (problem) {
      ctx.log.info(ctx.text('notProbed', { reason: problem }));
      return undefined;
    }
    return this.run(ctx, args);
  },

  /** Runs `with.verify`; `unknowable` without one (nothing to ask again). Errors propagate (the engine counts them as unknown). */
  async verify(ctx, args: SqlExecArgs) {
    if (!args.verify) {
      ctx.log.info(ctx.text('noVerify', { step: ctx.stepId }));
      return 'unknowable';
    }
    const target = (args.verifyTarget ?? ctx.target ?? 'primary') as ReplicaTarget;
    if (!['sqlServer', 'managedInstance', 'primary', 'secondary'].includes(target)) {
      throw new Error(`verifyTarget must be sqlServer, managedInstance, primary or secondary, not "${target}"`);
    }
    // The verify query runs on resume and after a lost answer, when the state is least certain:
    // only a plain read may be sent then (the same check as plan --probe). Throwing makes the
    // outcome unknown, so the engine stops rather than repeat the change blindly.
    const notRead = readOnlyProblem(args.verify);
    if (notRead) throw new Error(`the verify query of ${ctx.stepId} was not sent: it is not a plain read (${notRead})`);
    const side = await ctx.resolveTarget(target);
    const result = await runSql(await ctx.sql(side), args.verify, args.params ?? {}, ctx.signal);
    const row = (result.recordset ?? [])[0] as Record<string, unknown> | undefined;
    const value = row ? Object.values(row)[0] : undefined;
    return value === 1 || value === true || value === '1' ? 'done' : 'not-done';
  },
});

/**
 * A change script must not end inside a transaction (attack r5conn finding 4): the session it ran
 * on is not the next step's in a wave (reset at once: RESETCONNECTION cleans the connection up
 * "effectively simulating a logout and a subsequent login", and RESETCONNECTIONSKIPTRAN is the same
 * but "do not modify the transaction state", MS-TDS 2.2.3.1.2, so a plain reset ends a local
 * transaction), and in a single run the transaction would be ended by whatever the next step sends
 * (a COMMIT there commits it) or by the run's end. So it is rolled back here, on the script's own
 * session, and the step fails: what it did outside the transaction may have taken effect.
 */
// The read is a request of its own, one round trip per change script, and not appended to the last
// batch: that cannot be shown to leave the script's meaning and results alone. A CREATE/ALTER of a
// procedure, function, trigger or view runs to the end of its batch, so an appended SELECT would
// become part of the module; a RETURN (under any IF) or a batch-ending error would skip it; its
// result set would be taken as the script's first when the script returns none, and its row as
// affected; and `GO n` repeats the last batch. (Review r5, left on purpose in r6.)
async function noTransactionLeftOpen(ctx: StepMessages<'transactionLeftOpen'>, pool: Parameters<typeof runSql>[0], side: string): Promise<void> {
  const row = ((await runSql(pool, 'SELECT @@TRANCOUNT AS open_transactions;')).recordset ?? [])[0] as Record<string, unknown> | undefined;
  const count = Number(row?.open_transactions ?? 0);
  if (!(count > 0)) return;
  await runSql(pool, 'ROLLBACK TRANSACTION;');
  throw ctx.fail('transactionLeftOpen', { count, side });
}

function mapValues(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, toOutputValue(v)]));
}

interface FailureContext {
  side: string;
  batch: { text: string; startLine: number };
  script: string;
  index: number;
  total: number;
  impact: Impact;
  changed: boolean;
}

/** The server answered a batch with an error: the message says where, `batchesCompleted` how far the script got. */
export class SqlScriptError extends StepFailure {
  constructor(
    readonly batchesCompleted: number,
    message: string,
    data: MessageData,
    options: StepFailureOptions,
  ) {
    super('sqlError', data, message, options);
    this.name = 'SqlScriptError';
  }
}

/** SQL errors with their number and line in the whole script; lost connections by impact. */
function describeFailure(report: StepMessages<'sqlError' | 'connectionLost' | 'outcomeUnknown'>, error: unknown, f: FailureContext): Error {
  const e = error as {
    number?: number;
    lineNumber?: number;
    state?: number | string;
    class?: number | string;
    message?: string;
    precedingErrors?: Array<{ number?: number; lineNumber?: number; message?: string }>;
  };
  if (typeof e?.number === 'number') {
    // SQL Server often sends the specific error first and a generic one after it.
    const all = [...(e.precedingErrors ?? []), e];
    const head = all[0] as typeof e;
    const line = scriptLine(f.batch, head.lineNumber ?? 1);
    const others = all.slice(1).map((o) => `  also: error ${o.number} at line ${scriptLine(f.batch, o.lineNumber ?? 1)}: ${o.message}`);
    const detail = [excerpt(f.script, line), ...others].join('\n');
    const data = {
      number: head.number ?? 0,
      state: Number(head.state ?? e.state ?? 0),
      severity: Number(head.class ?? e.class ?? 16),
      side: f.side,
      line,
      error: String(head.message ?? '').replace(/\.\s*$/, ''),
    };
    // The server refused the first batch, and that batch was one statement: nothing took effect.
    const notApplied = f.index === 1 && isSingleStatement(f.batch.text);
    return new SqlScriptError(f.index - 1, report.text('sqlError', data), data, { detail, notApplied });
  }
  if (isConnectionLoss(error)) {
    const data = { side: f.side, batch: f.index, batches: f.total, error: String(e?.message ?? error).replace(/\.\s*$/, '') };
    if (f.impact !== 'read') return report.outcomeUnknown('outcomeUnknown', data);
    return report.fail('connectionLost', data);
  }
  return error instanceof Error ? error : new Error(String(error));
}
