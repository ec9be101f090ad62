// The drill's judge: the promises every runbook must keep, checked against what the lab itself
// recorded (its statement log, ARM log, ledger and roles), with the runs' exit codes and summaries
// as claims to test against it. Pure: the same record always gets the same verdict.
import { ARM_ROLE_CHANGE, changeKey, declaresChange, lossNotOwned, statementsOf, undeclaredChanges, type Change } from './attribution.js';
import type { ArmRequest, Invocation, JournalRecord, LoggedStatement, RecordedRun, Roles, Side, Violation } from './record.js';

export { changeKey, stepSpans } from './attribution.js';

/** A planned FAILOVER statement, alone (its text as the lab logs it). */
export const FAILOVER_STATEMENT = /^\s*ALTER\s+AVAILABILITY\s+GROUP\s+\S+\s+FAILOVER\s*;?\s*$/i;
export const isFailover = (s: string) => FAILOVER_STATEMENT.test(s);

/**
 * A statement that changes a replica: it begins with a data-definition, backup or data-changing
 * keyword, or holds an ALTER AVAILABILITY GROUP anywhere (after a comment, inside a batch).
 */
export function isChangeStatement(text: string): boolean {
  // Not the lab's normaliser's job alone (it logs each statement of a batch without comments):
  // comments out and each `;`-separated statement on its own, so `SET NOCOUNT ON; DROP ...` or
  // `/* x */ DROP ...` count too (attack r4-drill #6).
  return statementsOf(text).some((part) => CHANGE_START.test(part) || CTE_CHANGE.test(part)) || /\bALTER\s+AVAILABILITY\s+GROUP\b/i.test(text);
}

const CHANGE_START = /^\s*(ALTER|BACKUP|DROP|RESTORE|CREATE|INSERT|UPDATE|DELETE|MERGE|TRUNCATE|KILL)\b/i;
/** `WITH x AS (...) DELETE ...`: a common table expression in front of a data change. */
const CTE_CHANGE = /^\s*WITH\b[\s\S]*\)\s*(INSERT|UPDATE|DELETE|MERGE)\b/i;

/** The lab carried the statement out and it raised no error. */
export const applied = (s: LoggedStatement) => s.errorNumber === null && s.notCarriedOut === undefined;

const isArmWrite = (r: ArmRequest) => r.method !== 'GET' && r.status >= 200 && r.status < 300;

export function appliedChanges(run: Pick<RecordedRun, 'statements' | 'arm'>): Change[] {
  const sql = run.statements.filter((s) => isChangeStatement(s.statement) && applied(s)).map((s): Change => ({ what: `${s.side}: ${oneLine(s.statement)}`, at: s.at, target: s.side, text: s.statement }));
  const arm = run.arm.filter(isArmWrite).map((r): Change => ({ what: `ARM ${r.method} ${r.path}`, at: r.at, target: 'arm', text: `${r.method} ${r.path}` }));
  return [...sql, ...arm].sort((a, b) => a.at - b.at);
}

export function judge(run: RecordedRun): Violation[] {
  return [
    ...transactionsLost(run),
    ...changesAppliedTwice(run),
    ...twoPrimaries(run),
    ...summaries(run),
    ...exitZeroRoles(run),
    ...secretsLeaked(run),
    ...hungRuns(run),
    ...undeclaredChanges(run, appliedChanges(run)),
  ];
}

function transactionsLost(run: RecordedRun): Violation[] {
  const lost = run.ledger.after.lost - run.ledger.before.lost;
  if (lost <= 0) return [];
  const declared = run.runbook.dataLossSteps;
  // The loss must be the author's dataLoss step's own: a step that merely started (or ran after
  // the change that lost them) excuses nothing (attack r4-drill #1).
  const notOwned = declared.length ? lossNotOwned(run, appliedChanges(run)) : undefined;
  if (declared.length && !notOwned && run.acknowledgedDataLoss) return [];
  const why = !declared.length
    ? 'the runbook has no dataLoss step of its own (a step the engine marked dataLoss because no LSN wait comes before it does not count)'
    : notOwned ?? 'the run was not given --allow-data-loss';
  return [{ invariant: 'transaction-lost', message: `${lost} committed transaction(s) lost (lab ledger), but ${why}` }];
}

