// Which step of which run a change the lab saw belongs to: the step whose journal record says it
// sent that very statement (or ARM request), and that was running when the lab carried it out.
// The clock alone cannot say it: a step declared `read` can start a change and return, and the
// change then lands while the next, declared, change step runs (attack r4-drill #2).
import type { Invocation, JournalRecord, RecordedRun, Side } from './record.js';

/** A change the lab saw take effect: a statement or an accepted ARM request, and when. */
export interface Change {
  what: string;
  at: number;
  /** The replica that ran the statement, or `arm`. */
  target: Side | 'arm';
  /** The statement as the lab logged it, or `METHOD path` for ARM. */
  text: string;
}

/** A step as one run's journal shows it running: from its step-started to its end (or the run's). */
export interface StepSpan {
  step: string;
  impact: string;
  from: number;
  to: number;
}

const atOf = (r: JournalRecord) => (typeof r.at === 'string' ? Date.parse(r.at) : NaN);

/** The steps a run's journal shows running, with the impact the engine gave them when they started. */
export function stepSpans(inv: Pick<Invocation, 'journal' | 'endedAt'>): StepSpan[] {
  const spans: StepSpan[] = [];
  let open: Omit<StepSpan, 'to'> | undefined;
  const close = (to: number) => {
    if (open) spans.push({ ...open, to });
    open = undefined;
  };
  for (const r of inv.journal ?? []) {
    if (r.kind === 'step-started') {
      close(atOf(r));
      open = { step: String(r.step), impact: String(r.impact), from: atOf(r) };
    } else if (((r.kind === 'step-finished' || r.kind === 'step-failed' || r.kind === 'step-skipped') && r.step === open?.step) || r.kind === 'run-resumed') {
      close(atOf(r));
    }
  }
  close(inv.endedAt);
  return spans.filter((s) => !Number.isNaN(s.from) && !Number.isNaN(s.to));
}

/** Only these declare a change; a step-started with no impact (or any other word) declares nothing. */
export const declaresChange = (impact: string) => impact === 'change' || impact === 'dataLoss';

/**
 * The steps that sent `change`: in some run's journal, a `statement` record of that step whose
 * text holds the change (the lab logs each statement of a batch alone, without comments), to the
 * same target, and a span of that step in the same journal during which the lab carried it out.
 */
export function sendersOf(change: Change, invocations: Invocation[]): StepSpan[] {
  const out: StepSpan[] = [];
  for (const inv of invocations) {
    const spans = stepSpans(inv);
    for (const r of inv.journal ?? []) {
      if (r.kind !== 'statement' || typeof r.step !== 'string' || typeof r.text !== 'string') continue;
      if (!sentTheChange(r, change)) continue;
      out.push(...spans.filter((s) => s.step === r.step && s.from <= change.at && change.at <= s.to));
    }
  }
  return out;
}

function sentTheChange(r: JournalRecord, change: Change): boolean {
  const text = String(r.text);
  if (change.target === 'arm') {
    if (r.target !== 'arm') return false;
    const [method, url] = text.split(' ', 2);
    const [wantMethod, wantPath] = change.text.split(' ', 2);
    return method === wantMethod && url !== undefined && wantPath !== undefined && pathOf(url) === decodeURIComponent(wantPath).toLowerCase();
  }
  return r.target === change.target && statementKey(text).includes(statementKey(change.text));
}

const pathOf = (url: string) => {
  try {
    return decodeURIComponent(new URL(url).pathname).toLowerCase();
  } catch {
    return '';
  }
};

/** A batch's text as comparable: comments out, then what changeKey does. */
export function statementKey(text: string): string {
  return changeKey(withoutComments(text));
}

/**
 * A change statement's identity, whatever its spelling: T-SQL keywords and (under the default
 * collations) identifiers are case-insensitive, `[dag1]`, `"dag1"` and `dag1` name the same object,
 * and whitespace or a trailing `;` change nothing. Erring towards "the same" is the safe side: two
 * statements that differ only in a literal's case are counted as one change sent twice.
 */
export function changeKey(statement: string): string {
  return statement.replace(/\s+/g, ' ').trim()
    .toLowerCase()
    .replace(/\[([^\]]*)\]|"([^"]*)"/g, (_m, b: string | undefined, q: string | undefined) => b ?? q ?? '')
    .replace(/\s*([(),=;])\s*/g, '$1')
    .replace(/;+$/, '')
    .trim();
}


/** A batch's statements, split at each `;` outside string literals, comments out. */
export function statementsOf(sql: string): string[] {
  const text = withoutComments(sql);
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === "'") quoted = !quoted;
    else if (text[i] === ';' && !quoted) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

