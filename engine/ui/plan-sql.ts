// The plan as T-SQL: one script per replica (`--format sql --replica <name>`), made to run in
// sqlcmd or SSMS as printed, like SSMS's Script button. It holds only the statements `runbook
// apply` would send to that replica, in order, each batch followed by GO. A script is for one
// server: run on another, its statements would act there, so the plans that send T-SQL to more
// than one replica are printed one replica at a time (engine/commands/plan.ts asks for --replica).
//
// Runnable as printed: every batch declares the parameters it reads (sqlExec's `params:`, sent
// through sp_executesql at apply) as `DECLARE @name type = value;`, since variables live for one
// batch. A value only known after apply cannot be written: it becomes a placeholder that does not
// compile, `<known after apply: steps.x.outputs.y>`, and the script then opens with SET NOEXEC ON
// (MicrosoftDocs/sql-docs set-noexec-transact-sql.md: the batches are compiled, not executed) and
// says that it cannot run as is. Statements of steps decided at run time are commented out
// (`-- GO`), so running the script never runs them blindly. Role aliases (primary, secondary)
// are scripts of their own: which server they are is only known when the step runs.
//
// Every text put after `--` is commented line by line, split at every line break the engine's
// scanner or a script runner may see (CR, LF, NEL, LS, PS): no value (a notify message, a step's
// summary, a path) can leave its comment and stand on a line of its own, as GO or as T-SQL. And
// every value is shown with its control characters escaped (engine/ui/visible.ts); a statement
// that held any is preceded by a comment saying so, since the script shown is then not the text sent.
import type { Plan, PlannedStep, PlanValue } from '../plan/types.js';
import type { ReplicaTarget } from '../core/types.js';
import { unicodeStringLiteral } from '../core/sql-literal.js';
import { splitBatches } from '../drivers/sql/batches.js';
import { scanSql } from '../drivers/sql/scanner.js';
import { mustStartItsBatch } from '../drivers/sql/guarded-batches.js';
import { KNOWN_AFTER_APPLY } from '../step-api/args.js';
import { ESCAPES_NOTE, hasControls, visibleData } from './visible.js';

export const SQL_REPLICAS: readonly ReplicaTarget[] = ['sqlServer', 'managedInstance', 'primary', 'secondary'];
const rule = '-- ' + '='.repeat(72);

/** Line breaks of any kind: what ends a `--` comment for the server (CR, LF) or for a tool (NEL, LS, PS). */
const ANY_LINE_BREAK = /\r\n|[\r\n\u0085\u2028\u2029]/;

export function commentLines(text: string): string {
  return text.split(ANY_LINE_BREAK).map((l) => `-- ${l}`).join('\n');
}

const CONTROLS_WARNING = '-- !! The next statement holds control characters, shown escaped (\\r, \\x1b, \\u202e, ...): the text sent holds the characters themselves.';

const ALONE_NOTE = "-- apply sends the run's lock check as a batch of its own right before the next batch (it must start its batch).";

type Statement = NonNullable<PlannedStep['plan']['sql']>[number] & { controls: boolean };

function stepLabel(step: PlannedStep): string {
  return `Step ${step.index}: ${step.id} (${step.type}, ${step.impact})`;
}

/** The replicas a plan sends T-SQL to (in steps that are not skipped), in a fixed order. */
export function sqlReplicas(plan: Plan): ReplicaTarget[] {
  const found = new Set<ReplicaTarget>();
  for (const s of plan.steps) if (s.decision !== 'skip') for (const q of s.plan.sql ?? []) found.add(q.target);
  return SQL_REPLICAS.filter((t) => found.has(t));
}

function isUnknownValue(v: unknown): v is { unknown: true; from: string } {
  return typeof v === 'object' && v !== null && (v as { unknown?: unknown }).unknown === true;
}

/** `DECLARE @name type = value;` as mssql would type the value for sp_executesql; a placeholder for a value known after apply. */
function declaration(name: string, value: PlanValue | undefined): { text: string; placeholder: boolean } {
  if (isUnknownValue(value)) {
    return { text: `DECLARE @${name} nvarchar(max) = <known after apply: ${value.from}>;`, placeholder: true };
  }
  if (value === null || value === undefined) return { text: `DECLARE @${name} nvarchar(max) = NULL;`, placeholder: false };
  if (typeof value === 'boolean') return { text: `DECLARE @${name} bit = ${value ? 1 : 0};`, placeholder: false };
  if (typeof value === 'number') {
    const type = !Number.isInteger(value) ? 'float' : value < -2147483648 || value > 2147483647 ? 'bigint' : 'int';
    return { text: `DECLARE @${name} ${type} = ${String(value)};`, placeholder: false };
  }
  return { text: `DECLARE @${name} nvarchar(max) = ${unicodeStringLiteral(typeof value === 'string' ? value : JSON.stringify(value))};`, placeholder: false };
}

/** The `@names` a batch reads, as the engine's scanner sees words (not in strings or comments). */
function variablesRead(batch: string): Set<string> {
  const names = new Set<string>();
  for (const t of scanSql(batch)) if (t.kind === 'word' && t.text.startsWith('@') && !t.text.startsWith('@@')) names.add(t.text.slice(1).toLowerCase());
  return names;
}

interface ScriptState {
  /** Values written as placeholders, and statements the script cannot hold: the script cannot run as is. */
  missing: string[];
}

