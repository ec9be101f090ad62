// Reading journals back: the state of each step of a run (for `apply --resume`) and the state of
// each run (for `runbook runs`). Records come from engine/apply/journal/read.ts, which refuses a damaged
// journal (only a torn last line, left by a crash mid-write, is dropped).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JournalDamage, readJournal, type Recorded } from './read.js';
import type { Impact } from '../../core/types.js';
import { fingerprintMatches } from '../../core/secrets.js';
import { processAlive } from './owner.js';
import type { LinkState } from '../../drivers/sql/lock.js';

export type { Recorded } from './read.js';

export function journalPath(dir: string, runId: string): string {
  return join(dir, `${runId}.jsonl`);
}

/** What the journal says about one step, from its last records; `impact` as its last start recorded it. */
export type StepState = (
  | { status: 'finished'; outputs: Record<string, unknown>; verified?: boolean }
  | { status: 'skipped' }
  /** Started and never ended: it may have acted. */
  | { status: 'started' }
  | { status: 'failed'; outcome: 'failed' | 'refused' | 'unknown' | 'interrupted'; error: string; nothingSent?: true; mayHaveActed?: boolean }
) & { impact?: Impact };

export function stepStates(records: Recorded[]): Map<string, StepState> {
  const states = new Map<string, StepState>();
  const impacts = new Map<string, Impact>();
  const impactOf = (step: string) => {
    const impact = impacts.get(step);
    return impact ? { impact } : {};
  };
  for (const r of records) {
    switch (r.kind) {
      case 'step-started':
        impacts.set(r.step, r.impact as Impact);
        states.set(r.step, { status: 'started', ...impactOf(r.step) });
        break;
      case 'step-finished':
        states.set(r.step, { status: 'finished', outputs: r.outputs, ...(r.verified ? { verified: true } : {}), ...impactOf(r.step) });
        break;
      case 'step-skipped':
        states.set(r.step, { status: 'skipped' });
        break;
      case 'step-failed':
        // A failed attempt that will be retried leaves the step "started" until the next attempt.
        if (!r.willRetry) states.set(r.step, { status: 'failed', outcome: r.outcome, error: r.error, ...(r.nothingSent === true ? { nothingSent: true } : {}), ...(typeof r.mayHaveActed === 'boolean' ? { mayHaveActed: r.mayHaveActed } : {}), ...impactOf(r.step) });
        break;
    }
  }
  return states;
}

/** The last state of the link the journal recorded, and the steps with a record after it (they may have changed the link since). */
export interface RecordedLinkState {
  state: LinkState;
  /** The change step it was read after; absent: at the start of a part of the run. */
  after?: string;
  stepsSince: Set<string>;
}

export function lastLinkState(records: Recorded[]): RecordedLinkState | undefined {
  let last: RecordedLinkState | undefined;
  for (const r of records) {
    if (r.kind === 'link-state') last = { state: r.state, ...(r.after !== undefined ? { after: r.after } : {}), stepsSince: new Set() };
    else if (last && (r.kind === 'step-started' || r.kind === 'step-finished' || r.kind === 'step-failed')) last.stepsSince.add(r.step);
  }
  return last;
}

/**
 * Why a run may not be resumed because its lock was lost and the link was acted on meanwhile: a
 * lock-lost record naming another holder or changes to the link (engine/drivers/sql/lock.ts). Its
 * journal no longer describes the link, and a resume would act on what it read before. Said as the
 * run knew it: changes found after a loss during one of its own change steps may be that step's
 * doing, which the run could not tell from someone else's.
 */
export function lockLossVerdict(records: Recorded[]): string | undefined {
  const losses = records.filter((r): r is Extract<Recorded, { kind: 'lock-lost' }> => r.kind === 'lock-lost' && (r.holder !== undefined || r.changes.length > 0));
  if (losses.length === 0) return undefined;
  const byOthers: string[] = [];
  const unsure: string[] = [];
  for (const r of losses) {
    // Journals written before ownStep was recorded say it in the message only.
    const ownStep = r.ownStep ?? /cannot tell whether its step (\S+), which was changing/.exec(r.message)?.[1];
    if (r.holder === undefined && ownStep !== undefined) {
      unsure.push(`the link changed while its own step ${ownStep} was running (${r.changes.join('; ')}), and it could not tell whether that step or someone else did that`);
      continue;
    }
    if (r.holder !== undefined) byOthers.push(`${r.holder} took the lock`);
    byOthers.push(...r.changes);
  }
  const parts = [...(byOthers.length ? [`someone else acted on the link (${[...new Set(byOthers)].join('; ')})`] : []), ...new Set(unsure)];
  return `it stopped because its link lock was lost and ${parts.join('; and ')}`;
}

export type RunState = 'running' | 'succeeded' | 'failed' | 'interrupted' | 'unknown' | 'damaged';

export interface RunInfo {
  runId: string;
  runbook: string;
  link: string;
  started: string;
  state: RunState;
  exitCode?: number;
  lastStep?: { id: string; status: string };
  user: string;
  host: string;
  pid: number;
  journal: string;
  /** For a damaged journal: `<journal>:<line>: <problem>` (a resume refuses it). */
  damage?: string;
}