function changesAppliedTwice(run: RecordedRun): Violation[] {
  const out: Violation[] = [];
  // By text alone, whichever replica ran it: the link is one object, and a FAILOVER sent again to
  // the new primary moves the roles back as surely as one sent twice to the old.
  const byText = new Map<string, { sides: Side[]; first: string }>();
  for (const s of run.statements) {
    if (!isChangeStatement(s.statement) || !applied(s)) continue;
    const key = changeKey(s.statement);
    const seen = byText.get(key) ?? { sides: [], first: oneLine(s.statement) };
    byText.set(key, { ...seen, sides: [...seen.sides, s.side] });
  }
  for (const { sides, first } of byText.values()) if (sides.length > 1) out.push({ invariant: 'change-applied-twice', message: `applied ${sides.length} times (on ${sides.join(', then ')}): ${first}` });
  // An accepted ARM write (not a DELETE: a second one finds nothing) counts once per resource,
  // less the operations the lab accepted and then failed on purpose (they did not take effect).
  const armWrites = new Map<string, number>();
  for (const r of run.arm) {
    if (!isArmWrite(r) || r.method === 'DELETE') continue;
    const key = `${r.method} ${r.path}`;
    armWrites.set(key, (armWrites.get(key) ?? 0) + 1);
  }
  let allowance = run.failedArmOperations;
  for (const [key, n] of armWrites) {
    const extra = n - 1 - allowance;
    allowance = Math.max(0, allowance - (n - 1));
    if (extra > 0) out.push({ invariant: 'change-applied-twice', message: `ARM accepted ${n} times: ${key}` });
  }
  // The same role change by another channel: an ARM failover or setRole after a T-SQL FAILOVER moves the
  // roles again (attack r4-drill #4). Not the other way round: split-brain.yml demotes the MI
  // through ARM and then runs FAILOVER, two different changes.
  const tsql = run.statements.find((s) => isFailover(s.statement) && applied(s));
  const armAgain = tsql ? run.arm.filter((r) => isArmWrite(r) && r.method === 'POST' && ARM_ROLE_CHANGE.test(r.path) && r.at > tsql.at) : [];
  if (armAgain.length > allowance) out.push({ invariant: 'change-applied-twice', message: `the link failed over by T-SQL (${tsql!.side}: ${oneLine(tsql!.statement)}), then again by ARM POST ${armAgain[0]!.path}` });
  return out;
}

const hasPrimary = (r: Roles) => r.sqlServer === 'PRIMARY' || r.managedInstance === 'PRIMARY';
const bothPrimary = (r: Roles) => r.sqlServer === 'PRIMARY' && r.managedInstance === 'PRIMARY';

function twoPrimaries(run: RecordedRun): Violation[] {
  if (!bothPrimary(run.roles.after)) return [];
  // A lab that started in split-brain and a runbook that left it so is not this runbook's doing.
  if (bothPrimary(run.roles.before)) return [];
  if (!run.runbook.declaresSplitBrain) {
    return [{ invariant: 'two-primaries', message: 'both replicas are PRIMARY at the end, and the runbook does not declare the split-brain outcome (outcomes.splitBrain)' }];
  }
  // The engine's own record, not words: an author's notify can say "two primaries" of anything.
  const recorded = run.invocations.filter((i) => bothPrimaryRecorded(i.journal ?? []));
  if (!recorded.length) return [{ invariant: 'summary-disagrees', message: "both replicas are PRIMARY at the end, and no run's journal recorded the link so (its last link-state)" }];
  // ...and the run that recorded it told the operator so in the engine's own words
  // (engine/apply/split-brain.ts), whatever its notify steps said (attack r4-drill #3). A notify
  // that forges the line only warns more: the safe side.
  if (recorded.some((i) => ENGINE_SPLIT_BRAIN.test(i.stdout + i.stderr))) return [];
  return [{ invariant: 'summary-disagrees', message: `both replicas are PRIMARY at the end and ${label(recorded[0]!)}'s journal recorded it, but it did not say SPLIT-BRAIN in the engine's words` }];
}

/** The engine's split-brain notice (engine/apply/split-brain.ts), as its summary prints it. */
const ENGINE_SPLIT_BRAIN = /SPLIT-BRAIN: (both replicas of link \S+ say PRIMARY|\S+ says PRIMARY on link \S+ and \S+ could not be read)/;

/**
 * The engine's last record of the link in a journal (a `link-state`, written by the lock at the
 * start and after each change step that changed the link), read after its last change step began, leaves the split-brain standing: one
 * replica PRIMARY, and the other PRIMARY too or out of its reach (not locked, or not readable),
 * which then keeps the PRIMARY role it had for all the run could tell: the old primary that is
 * down during a forced failover says PRIMARY again when it comes back.
 */