/** One statement as batches: each with the DECLAREs of the parameters it reads, then GO. */
function batchesOf(step: PlannedStep, q: Statement, state: ScriptState, commented: boolean): string[] {
  const out: string[] = [];
  if (q.text === KNOWN_AFTER_APPLY) {
    out.push(commentLines(`!! The T-SQL of this step is only known after apply (it reads values of earlier steps); this script cannot hold it.`));
    if (!commented) state.missing.push(`the T-SQL of step ${step.index} (${step.id})`);
    return out;
  }
  let batches;
  try {
    batches = splitBatches(q.text);
  } catch (error) {
    out.push(commentLines(`!! ${(error as Error).message} The statement is shown commented out.`), commentLines(q.text.trimEnd()));
    if (!commented) state.missing.push(`the T-SQL of step ${step.index} (${step.id}), which cannot be split into batches`);
    return out;
  }
  const params = Object.entries((q.params ?? {}) as Record<string, PlanValue>);
  for (const batch of batches) {
    const reads = variablesRead(batch.text);
    const lines: string[] = [];
    for (const [name, value] of params) {
      if (!reads.has(name.toLowerCase())) continue;
      const d = declaration(name, value);
      if (d.placeholder && !commented) state.missing.push(`@${name} of step ${step.index} (${step.id})`);
      lines.push(d.text);
    }
    lines.push(batch.text.trimEnd(), batch.repeat > 1 ? `GO ${batch.repeat}` : 'GO');
    const text = lines.join('\n');
    if (step.impact !== 'read' && mustStartItsBatch(batch.text)) out.push(ALONE_NOTE);
    if (q.controls) out.push(CONTROLS_WARNING);
    out.push(commented ? commentLines(text) : text);
  }
  return out;
}

/** The T-SQL script of one replica: only its own steps, runnable as printed (or saying why not). */
export function renderPlanSql(given: Plan, replica: ReplicaTarget): string {
  // Texts as they are (to warn about a statement that holds controls), and every value escaped.
  const { value: plan, escaped } = visibleData(given);
  const raw = new Map(given.steps.map((s) => [s.id, s]));
  const statementsOf = (step: PlannedStep): Statement[] =>
    (step.plan.sql ?? [])
      .map((q, index) => ({ ...q, controls: hasControls(raw.get(step.id)?.plan.sql?.[index]?.text ?? '') }))
      .filter((q) => q.target === replica);
  const state: ScriptState = { missing: [] };
  const body: string[] = [];
  for (const step of plan.steps) {
    const statements = statementsOf(step);
    if (statements.length === 0) continue;
    body.push('');
    if (step.decision === 'skip') {
      body.push(commentLines(`${stepLabel(step)}: skipped (when: ${step.when?.expression ?? ''} -> false)`));
      continue;
    }
    body.push(commentLines(stepLabel(step)));
    if (step.description) body.push(commentLines(step.description.trim()));
    body.push(commentLines(step.plan.summary));
    for (const guard of step.plan.guards ?? []) body.push(commentLines(`guard: ${guard}`));
    const runTime = step.decision === 'decided at run time';
    if (runTime) body.push(commentLines(`Runs only if \`${step.when?.expression ?? ''}\` is true: decided at run time, so it is commented out here.`));
    for (const q of statements) body.push(...batchesOf(step, q, state, runTime));
  }

  const others = new Map<ReplicaTarget, number[]>();
  for (const step of plan.steps) {
    if (step.decision === 'skip') continue;
    for (const q of step.plan.sql ?? []) {
      if (q.target === replica) continue;
      const list = others.get(q.target) ?? [];
      if (!list.includes(step.index)) list.push(step.index);
      others.set(q.target, list);
    }
  }

  const out: string[] = [];
  out.push(rule);
  out.push(`-- T-SQL for ${replica}: runbook plan --format sql --replica ${replica}`);
  if (replica === 'primary' || replica === 'secondary') {
    out.push(`-- Run it on whichever replica is the ${replica} when each step runs: the roles change during a failover.`);
  }
  out.push(commentLines(`Runbook ${plan.runbook.name} (${plan.runbook.file}, sha256 ${plan.runbook.sha256})`));
  out.push(commentLines(`Link ${plan.inventory.link}, database ${plan.inventory.database}`));
  out.push(`-- The statements \`runbook apply\` would send to ${replica}, in order. Each batch declares the`);
  out.push('-- parameters it reads. apply adds what these statements alone lack: the lock on the link, the');
  out.push('-- LSN waits and the checks between steps. Each batch of a sqlExec change step is preceded by');
  out.push("-- the run's lock check (THROW 59317 unless this run's lock session still holds the link's lock):");
  out.push('-- at the head of the batch, or as a batch of its own where marked. The check is not printed here.');
  if (others.size) {
    const list = SQL_REPLICAS.filter((t) => others.has(t)).map((t) => `${t} (step${others.get(t)!.length > 1 ? 's' : ''} ${others.get(t)!.join(', ')})`);
    out.push(commentLines(`Other replicas have scripts of their own (--replica <name>): ${list.join(', ')}.`));
  }
  if (escaped) out.push(commentLines(ESCAPES_NOTE));
  out.push(rule);
  if (state.missing.length) {
    out.push(commentLines(`!! This script cannot run as is: ${state.missing.join('; ')} ${state.missing.length > 1 ? 'are' : 'is'} only known after apply, shown as <known after apply: ...>.`));
    out.push('-- SET NOEXEC ON makes SQL Server compile each batch without running it. Fill in the values, then delete it.');
    out.push('SET NOEXEC ON;', 'GO');
  }
  if (body.length === 0) out.push('', commentLines(`This plan sends no T-SQL to ${replica}.`));
  out.push(...body);
  return out.join('\n') + '\n';
}
