// Reading a run journal back, strictly. The journal is what a resume decides from (which change is
// done, which may have acted), so a record it cannot read is never skipped: only a last line cut
// short by a crash mid-write (no newline after it, not a whole record) is dropped. Any other bad
// line (not JSON, an unknown kind, a missing or ill-typed field, an order the writer never
// produces) is damage, reported as `<journal>:<line>: <problem>`; the steps the records name are
// checked against the runbook once it is loaded (`journalProblemAgainstRunbook`).
import { readFileSync } from 'node:fs';
import type { JournalRecord } from './write.js';
import type { Runbook } from '../../core/types.js';
import { isRecord } from '../../core/record.js';

export type Recorded = JournalRecord & { at?: string };

export interface JournalEntry {
  /** 1-based line number in the file. */
  line: number;
  record: Recorded;
}

export interface ReadJournal {
  path: string;
  entries: JournalEntry[];
  records: Recorded[];
  /** Bytes in the file when it was read. */
  size: number;
  /** Bytes worth keeping: up to the end of the last whole record (a torn last line is cut off before appending). */
  keep: number;
  /** The last whole record has no newline after it (one is written before appending). */
  needsNewline: boolean;
  /** The line number of a torn last line that was dropped. */
  tornLastLine?: number;
}

/** A journal line that cannot be trusted; the message is `<path>:<line>: <problem>`. */
export class JournalDamage extends Error {
  constructor(
    readonly path: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${path}:${line}: ${problem}`);
    this.name = 'JournalDamage';
  }
}

// ---------------------------------------------------------------- record shapes

type FieldType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'strings' | { enum: readonly string[] } | ((v: unknown) => string | undefined);
type Shape = Record<string, [FieldType, 'required' | 'optional']>;

const req = (t: FieldType): [FieldType, 'required'] => [t, 'required'];
const opt = (t: FieldType): [FieldType, 'optional'] => [t, 'optional'];
const shaped = (shape: Shape) => (v: unknown) => (isRecord(v) ? shapeProblem(v, shape, '') : 'must be an object');

const OUTCOMES = ['failed', 'refused', 'unknown', 'interrupted'] as const;

/** A link-state record's `state`: per replica side, what it showed, or that it could not be read. */
function linkStateProblem(v: unknown): string | undefined {
  if (!isRecord(v)) return 'must be an object';
  for (const [side, st] of Object.entries(v)) {
    if (side !== 'sqlServer' && side !== 'managedInstance') return `names an unknown replica side "${side}"`;
    if (!isRecord(st)) return `of ${side} must be an object`;
    const problem = st.readable === true
      ? shapeProblem(st, { role: req('string'), modes: req('string') }, `${side}.`)
      : st.readable === false
        ? shapeProblem(st, { error: req('string') }, `${side}.`)
        : `field ${side}.readable must be true or false`;
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Every kind the writer produces (engine/apply/journal/write.ts); a kind added there fails to compile until it
 * is described here. A field not listed is ignored (a later writer may add one); a kind not listed
 * is damage, as what it says could matter to a resume.
 */
const SHAPES: Record<JournalRecord['kind'], Shape> = {
  'run-started': {
    runId: req('string'),
    runbook: req(shaped({ name: req('string'), file: req('string'), sha256: req('string') })),
    link: req('string'),
    started: opt('string'),
    inputs: req('object'),
    secretInputs: opt((v) => (isRecord(v) && Object.values(v).every((x) => typeof x === 'string') ? undefined : 'must map names to fingerprints')),
    user: req('string'),
    host: req('string'),
    pid: req('integer'),
    argv: opt('strings'),
    inventory: opt(shaped({ file: opt('string'), lab: opt('boolean'), sha256: req('string') })),
    runbookPath: opt('string'),
    steps: opt('integer'),
  },
  'run-resumed': { runId: req('string'), user: req('string'), host: req('string'), pid: req('integer'), argv: opt('strings'), tornLastLine: opt('integer') },
  lock: {
    resource: req('string'),
    held: req('strings'),
    unreachable: req((v) => (Array.isArray(v) ? v.map((u) => shaped({ side: req('string'), error: req('string') })(u)).find(Boolean) : 'must be a list')),
    holder: req('string'),
  },
  'lock-refused': { resource: req('string'), side: req('string'), holder: req('string') },
  'lock-lost': {
    side: req('string'), during: opt('string'), retaken: req('boolean'), holder: opt('string'), changes: req('strings'), ownStep: opt('string'), message: req('string'),
  },
  'link-state': { after: opt('string'), state: req(linkStateProblem) },
  'step-started': {
    step: req('string'), type: req('string'), index: req('integer'), impact: req({ enum: ['read', 'change', 'dataLoss'] }), attempt: req('integer'), target: opt('string'),
  },
  'step-finished': { step: req('string'), outputs: req('object'), durationMs: req('number'), attempts: req('integer'), verified: opt('boolean') },
  'step-failed': {
    step: req('string'), error: req('string'), outcome: req({ enum: OUTCOMES }), durationMs: req('number'), attempts: req('integer'), willRetry: opt('boolean'),
    nothingSent: opt('boolean'), mayHaveActed: opt('boolean'),
  },
  'step-skipped': { step: req('string'), reason: req('string'), index: opt('integer'), type: opt('string') },
  statement: { step: req('string'), target: req('string'), text: req('string'), params: opt('object') },
  'step-verified': { step: req('string'), result: req({ enum: ['done', 'not-done', 'unknown'] }), why: req({ enum: ['resume', 'unknown-outcome', 'retry'] }), detail: opt('string') },
  confirmed: { by: req({ enum: ['operator'] }), via: opt('string'), steps: req('strings'), questions: req('strings'), changes: req('strings') },
  foreseen: {
    result: req({ enum: ['predicted', 'could not tell', 'timed out'] }), summary: req('string'), outcome: opt('string'),
    stoppedAt: opt(shaped({ index: req('integer'), step: req('string'), outcome: req('string') })),
  },
  interrupted: { signal: req('string'), stoppedBefore: opt('string'), abandonedDuring: opt('string') },
  'run-finished': {
    exitCode: req('integer'), meaning: req('string'), durationMs: req('number'), changed: req('strings'), mayHaveChanged: opt('strings'), stoppedAt: opt('string'),
  },
};

function typeProblem(value: unknown, type: FieldType): string | undefined {
  if (typeof type === 'function') return type(value);
  if (typeof type === 'object') return typeof value === 'string' && type.enum.includes(value) ? undefined : `must be one of ${type.enum.join(', ')}`;
  switch (type) {
    case 'string':
      return typeof value === 'string' ? undefined : 'must be a string';
    case 'integer':
      return Number.isSafeInteger(value) && (value as number) >= 0 ? undefined : 'must be a whole number';
    case 'number':
      // Not checked for sign: a duration measured across a clock step back can be negative.
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'object':
      return isRecord(value) ? undefined : 'must be an object';
    case 'strings':
      return Array.isArray(value) && value.every((x) => typeof x === 'string') ? undefined : 'must be a list of strings';
  }
}

function shapeProblem(value: Record<string, unknown>, shape: Shape, prefix: string): string | undefined {
  for (const [name, [type, presence]] of Object.entries(shape)) {
    if (value[name] === undefined) {
      if (presence === 'required') return `field ${prefix}${name} is missing`;
      continue;
    }
    const problem = typeProblem(value[name], type);
    // Nested shapes already name their own field.
    if (problem) return /^field /.test(problem) ? problem.replace(/^field /, `field ${prefix}${name}.`) : `field ${prefix}${name} ${problem}`;
  }
  return undefined;
}

/** What is wrong with one parsed line as a record, or undefined. */
export function recordProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'not a journal record (a JSON object)';
  const kind = value.kind;
  if (typeof kind !== 'string') return 'field kind is missing';
  if (!Object.hasOwn(SHAPES, kind)) return `unknown record kind "${kind}"`;
  if (value.at !== undefined && typeof value.at !== 'string') return 'field at must be a string';
  const problem = shapeProblem(value, SHAPES[kind as JournalRecord['kind']], '');
  return problem ? `${kind} record: ${problem}` : undefined;
}

// ---------------------------------------------------------------- order

/**
 * The orders the writer produces: one run-started, first; after a run-finished only a
 * run-resumed; within one process's part (from run-started or run-resumed on) steps run one at a
 * time: a start while another step is running, an end of a step that is not running, a verified
 * end without a "done" verification just before it, a "nothing sent" end after a statement it
 * sent, are not something a crash can leave behind.
 */
function orderProblems(entries: JournalEntry[], runId: string | undefined, path: string): void {
  const damage = (e: JournalEntry, problem: string): never => {
    throw new JournalDamage(path, e.line, problem);
  };
  const first = entries[0];
  if (!first) throw new JournalDamage(path, 1, 'the journal is empty (no run-started record)');
  if (first.record.kind !== 'run-started') damage(first, `the first record is ${first.record.kind}, not run-started`);
  let running: string | undefined;
  /** Steps verified done in this part and not started since: each may end as verified. */
  const verifiedDone = new Set<string>();
  let finished = false;
  /** Steps with a record from an earlier part of the run (a resume may verify those). */
  const seenBefore = new Set<string>();
  const seenNow = new Set<string>();
  /** Steps with a `statement` record since their last step-started: they sent something. */
  const sentSinceStart = new Set<string>();
  for (const e of entries) {
    const r = e.record;
    if (finished && r.kind !== 'run-resumed') damage(e, `${r.kind} after run-finished (only run-resumed may follow it)`);
    switch (r.kind) {
      case 'run-started':
        if (e !== first) damage(e, 'a second run-started record');
        if (runId !== undefined && r.runId !== runId) damage(e, `run-started is for run ${r.runId}, not ${runId}`);
        break;
      case 'run-resumed':
        if (runId !== undefined && r.runId !== runId) damage(e, `run-resumed is for run ${r.runId}, not ${runId}`);
        finished = false;
        running = undefined;
        verifiedDone.clear();
        for (const s of seenNow) seenBefore.add(s);
        seenNow.clear();
        break;
      case 'run-finished':
        finished = true;
        break;
      case 'step-started':
        if (running !== undefined) damage(e, `step-started for ${r.step} while step ${running} was still running`);
        running = r.step;
        verifiedDone.delete(r.step);
        sentSinceStart.delete(r.step);
        break;
      case 'statement':
        sentSinceStart.add(r.step);
        break;
      case 'step-finished':
        if (r.verified) {
          if (!verifiedDone.has(r.step)) damage(e, `step-finished (verified) for ${r.step} without a "done" verification of it before`);
        } else if (running !== r.step) damage(e, `step-finished for ${r.step} without a step-started of it`);
        running = undefined;
        verifiedDone.delete(r.step);
        break;
      case 'step-failed':
        if (r.willRetry && running !== r.step) damage(e, `step-failed (will retry) for ${r.step} without a step-started of it`);
        if (running !== undefined && running !== r.step) damage(e, `step-failed for ${r.step} while step ${running} was running`);
        // Each batch is journaled right before it is sent: "nothing was sent" beside one is an edit or a wrong writer (attack r6safety finding 4).
        if (r.nothingSent && sentSinceStart.has(r.step)) damage(e, `step-failed for ${r.step} says nothing was sent, but a statement of it was journaled after it started`);
        running = undefined;
        break;
      case 'step-skipped':
        if (running !== undefined) damage(e, `step-skipped for ${r.step} while step ${running} was running`);
        break;
      case 'confirmed':
        if (running !== undefined) damage(e, `confirmed while step ${running} was running`);
        break;
      case 'link-state':
        // Written between steps: once the lock is held, and right after a change step's end.
        if (running !== undefined) damage(e, `link-state while step ${running} was running`);
        break;
      case 'step-verified':
        if (r.why !== 'resume' && running !== r.step) damage(e, `step-verified (${r.why === 'retry' ? 'before a retry' : 'unknown outcome'}) for ${r.step} without a step-started of it`);
        if (r.why === 'resume' && (running !== undefined || !seenBefore.has(r.step))) damage(e, `step-verified (resume) for ${r.step}, which has no record before this resume`);
        if (r.result === 'done') verifiedDone.add(r.step);
        else verifiedDone.delete(r.step);
        break;
      default:
        break;
    }
    if ('step' in r) seenNow.add(r.step);
  }
}

// ---------------------------------------------------------------- reading

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Reads and checks a journal; throws JournalDamage on anything but a torn last line. `runId`: the run the file must be of. */
export function readJournal(path: string, runId?: string): ReadJournal {
  const bytes = readFileSync(path);
  const entries: JournalEntry[] = [];
  let offset = 0;
  let line = 0;
  let keep = 0;
  let needsNewline = false;
  let tornLastLine: number | undefined;
  while (offset < bytes.length) {
    line++;
    const nl = bytes.indexOf(0x0a, offset);
    const last = nl === -1;
    const end = last ? bytes.length : nl;
    let text: string | undefined;
    try {
      text = decoder.decode(bytes.subarray(offset, end));
    } catch {
      text = undefined;
    }
    let parsed: unknown;
    let problem: string | undefined;
    if (text === undefined) problem = 'not UTF-8 text';
    else if (text.trim() === '') problem = 'an empty line';
    else {
      try {
        parsed = JSON.parse(text);
        problem = recordProblem(parsed);
      } catch {
        problem = 'not a JSON record';
      }
    }
    if (problem) {
      // A crash mid-write leaves at most the last line unfinished, with no newline after it.
      if (last && (text === undefined || problem === 'not a JSON record')) {
        tornLastLine = line;
        break;
      }
      throw new JournalDamage(path, line, problem);
    }
    entries.push({ line, record: parsed as Recorded });
    keep = last ? bytes.length : nl + 1;
    needsNewline = last;
    offset = end + 1;
  }
  orderProblems(entries, runId, path);
  return {
    path, entries, records: entries.map((e) => e.record), size: bytes.length, keep, needsNewline,
    ...(tornLastLine !== undefined ? { tornLastLine } : {}),
  };
}

/** The first record that does not fit the runbook the resume loaded (same file, by its hash), or undefined. */
export function journalProblemAgainstRunbook(journal: ReadJournal, runbook: Runbook): JournalDamage | undefined {
  const position = new Map(runbook.steps.map((s, i) => [s.id, { index: i + 1, type: s.type }]));
  /** Steps with a record so far: the engine reaches a step only after every step before it ended (and said so). */
  const recorded = new Set<string>();
  for (const { line, record: r } of journal.entries) {
    const damage = (problem: string) => new JournalDamage(journal.path, line, problem);
    const named: string[] = [];
    if ('step' in r) named.push(r.step);
    if (r.kind === 'interrupted') named.push(...[r.stoppedBefore, r.abandonedDuring].filter((s): s is string => s !== undefined));
    if (r.kind === 'run-finished') named.push(...r.changed, ...(r.mayHaveChanged ?? []));
    if (r.kind === 'link-state' && r.after !== undefined) named.push(r.after);
    if (r.kind === 'confirmed') named.push(...r.steps, ...r.changes);
    const unknown = named.find((id) => !position.has(id));
    if (unknown !== undefined) return damage(`${r.kind} names step ${unknown}, which runbook ${runbook.name} does not have`);
    if (r.kind === 'run-started' && r.steps !== undefined && r.steps !== runbook.steps.length) {
      return damage(`run-started says the run has ${r.steps} steps; runbook ${runbook.name} has ${runbook.steps.length}`);
    }
    if (r.kind === 'step-started') {
      const p = position.get(r.step)!;
      if (r.type !== p.type || r.index !== p.index) return damage(`step-started says ${r.step} is step ${r.index} of type ${r.type}; in runbook ${runbook.name} it is step ${p.index} of type ${p.type}`);
    }
    if ('step' in r) {
      const missing = runbook.steps.slice(0, position.get(r.step)!.index - 1).find((s) => !recorded.has(s.id));
      if (missing) return damage(`${r.kind} for step ${r.step}, but step ${missing.id} before it has no record (a run never passes a step without one)`);
      recorded.add(r.step);
    }
  }
  return undefined;
}
