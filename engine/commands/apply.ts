// `runbook apply <runbook | plan.json>`: plan (or load and check a saved plan), start the lab
// if asked, then run the plan with progress, journal and summary.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Inventory } from '../core/types.js';
import type { Plan } from '../plan/types.js';
import { buildPlan, inventoryDigest, redactInputs, sha256, SECRET_PLACEHOLDER } from '../plan/build.js';
import { processInterrupts } from '../apply/interrupt.js';
import { identityDifferences, lastLinkState, secretInputDifferences } from '../apply/journal/runs.js';
import { damagedJournal, journalDirOf, resumeSource, type ResumeSource } from './runs.js';
import { journalProblemAgainstRunbook } from '../apply/journal/read.js';
import { takeRunLock, type RunLock } from '../apply/journal/run-lock.js';
import { parsePlanJson } from '../plan/json.js';
import { applyPlan } from '../apply/run.js';
import { checkDataLossAcknowledged } from '../apply/guards.js';
import { ExitError, UsageError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { newRunId, runIdentity } from '../apply/journal/write.js';
import type { RunQuestion } from '../apply/confirmation.js';
import type { Reporter } from '../apply/events.js';
import type { ResumeFrom } from '../apply/types.js';
import type { LockSessions } from '../drivers/sql/lock-sessions.js';
import type { ServerSessions } from '../drivers/sql/server-sessions.js';
import type { ArmShared } from '../drivers/arm/shared-pipeline.js';
import { JsonLinesReporter } from '../ui/reporters/json.js';
import { PlainLinesReporter } from '../ui/reporters/plain.js';
import { wrapWords } from '../ui/reporters/run-text.js';
import { colorWanted, makeStyle } from '../ui/style.js';
import { terminalQuestioner } from '../ui/prompt.js';
import {
  checkInventoryChoice,
  checkLabScenario,
  InvalidInput,
  labInventoryForPlan,
  labScenario,
  loadInventoryFile,
  loadInventoryForPlan,
  loadRunbook,
  resolveInputsOrThrow,
  showWarnings,
  type InventoryChoice,
  type LoadedRunbook,
} from './prepare.js';
import { checkResolvedInputs } from '../load/inputs.js';
import { readRegularFile, regularFileProblem } from '../load/bounded-file.js';
import { MAX_FILE_BYTES } from '../load/yaml.js';
import { redact } from '../core/redact.js';
import { digestProblem, jsonPosition, planDifferences } from '../plan/file.js';
import { isTty, type CommandIO } from './io.js';
import { startLabOrExplain } from './lab-start.js';
import { maskSecretSets, readStdinPasswords, registerRunSecrets } from '../core/secrets.js';

export interface ApplyCommandOptions extends InventoryChoice {
  target: string;
  sets: string[];
  /** `--inputs file.yml`: input values from a file; a `--set` of the same input wins. */
  inputsFile?: string;
  yes: boolean;
  allowDataLoss?: string;
  format: 'text' | 'json';
  /** `--resume <run-id>`: continue that run (the runbook and inventory default to the journal's). */
  resume?: string;
  /** `--outcome-timeout`: how long to keep verifying an unknown outcome, in ms. */
  outcomeDeadlineMs?: number;
  /** A new run's id chosen by the caller (a wave records it before the run starts). */
  runId?: string;
  /** Where the run's events go instead of the reporter the format and terminal choose (a wave's view). */
  reporter?: Reporter;
  /**
   * The operator answered the run's one question before it began (a wave's confirmation listed it):
   * nothing is asked on the terminal; a question `covers` does not accept is not confirmed.
   */
  answeredBefore?: { at: string; via: string; covers(question: RunQuestion): boolean };
  /** A wave's lock sessions, one per server for all its runs (engine/drivers/sql/shared-lock-sessions.ts). */
  lockSessions?: LockSessions;
  /** A wave's step sessions per server, which the run borrows (engine/drivers/sql/server-sessions.ts). */
  stepSessions?: ServerSessions;
  /** A wave's runs share its one thread: their journals flush on the thread pool (engine/apply/journal/write.ts). */
  flushOffThread?: boolean;
  /** A wave's ARM HTTP client and credentials, shared by its runs (engine/drivers/arm/shared-pipeline.ts). */
  armShared?: ArmShared;
  /** The runbook as the caller loaded it from `target` (a wave: the text its operator confirmed), run instead of re-reading the file. */
  loaded?: LoadedRunbook;
}

interface Ready {
  plan: Plan;
  loaded: LoadedRunbook;
  inputs: Record<string, unknown>;
  /** Undefined when the lab provides it at start. */
  inventory?: Inventory;
  lab?: { scenario?: string };
}

/** A saved plan is JSON of the runbook's steps with their SQL: 10 MB is far more than any real one. */
const MAX_PLAN_BYTES = 10 * 1024 * 1024;

export function isPlanFile(target: string): boolean {
  return target.toLowerCase().endsWith('.json');
}

async function fromRunbook(opts: ApplyCommandOptions): Promise<Ready> {
  checkInventoryChoice(opts, 'apply', true);
  const loaded = opts.loaded ?? (await loadRunbook(opts.target));
  const { inventory, source } = await loadInventoryForPlan(opts);
  const inputs = resolveInputsOrThrow(loaded.runbook, loaded.source, opts.sets, opts.inputsFile);
  const plan = buildPlan({ runbook: loaded.runbook, source: loaded.source, inventory, inventorySource: source, inputs, steps: loaded.steps });
  return { plan, loaded, inputs, ...(source.lab ? { lab: source.lab } : { inventory }) };
}

async function fromPlanFile(opts: ApplyCommandOptions, io: CommandIO): Promise<Ready> {
  checkInventoryChoice(opts, 'apply', false);
  if (opts.sets.length || opts.inputsFile !== undefined) throw new UsageError('apply: --set and --inputs cannot change a saved plan; make a new plan with the inputs you want');
  const planPath = resolve(io.cwd, opts.target);
  const planRead = readRegularFile(planPath, MAX_PLAN_BYTES);
  if ('problem' in planRead) throw new UsageError(`apply: ${opts.target}: ${planRead.problem.replace(/^is /, 'it is ')}`);
  const planText = planRead.text;
  const parsed = parsePlanJson(planText);
  if (typeof parsed === 'string') throw new UsageError(`apply: ${opts.target}: ${parsed}`);
  const plan = parsed;

  const candidates = [resolve(io.cwd, plan.runbook.file), resolve(dirname(planPath), plan.runbook.file)];
  const runbookFile = candidates.find((f) => existsSync(f));
  if (!runbookFile) throw new UsageError(`apply: the plan's runbook ${plan.runbook.file} is not there any more`);
  // Read as the runbook loader would: a regular file of at most its limit (never /dev/zero or a FIFO).
  const runbookRead = readRegularFile(runbookFile, MAX_FILE_BYTES);
  if ('problem' in runbookRead) throw new UsageError(`apply: the plan's runbook ${plan.runbook.file} ${runbookRead.problem}`);
  const text = runbookRead.text;
  if (sha256(text) !== plan.runbook.sha256) {
    throw new ExitError(ExitCode.refused, `refusing to apply ${opts.target}: ${plan.runbook.file} changed since the plan was made (sha256 ${plan.runbook.sha256.slice(0, 12)} -> ${sha256(text).slice(0, 12)}). Nothing was run. Make a new plan.`);
  }
  const loaded = await loadRunbook(runbookFile === candidates[0] ? plan.runbook.file : runbookFile);

  for (const [name, value] of Object.entries(plan.inputs)) {
    const spec = loaded.runbook.inputs?.[name] as { secret?: boolean } | undefined;
    if (spec?.secret && value === SECRET_PLACEHOLDER) {
      throw new UsageError(`apply: plan files do not carry secret inputs (${name}); apply the runbook itself instead`);
    }
  }
  // The plan's inputs are checked as `--set` values are (exit 2, pointing into the plan file).
  const inputs = { ...(plan.inputs ?? {}) } as Record<string, unknown>;
  const inputProblems = checkResolvedInputs(loaded.runbook, inputs, planFilePosition(opts.target, planText));
  if (inputProblems.length) throw new InvalidInput(inputProblems, new Map([[opts.target, planText]]));

  const lab = opts.lab !== undefined ? { ...(labScenario(opts.lab) ? { scenario: labScenario(opts.lab)! } : {}) } : opts.inventory === undefined ? plan.inventory.lab : undefined;
  let inventory: Inventory | undefined;
  if (lab) checkLabScenario(lab.scenario);
  else {
    const file = opts.inventory ?? plan.inventory.file;
    if (file === undefined) throw new UsageError('apply: the plan names no inventory; pass -i <inventory.yml> or --lab');
    const notReadable = regularFileProblem(file, MAX_FILE_BYTES);
    if (notReadable && notReadable !== 'no such file') throw new UsageError(`apply: the inventory ${file} ${notReadable}`);
    inventory = await loadInventoryFile(file);
  }
  refuseOtherInventory(opts.target, plan, inventory, opts.inventory ?? plan.inventory.file);
  const rebuilt = rebuildOrRefuse(opts.target, plan, loaded, inputs, inventory ?? (await labInventoryForPlan()));
  return lab ? { plan: rebuilt, loaded, inputs, lab } : { plan: rebuilt, loaded, inputs, inventory: inventory! };
}

/**
 * A plan is for the link its inventory describes: the same names are not enough (staging and
 * production often share DAG and database names). The inventory used now must have the content
 * the plan recorded (its sha256 as loaded), whatever its path; a plan made for the embedded lab
 * records none and runs only on the lab, and one made from a file never runs on the lab.
 */
function refuseOtherInventory(target: string, plan: Plan, inventory: Inventory | undefined, file: string | undefined): void {
  const pinned = plan.inventory.sha256;
  const now = inventory ? inventoryDigest(inventory) : undefined;
  if (pinned === now) return;
  const short = (h: string) => h.slice(0, 12);
  const why =
    pinned === undefined
      ? `the plan records no inventory content (it was made for the embedded lab), so it cannot be applied to ${file ?? 'an inventory file'}`
      : now === undefined
        ? `the plan was made with inventory ${plan.inventory.file ?? '(a file)'}, not for the embedded lab`
        : `the inventory ${file ?? plan.inventory.file ?? ''} is not the one the plan was made with (sha256 ${short(pinned)} in the plan, ${short(now)} now): its hosts, names or settings may be another link's`;
  throw new ExitError(ExitCode.refused, `refusing to apply ${target}: ${why}. Nothing was run. Make a new plan with the inventory you mean.`);
}

/**
 * `runbook plan` again, from the plan's runbook, inventory and inputs; the saved plan runs only if
 * it is the same, step by step, and its digest vouches for the rest (a probed plan's observation).
 * What runs is the rebuilt steps, with the saved plan's observation for the drift check.
 */
function rebuildOrRefuse(target: string, saved: Plan, loaded: LoadedRunbook, inputs: Record<string, unknown>, inventory: Inventory): Plan {
  const source = saved.inventory.lab !== undefined ? { lab: saved.inventory.lab } : saved.inventory.file !== undefined ? { file: saved.inventory.file } : {};
  const rebuilt = buildPlan({ runbook: loaded.runbook, source: loaded.source, inventory, inventorySource: source, inputs, steps: loaded.steps });
  // As a plan file holds it: JSON data, registered secrets masked.
  const asWritten = JSON.parse(redact(JSON.stringify(rebuilt))) as Plan;
  const problems = planDifferences(saved, asWritten);
  const digest = digestProblem(saved);
  if (problems.length) {
    const shown = problems.length > MAX_PROBLEMS ? [...problems.slice(0, MAX_PROBLEMS), `and ${problems.length - MAX_PROBLEMS} more`] : problems;
    throw new ExitError(
      ExitCode.refused,
      `refusing to apply ${target}: it is not the plan \`runbook plan\` makes of ${saved.runbook.file} with its inventory and inputs: ${shown.join('; ')}${digest ? `; ${digest}` : ''}. Nothing was run. Make a new plan.`,
    );
  }
  if (digest) throw new ExitError(ExitCode.refused, `refusing to apply ${target}: ${digest}. Nothing was run. Make a new plan.`);
  return { ...saved, inputs: asWritten.inputs, steps: asWritten.steps };
}

const MAX_PROBLEMS = 12;

/** Where an input sits in the plan file, for `plan.json:line:col`. */
function planFilePosition(file: string, text: string): (name: string | undefined) => { file: string; line: number; column: number } {
  return (name) => ({ file, ...jsonPosition(text, name === undefined ? ['inputs'] : ['inputs', name]) });
}

function chooseReporter(opts: ApplyCommandOptions, io: CommandIO): Promise<Reporter> | Reporter {
  if (opts.format === 'json') return new JsonLinesReporter(io.stdout);
  const style = makeStyle(colorWanted(io.stdout, io.env));
  const ci = io.env.CI !== undefined && io.env.CI !== '' && io.env.CI !== 'false' && io.env.CI !== '0';
  // A pseudo-terminal with no size (some CI wrappers) would make listr2 wrap every character.
  const columns = (io.stdout as { columns?: number }).columns ?? 0;
  if (isTty(io.stdout) && !ci && columns >= 20) return import('../ui/reporters/listr.js').then((m) => new m.ListrReporter(io.stdout, style));
  return new PlainLinesReporter(io.stdout, style);
}

export async function applyCommand(given: ApplyCommandOptions, io: CommandIO, argv: string[] = []): Promise<number> {
  // A resume holds the run's lock from before it reads the journal to its end (engine/apply/journal/run-lock.ts).
  const resumed = given.resume !== undefined
    ? resumeSource(given.resume, { ...(given.target ? { target: given.target } : {}), ...(given.inventory !== undefined ? { inventory: given.inventory } : {}), lab: given.lab, sets: given.sets }, io)
    : undefined;
  try {
    return await applyWith(given, resumed, io, argv);
  } finally {
    resumed?.runLock.release();
  }
}

async function applyWith(given: ApplyCommandOptions, resumed: ResumeSource | undefined, io: CommandIO, argv: string[]): Promise<number> {
  const opts: ApplyCommandOptions = resumed ? { ...given, target: resumed.target, inventory: resumed.inventory, sets: resumed.sets } : given;
  if (resumed && isPlanFile(opts.target)) throw new UsageError('apply --resume: give the runbook file, not a saved plan');
  const ready = isPlanFile(opts.target) ? await fromPlanFile(opts, io) : await fromRunbook(opts);
  await showWarnings(ready.loaded, io, opts.format === 'json');
  // The journal's records must fit the runbook it was written for (a different runbook is refused below, by its hash).
  if (resumed && resumed.started.runbook.sha256 === ready.plan.runbook.sha256) {
    const damage = journalProblemAgainstRunbook(resumed.journal, ready.loaded.runbook);
    if (damage) throw damagedJournal(resumed.runId, damage);
  }
  // Before anything runs (or any lab starts): a data-loss step needs its acknowledgement.
  checkDataLossAcknowledged(ready.plan, opts.allowDataLoss);

  const { interrupts, dispose, sayVia } = processInterrupts(io.stderr);
  const interrupt = interrupts;

  let stopLab: (() => Promise<void>) | undefined;
  let newRunLock: RunLock | undefined;
  try {
    let inventory = ready.inventory;
    let env: NodeJS.ProcessEnv = io.env;
    if (ready.lab) {
      const lab = await startLabOrExplain({ ...(ready.lab.scenario !== undefined ? { scenario: ready.lab.scenario } : {}) });
      stopLab = () => lab.stop();
      inventory = lab.inventory;
      env = { ...io.env, ...lab.env };
    }
    if (!inventory) throw new UsageError('apply: no inventory');
    // Secrets first: passwords from standard input are read once, here, and every known secret is
    // registered with the redactor before anything can print it.
    env = { ...env, ...(await readStdinPasswords(inventory, io.stdin, io.stderr)) };
    registerRunSecrets(inventory, env, ready.loaded.runbook, ready.inputs);
    if (inventory.link.name !== ready.plan.inventory.link) {
      throw new ExitError(ExitCode.refused, `refusing to apply: the plan is for link ${ready.plan.inventory.link} but the inventory is for ${inventory.link.name}. Nothing was run.`);
    }
    if (interrupt.signal.aborted) return ExitCode.interrupted;

    const inventoryFile = ready.lab ? undefined : resolve(io.cwd, opts.inventory ?? ready.plan.inventory.file ?? '');
    const identity = {
      inventory: { ...(inventoryFile ? { file: inventoryFile } : {}), ...(ready.lab ? { lab: true } : {}), sha256: inventoryDigest(inventory) },
      runbookPath: resolve(io.cwd, isPlanFile(opts.target) ? ready.loaded.runbook.file : opts.target),
    };
    if (resumed) {
      const secretValues = Object.fromEntries(Object.entries(ready.inputs).filter(([name]) => (ready.loaded.runbook.inputs?.[name] as { secret?: boolean } | undefined)?.secret === true));
      const differences = [
        ...identityDifferences(resumed.started, {
          runbookSha256: ready.plan.runbook.sha256,
          inventorySha256: identity.inventory.sha256,
          inputs: redactInputs(ready.loaded.runbook, ready.inputs),
        }),
        ...secretInputDifferences(resumed.started, secretValues),
      ];
      if (differences.length) {
        throw new ExitError(ExitCode.refused, `refusing to resume run ${resumed.runId}: ${differences.join('; ')}. A resume needs the same runbook, inventory and inputs; nothing was run.`);
      }
    }
    const runId = resumed?.runId ?? opts.runId ?? newRunId();
    const journalDir = journalDirOf(io);
    // A new run holds its lock from before its journal exists; a resume took its own already.
    if (!resumed) newRunLock = takeRunLock(journalDir, runId, 'start');
    const plan: Plan = { ...ready.plan, runId };
    const reporter = opts.reporter ?? (await chooseReporter(opts, io));
    if (reporter.say) sayVia(reporter.say.bind(reporter));
    // An abandoning exit ends the process from the signal handler: what to do next is said now.
    // Only during a change: its step is journalled, so the run has something to resume.
    interrupts.onAbandon((_signal, during) => void (during && interrupts.say(abandonHint(runId, stopLab !== undefined))));
    const questioner = opts.answeredBefore ? undefined : terminalQuestioner(io.stdin, io.stderr, {
      signal: interrupt.signal,
      onInterrupt: () => interrupt.atQuestion('SIGINT'),
      ...(reporter.aside ? { aside: reporter.aside.bind(reporter) } : {}),
      style: makeStyle(colorWanted(io.stderr, io.env)),
    });
    const result = await applyPlan({
      plan,
      runbook: ready.loaded.runbook,
      inventory,
      steps: ready.loaded.steps,
      inputs: ready.inputs,
      runId,
      yes: opts.yes,
      ...(opts.allowDataLoss !== undefined ? { allowDataLoss: opts.allowDataLoss } : {}),
      env,
      reporter,
      ...(questioner ? { confirm: questioner.confirm, confirmRun: questioner.confirmRun } : {}),
      ...(opts.answeredBefore ? { confirmRun: async (q: RunQuestion) => opts.answeredBefore!.covers(q), answeredBefore: { at: opts.answeredBefore.at, via: opts.answeredBefore.via } } : {}),
      signal: interrupt.signal,
      interrupts,
      lock: { holder: { runId, ...lockIdentity(), since: new Date().toISOString() }, ...(opts.lockSessions ? { sessions: opts.lockSessions } : {}) },
      identity,
      ...(opts.stepSessions ? { stepSessions: opts.stepSessions } : {}),
      ...(opts.flushOffThread ? { flushOffThread: true } : {}),
      ...(opts.armShared ? { armShared: opts.armShared } : {}),
      ...(resumed ? { resume: resumeFrom(resumed) } : {}),
      ...(opts.outcomeDeadlineMs !== undefined ? { outcome: { deadlineMs: opts.outcomeDeadlineMs, pollMs: Math.min(1000, Math.max(50, opts.outcomeDeadlineMs / 10)) } } : {}),
      journalDir,
      ...(io.env.RUNBOOK_INTERRUPT_GRACE_MS ? { interruptGraceMs: Number(io.env.RUNBOOK_INTERRUPT_GRACE_MS) } : {}),
      ...(io.env.RUNBOOK_FORESEE_DEADLINE_MS ? { foreseeDeadlineMs: Number(io.env.RUNBOOK_FORESEE_DEADLINE_MS) } : {}),
      argv: maskSecretSets(argv, ready.loaded.runbook),
    });
    const refused = result.summary.steps.find((s) => s.outcome === 'refused');
    if (refused && opts.format !== 'json') {
      const line = `runbook: refused at step ${refused.id}: ${refused.error}`;
      // On a terminal, broken between words as the summary above it is, never inside one.
      const columns = isTty(io.stderr) ? (io.stderr as { columns?: number }).columns : undefined;
      io.stderr.write((columns ? wrapWords(line, columns) : [line]).join('\n') + '\n');
    }
    return result.exitCode;
  } finally {
    dispose();
    newRunLock?.release();
    if (stopLab) await stopLab().catch(() => undefined);
  }
}

/** The last line of an abandoned run: how it goes on, once the link is checked. */
function abandonHint(runId: string, lab: boolean): string {
  if (lab) return 'the embedded lab (--lab) ends with this run, so it cannot be resumed; start a new run.';
  return `once the replicas' roles and the link are checked, continue with: runbook apply --resume ${runId}`;
}

/** What the run needs of the journal it resumes. */
function resumeFrom(resumed: ResumeSource): ResumeFrom {
  const linkState = lastLinkState(resumed.journal.records);
  return {
    states: resumed.states,
    journal: resumed.journal,
    ...(resumed.started.started ? { startedAt: resumed.started.started } : {}),
    ...(linkState ? { linkState } : {}),
  };
}

function lockIdentity(): { user: string; host: string } {
  const { user, host } = runIdentity();
  return { user, host };
}
