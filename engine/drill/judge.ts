// The drill's judge: the promises every runbook must keep, checked against what the lab itself
// recorded (its statement log, ARM log, ledger and roles), with the runs' exit codes and summaries
// as claims to test against it. Pure: the same record always gets the same verdict.
import type { ArmRequest, Invocation, JournalRecord, LoggedStatement, RecordedRun, Roles, Side, Violation } from './record.js';

/** A planned FAILOVER statement, alone (its text as the lab logs it). */
export const FAILOVER_STATEMENT = /^\s*ALTER\s+AVAILABILITY\s+GROUP\s+\S+\s+FAILOVER\s*;?\s*$/i;
export const isFailover = (s: string) => FAILOVER_STATEMENT.test(s);

/**
 * A statement that changes a replica: it begins with a data-definition, backup or data-changing
 * keyword, or holds an ALTER AVAILABILITY GROUP anywhere (after a comment, inside a batch).
 */
export function isChangeStatement(text: string): boolean {
  return /^\s*(ALTER|BACKUP|DROP|RESTORE|CREATE|INSERT|UPDATE|DELETE|MERGE|TRUNCATE|KILL)\b/i.test(text) || /\bALTER\s+AVAILABILITY\s+GROUP\b/i.test(text);
}

/** The lab carried the statement out and it raised no error. */
export const applied = (s: LoggedStatement) => s.errorNumber === null && s.notCarriedOut === undefined;

const isArmWrite = (r: ArmRequest) => r.method !== 'GET' && r.status >= 200 && r.status < 300;

/** A change the lab saw take effect: a statement or an accepted ARM request, and when. */
interface Change {
  what: string;
  at: number;
}

export function appliedChanges(run: Pick<RecordedRun, 'statements' | 'arm'>): Change[] {
  const sql = run.statements.filter((s) => isChangeStatement(s.statement) && applied(s)).map((s) => ({ what: `${s.side}: ${oneLine(s.statement)}`, at: s.at }));
  const arm = run.arm.filter(isArmWrite).map((r) => ({ what: `ARM ${r.method} ${r.path}`, at: r.at }));
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
  ];
}

function transactionsLost(run: RecordedRun): Violation[] {
  const lost = run.ledger.after.lost - run.ledger.before.lost;
  if (lost <= 0) return [];
  const declared = run.runbook.dataLossSteps;
  const ran = dataLossStepsStarted(run);
  if (ran.length && run.acknowledgedDataLoss) return [];
  const why = !declared.length
    ? 'the runbook has no dataLoss step of its own (a step the engine marked dataLoss because no LSN wait comes before it does not count)'
    : !ran.length
      ? `no dataLoss step of the runbook's own ran (${declared.join(', ')} never started, so the loss came from elsewhere)`
      : 'the run was not given --allow-data-loss';
  return [{ invariant: 'transaction-lost', message: `${lost} committed transaction(s) lost (lab ledger), but ${why}` }];
}

/** The author's dataLoss steps that some run of this record started (its journal says so). */
function dataLossStepsStarted(run: RecordedRun): string[] {
  const declared = new Set(run.runbook.dataLossSteps);
  const started = new Set<string>();
  for (const inv of run.invocations) for (const r of inv.journal ?? []) if (r.kind === 'step-started' && typeof r.step === 'string' && declared.has(r.step)) started.add(r.step);
  return [...started];
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
  return out;
}

const bothPrimary = (r: Roles) => r.sqlServer === 'PRIMARY' && r.managedInstance === 'PRIMARY';
const SAYS_SPLIT_BRAIN = /SPLIT-BRAIN|two primaries/i;

function twoPrimaries(run: RecordedRun): Violation[] {
  if (!bothPrimary(run.roles.after)) return [];
  // A lab that started in split-brain and a runbook that left it so is not this runbook's doing.
  if (bothPrimary(run.roles.before)) return [];
  if (!run.runbook.declaresSplitBrain) {
    return [{ invariant: 'two-primaries', message: 'both replicas are PRIMARY at the end, and the runbook does not declare the split-brain outcome (outcomes.splitBrain)' }];
  }
  const said = run.invocations.some((i) => SAYS_SPLIT_BRAIN.test(i.stdout + i.stderr));
  return said ? [] : [{ invariant: 'summary-disagrees', message: 'both replicas are PRIMARY at the end, and no run said so' }];
}