export function runInfo(path: string, records: Recorded[], thisHost: string): RunInfo | undefined {
  const start = records.find((r): r is Extract<Recorded, { kind: 'run-started' }> => r.kind === 'run-started');
  if (!start) return undefined;
  let owner = { user: start.user, host: start.host, pid: start.pid };
  let finished: Extract<Recorded, { kind: 'run-finished' }> | undefined;
  let lastStep: RunInfo['lastStep'];
  for (const r of records) {
    if (r.kind === 'run-resumed') {
      owner = { user: r.user, host: r.host, pid: r.pid };
      finished = undefined;
    } else if (r.kind === 'run-finished') finished = r;
    else if (r.kind === 'step-started') lastStep = { id: r.step, status: 'started' };
    else if (r.kind === 'step-finished') lastStep = { id: r.step, status: r.verified ? 'verified done' : 'finished' };
    else if (r.kind === 'step-failed' && !r.willRetry) lastStep = { id: r.step, status: r.outcome };
    else if (r.kind === 'step-skipped') lastStep = { id: r.step, status: 'skipped' };
  }
  let state: RunState;
  if (finished) {
    const code = finished.exitCode;
    state = code === 0 ? 'succeeded' : code === 130 ? 'interrupted' : code === 5 ? 'unknown' : 'failed';
  } else if (owner.host === thisHost && !processAlive(owner.pid)) {
    // The process is gone without a last word: killed or crashed.
    state = 'interrupted';
  } else state = 'running';
  return {
    runId: start.runId,
    runbook: start.runbook.name,
    link: start.link,
    started: start.at ?? '',
    state,
    ...(finished ? { exitCode: finished.exitCode } : {}),
    ...(lastStep ? { lastStep } : {}),
    user: owner.user,
    host: owner.host,
    pid: owner.pid,
    journal: path,
  };
}

export function listRuns(dir: string, thisHost: string): RunInfo[] {
  if (!existsSync(dir)) return [];
  const out: RunInfo[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort()) {
    const path = join(dir, name);
    const runId = name.replace(/\.jsonl$/, '');
    try {
      const info = runInfo(path, readJournal(path, runId).records, thisHost);
      if (info) out.push(info);
    } catch (error) {
      // A damaged (or unreadable) journal is listed as such, never hidden: its run may have changed the link.
      out.push(damagedRun(path, runId, error));
    }
  }
  return out;
}

/** What can still be told about a run whose journal is damaged: its first line, if that much is readable. */
function damagedRun(path: string, runId: string, error: unknown): RunInfo {
  let start: Partial<Extract<Recorded, { kind: 'run-started' }>> = {};
  try {
    const first = JSON.parse(readFirstLine(path)) as unknown;
    if (first && typeof first === 'object' && (first as { kind?: unknown }).kind === 'run-started') start = first as typeof start;
  } catch {
    // Not even the first line: only the file name is known.
  }
  const text = (v: unknown) => (typeof v === 'string' ? v : '?');
  return {
    runId,
    runbook: text(start.runbook?.name),
    link: text(start.link),
    started: typeof start.at === 'string' ? start.at : '',
    state: 'damaged',
    user: text(start.user),
    host: text(start.host),
    pid: typeof start.pid === 'number' ? start.pid : 0,
    journal: path,
    damage: error instanceof JournalDamage ? error.message : `${path}: ${(error as Error).message}`,
  };
}

function readFirstLine(path: string): string {
  const text = readFileSync(path, 'utf8');
  const nl = text.indexOf('\n');
  return nl === -1 ? text : text.slice(0, nl);
}

/** What a resume must find unchanged; each difference is one line for the operator. */
export interface RunIdentity {
  runbookSha256: string;
  inventorySha256: string;
  inputs: Record<string, unknown>;
}

export function identityDifferences(recorded: Extract<Recorded, { kind: 'run-started' }>, now: RunIdentity): string[] {
  const out: string[] = [];
  if (recorded.runbook.sha256 !== now.runbookSha256) {
    out.push(`the runbook ${recorded.runbook.file} changed (sha256 ${recorded.runbook.sha256.slice(0, 12)} -> ${now.runbookSha256.slice(0, 12)})`);
  }
  const inv = recorded.inventory?.sha256;
  if (inv === undefined) out.push('the journal does not record which inventory the run used');
  else if (inv !== now.inventorySha256) out.push(`the inventory changed (sha256 ${inv.slice(0, 12)} -> ${now.inventorySha256.slice(0, 12)})`);
  const names = new Set([...Object.keys(recorded.inputs), ...Object.keys(now.inputs)]);
  for (const name of [...names].sort()) {
    const before = JSON.stringify(recorded.inputs[name]);
    const after = JSON.stringify(now.inputs[name]);
    if (before !== after) out.push(`input ${name} changed (${before ?? 'unset'} -> ${after ?? 'unset'})`);
  }
  return out;
}

/**
 * Secret inputs are only a placeholder in the journal: the value given again must match the
 * fingerprint the run recorded, or the resume would run with something else than the run did.
 */
export function secretInputDifferences(recorded: Extract<Recorded, { kind: 'run-started' }>, secretValues: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const name of Object.keys(secretValues).sort()) {
    const fingerprint = recorded.secretInputs?.[name];
    if (fingerprint === undefined) out.push(`the journal keeps no fingerprint of secret input ${name}, so it cannot be checked; start a new run`);
    else if (!fingerprintMatches(secretValues[name], fingerprint)) out.push(`secret input ${name} is not the value the run used (its fingerprint differs)`);
  }
  return out;
}