/** T-SQL without its line (`--`) and block comments (those inside string literals stay). */
export function withoutComments(sql: string): string {
  let out = '';
  for (let i = 0; i < sql.length; ) {
    const two = sql.slice(i, i + 2);
    if (sql[i] === "'") {
      const end = sql.indexOf("'", i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (two === '--') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end;
      out += ' ';
    } else if (two === '/*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
      out += ' ';
    } else {
      out += sql[i];
      i += 1;
    }
  }
  return out;
}

/**
 * A change the lab saw that no step declared: no run's journal shows a step whose impact is a
 * change or data loss sending it while it ran (a plugin step that says `read` and sends a
 * FAILOVER, now or in the background; a change sent between steps or outside the engine's
 * clients). The plan and the fault matrix count only declared changes, so such a change would
 * otherwise go unjudged.
 */
export function undeclaredChanges(run: RecordedRun, changes: Change[]): Array<{ invariant: 'undeclared-change'; message: string }> {
  const out: Array<{ invariant: 'undeclared-change'; message: string }> = [];
  for (const c of changes) {
    const senders = sendersOf(c, run.invocations);
    if (senders.some((s) => declaresChange(s.impact))) continue;
    const by = senders.length
      ? `sent by step ${names(senders)}, declared ${[...new Set(senders.map((s) => s.impact))].join(', ')}`
      : `that no step's journal shows sending while it ran${runningNote(run, c)}`;
    out.push({ invariant: 'undeclared-change', message: `the lab saw ${c.what}, ${by}` });
  }
  return out;
}

function runningNote(run: RecordedRun, c: Change): string {
  const journaled = run.invocations.flatMap((i) => (i.journal ?? []).filter((r) => r.kind === 'statement' && typeof r.step === 'string' && sentTheChange(r, c)).map((r) => String(r.step)));
  if (journaled.length) return ` (step ${[...new Set(journaled)].join(', ')} journaled it, but had ended when the lab carried it out)`;
  const running = run.invocations.flatMap(stepSpans).filter((s) => s.from <= c.at && c.at <= s.to);
  return running.length ? ` (step ${names(running)} was running)` : ' (no step of any run was running)';
}

const names = (spans: StepSpan[]) => [...new Set(spans.map((s) => s.step))].join(', ');

/** A change that breaks the link or forces a side primary: what the secondary has not hardened is lost then. */
export function breaksOrForces(c: Change): boolean {
  if (c.target === 'arm') return c.text.startsWith('DELETE ');
  return /\bDROP\s+AVAILABILITY\s+GROUP\b|\bFORCE_FAILOVER_ALLOW_DATA_LOSS\b/i.test(c.text);
}

/**
 * A change of roles that loses transactions in some states only: SET (ROLE = SECONDARY) rolls back
 * a split-brain's divergent commits, and an ARM failover (its path does not say whether planned or
 * forced) may be forced.
 */
const changesRole = (c: Change) => (c.target === 'arm' ? c.text.startsWith('POST ') && ARM_ROLE_CHANGE.test(c.text) : /\bROLE\s*=\s*SECONDARY\b/i.test(c.text));

/** The link's ARM actions that change roles: POST .../failover and POST .../setRole (the lab's arm/handlers.ts, api-version 2023-08-01). */
export const ARM_ROLE_CHANGE = /\/(failover|setRole)$/i;

/**
 * Whether the author's dataLoss steps own the loss: one of them sent a change that can lose
 * transactions, and every change that breaks the link or forces a side primary was sent by one of
 * them. A dataLoss step that sent nothing of the kind (a `SELECT 1` labelled dataLoss), or one that
 * ran after another step broke the link, excuses nothing. Returns why not, or undefined when it does.
 */
export function lossNotOwned(run: RecordedRun, changes: Change[]): string | undefined {
  const declared = new Set(run.runbook.dataLossSteps);
  const owned = (c: Change) => sendersOf(c, run.invocations).some((s) => declared.has(s.step) && declaresChange(s.impact));
  const unowned = changes.find((c) => breaksOrForces(c) && !owned(c));
  if (unowned) return `the lab saw ${unowned.what}, which loses what the secondary had not hardened, sent by no dataLoss step of the runbook's own`;
  if (!changes.some((c) => (breaksOrForces(c) || changesRole(c)) && owned(c))) {
    return `no dataLoss step of the runbook's own (${[...declared].join(', ')}) sent a change that can lose transactions (one that breaks the link, forces a side primary or changes its role)`;
  }
  return undefined;
}