const NOTHING_CHANGED = /^Nothing was changed\.$/m;
const SAYS_CHANGED = /^(Changed|May have changed): /m;

/** The invocations running at instant `at`. */
const runningAt = (invocations: Invocation[], at: number) => invocations.filter((i) => i.startedAt <= at && at <= i.endedAt);

function summaries(run: RecordedRun): Violation[] {
  const out: Violation[] = [];
  const changes = appliedChanges(run);
  for (const inv of run.invocations) {
    if (inv.code === null) continue;
    const text = inv.stdout + inv.stderr;
    const mine = changes.filter((c) => inv.startedAt <= c.at && c.at <= inv.endedAt);
    // A change made while another process ran too is blamed on this one only if every one of them says it changed nothing.
    const unexplained = mine.filter((c) => runningAt(run.invocations, c.at).every((o) => o === inv || (o.code !== null && claimsNoChange(o))));
    if (claimsNoChange(inv) && unexplained.length) {
      const said = NOTHING_CHANGED.test(text) ? 'says "Nothing was changed."' : 'exits 1 (failed before any change)';
      out.push({ invariant: 'summary-disagrees', message: `${label(inv)} ${said}, but the lab saw: ${unexplained.map((c) => c.what).join('; ')}` });
    }
    const alone = mine.filter((c) => runningAt(run.invocations, c.at).length === 1);
    if (!claimsNoChange(inv) && alone.length && !SAYS_CHANGED.test(text) && inv.code !== 0) {
      out.push({ invariant: 'summary-disagrees', message: `${label(inv)} exits ${inv.code} without saying what changed, but the lab saw: ${alone.map((c) => c.what).join('; ')}` });
    }
    if (inv.code === 4 && !changes.some((c) => c.at <= inv.endedAt)) {
      out.push({ invariant: 'summary-disagrees', message: `${label(inv)} exits 4 (failed after a change), but the lab saw no change` });
    }
  }
  return out;
}

function claimsNoChange(inv: Invocation): boolean {
  return inv.code === 1 || NOTHING_CHANGED.test(inv.stdout + inv.stderr);
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
    const asserted = lastAssertedPrimary(inv.journal ?? []);
    const otherStillPrimary = asserted !== undefined && !run.runbook.declaresSplitBrain && after[otherSide(asserted)] === 'PRIMARY';
    if (asserted && (after[asserted] !== 'PRIMARY' || otherStillPrimary) && !bothPrimary(after)) {
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
  return run.invocations.filter((i) => i.timedOut).map((i) => ({ invariant: 'run-hung' as const, message: `${label(i)} did not end within the drill's deadline (${Math.round((i.endedAt - i.startedAt) / 1000)} s)` }));
}

const otherSide = (s: Side): Side => (s === 'sqlServer' ? 'managedInstance' : 'sqlServer');
const rolesText = (r: Roles) => `sqlServer ${r.sqlServer}, managedInstance ${r.managedInstance}`;
const label = (i: Invocation) => (i.role === 'first' ? 'the run' : i.role === 'resume' ? 'the resumed run' : 'the second operator');
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * A change statement's identity, whatever its spelling: T-SQL keywords and (under the default
 * collations) identifiers are case-insensitive, `[dag1]`, `"dag1"` and `dag1` name the same object,
 * and whitespace or a trailing `;` change nothing. Erring towards "the same" is the safe side: two
 * statements that differ only in a literal's case are counted as one change sent twice.
 */
export function changeKey(statement: string): string {
  return oneLine(statement)
    .toLowerCase()
    .replace(/\[([^\]]*)\]|"([^"]*)"/g, (_m, b: string | undefined, q: string | undefined) => b ?? q ?? '')
    .replace(/\s*([(),=;])\s*/g, '$1')
    .replace(/;+$/, '')
    .trim();
}