export function bothPrimaryRecorded(records: JournalRecord[]): boolean {
  const lastAt = lastIndex(records, (r) => r.kind === 'link-state');
  // Read after the run's last change step began, or it tells of the link before that change
  // (a start record with the MI briefly unreadable proves nothing of the end: attack r4-drill #6).
  const lastChange = lastIndex(records, (r) => r.kind === 'step-started' && declaresChange(String(r.impact)));
  if (lastAt < 0 || lastAt < lastChange) return false;
  const last = records[lastAt]!;
  const state = last.state as Partial<Record<Side, { readable?: boolean; role?: string }>>;
  const primaryOrUnseen = (side: Side) => state[side]?.readable !== true || state[side]?.role === 'PRIMARY';
  const primary = (side: Side) => state[side]?.readable === true && state[side]?.role === 'PRIMARY';
  return (primary('sqlServer') && primaryOrUnseen('managedInstance')) || (primary('managedInstance') && primaryOrUnseen('sqlServer'));
}


/** The invocations running at instant `at`. */
const runningAt = (invocations: Invocation[], at: number) => invocations.filter((i) => i.startedAt <= at && at <= i.endedAt);

function summaries(run: RecordedRun): Violation[] {
  const out: Violation[] = [];
  const changes = appliedChanges(run);
  for (const inv of run.invocations) {
    if (inv.code === null) continue;
    const mine = changes.filter((c) => inv.startedAt <= c.at && c.at <= inv.endedAt);
    // A change made while another process ran too is blamed on this one only if every one of them says it changed nothing.
    const unexplained = mine.filter((c) => runningAt(run.invocations, c.at).every((o) => o === inv || (o.code !== null && claimsNoChange(o))));
    if (claimsNoChange(inv) && unexplained.length) {
      const said = inv.code === 1 ? 'exits 1 (failed before any change)' : 'says "Nothing was changed." (its journal\'s run-finished names no change)';
      out.push({ invariant: 'summary-disagrees', message: `${label(inv)} ${said}, but the lab saw: ${unexplained.map((c) => c.what).join('; ')}` });
    }
    const alone = mine.filter((c) => runningAt(run.invocations, c.at).length === 1);
    if (inv.abandonedByDrill) {
      if (alone.length && !journalNamesChanges(inv.journal ?? [])) out.push({ invariant: 'summary-disagrees', message: `${label(inv)} was abandoned and its journal names no change, but the lab saw: ${alone.map((c) => c.what).join('; ')}` });
      continue;
    }
    if (!claimsNoChange(inv) && alone.length && !journalNamesChanges(inv.journal ?? []) && inv.code !== 0) {
      out.push({ invariant: 'summary-disagrees', message: `${label(inv)} exits ${inv.code} without saying what changed, but the lab saw: ${alone.map((c) => c.what).join('; ')}` });
    }
    if (inv.code === 4 && !changes.some((c) => c.at <= inv.endedAt)) {
      out.push({ invariant: 'summary-disagrees', message: `${label(inv)} exits 4 (failed after a change), but the lab saw no change` });
    }
  }
  return out;
}

const lastIndex = <T>(items: T[], is: (item: T) => boolean) => items.map(is).lastIndexOf(true);

/**
 * The engine's own summary: its journal's last run-finished record (what its "Changed:" and
 * "Nothing was changed." lines are printed from). Never its output, where a notify step can print
 * any line (attack r4-drill #5).
 */
const runFinished = (records: JournalRecord[]) => records.filter((r) => r.kind === 'run-finished').at(-1);
const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);

/** The journal's last run-finished record names a change done or one that may have acted. */
function journalNamesChanges(records: JournalRecord[]): boolean {
  const end = runFinished(records);
  return end !== undefined && count(end.changed) + count(end.mayHaveChanged) > 0;
}

function claimsNoChange(inv: Invocation): boolean {
  // An abandoned run prints no summary; its journal is held to account below instead.
  if (inv.abandonedByDrill) return false;
  const end = runFinished(inv.journal ?? []);
  return inv.code === 1 || (end !== undefined && count(end.changed) + count(end.mayHaveChanged) === 0);
}

/**
 * An exit 0 ends with the roles the runbook asserted last (its last assertRole that finished, read
 * from the run's journal), and with one primary unless the runbook declares split-brain. Skipped
 * for a run after whose end another process changed something.
 */
function exitZeroRoles(run: RecordedRun): Violation[] {
  const out: Violation[] = [];
  const changes = appliedChanges(run);
  for (const inv of run.invocations) {
    if (inv.code !== 0) continue;
    if (changes.some((c) => c.at > inv.endedAt)) continue;
    const after = run.roles.after;
    if (bothPrimary(after) && !run.runbook.declaresSplitBrain && !bothPrimary(run.roles.before)) {
      out.push({ invariant: 'exit-0-wrong-roles', message: `${label(inv)} exits 0 with both replicas PRIMARY` });
    }
    // No writable side is no more "done" than two (attack r4-drill #4): a lab that started so aside.
    if (!hasPrimary(after) && hasPrimary(run.roles.before)) {
      out.push({ invariant: 'exit-0-wrong-roles', message: `${label(inv)} exits 0, but no replica is PRIMARY at the end (${rolesText(after)})` });
    }
    const asserted = lastAssertedPrimary(inv.journal ?? []);
    const otherStillPrimary = asserted !== undefined && !run.runbook.declaresSplitBrain && after[otherSide(asserted)] === 'PRIMARY';
    if (asserted && (after[asserted] !== 'PRIMARY' || otherStillPrimary) && !bothPrimary(after) && hasPrimary(after)) {
      out.push({ invariant: 'exit-0-wrong-roles', message: `${label(inv)} exits 0 and asserted ${asserted} the primary, but the lab ends with ${rolesText(after)}` });
    }
  }
  return out;
}

/** The `primary` output of the last assertRole step that finished in a journal. */
export function lastAssertedPrimary(records: JournalRecord[]): Side | undefined {
  const types = new Map<string, string>();
  let primary: Side | undefined;
  for (const r of records) {
    if (r.kind === 'step-started' && typeof r.step === 'string' && typeof r.type === 'string') types.set(r.step, r.type);
    if (r.kind === 'step-finished' && typeof r.step === 'string' && types.get(r.step) === 'assertRole') {
      const p = r.outputs?.primary;
      if (p === 'sqlServer' || p === 'managedInstance') primary = p;
    }
  }
  return primary;
}

function secretsLeaked(run: RecordedRun): Violation[] {
  const out: Violation[] = [];
  const sinks: Array<[string, string]> = [
    ...run.invocations.flatMap((i): Array<[string, string]> => [[`${label(i)} stdout`, i.stdout], [`${label(i)} stderr`, i.stderr]]),
    ['the journal', run.journalText],
  ];
  for (const secret of run.secrets.filter((s) => s.length >= 6)) {
    for (const [where, text] of sinks) {
      // Never the secret itself in the verdict: where it leaked is enough.
      if (text.includes(secret)) out.push({ invariant: 'secret-leaked', message: `a lab secret (${secret.length} characters) appears in ${where}` });
    }
  }
  return out;
}

function hungRuns(run: RecordedRun): Violation[] {
  return run.invocations
    .filter((i) => i.timedOut)
    .map((i) => ({ invariant: 'run-hung' as const, message: `${label(i)} did not end within the drill's deadline (${Math.round((i.endedAt - i.startedAt) / 1000)} s)${whereHung(i)}` }));
}

/**
 * Where a run the drill killed at its deadline was: the step its journal shows started and not
 * ended, the last statement that step journaled (before sending it), and the last line it printed,
 * because its journal and output go with the run's temporary folder.
 */
export function whereHung(inv: Pick<Invocation, 'journal' | 'stdout' | 'stderr'>): string {
  let open: JournalRecord | undefined;
  let statement: JournalRecord | undefined;
  for (const r of inv.journal ?? []) {
    if (r.kind === 'step-started') [open, statement] = [r, undefined];
    else if (r.kind === 'statement' && open && r.step === open.step) statement = r;
    else if ((r.kind === 'step-finished' || r.kind === 'step-failed' || r.kind === 'step-skipped') && open && r.step === open.step) [open, statement] = [undefined, undefined];
  }
  const parts: string[] = [];
  if (open) parts.push(`in step ${String(open.step)} (${String(open.type)}, ${String(open.impact)})`);
  else parts.push(inv.journal?.length ? 'between steps (no step open in its journal)' : 'before its journal began');
  if (statement) parts.push(`last statement to ${String(statement.target)}: ${excerptOf(String(statement.text))}`);
  const lastLine = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean).at(-1);
  for (const [stream, text] of [['stdout', inv.stdout], ['stderr', inv.stderr]] as const) {
    const line = lastLine(text);
    if (line) parts.push(`last on ${stream}: ${excerptOf(line)}`);
  }
  return `: ${parts.join('; ')}`;
}

const excerptOf = (text: string, max = 120) => {
  const line = oneLine(text);
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

const otherSide = (s: Side): Side => (s === 'sqlServer' ? 'managedInstance' : 'sqlServer');
const rolesText = (r: Roles) => `sqlServer ${r.sqlServer}, managedInstance ${r.managedInstance}`;
const label = (i: Invocation) => (i.role === 'first' ? 'the run' : i.role === 'resume' ? 'the resumed run' : 'the second operator');
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
