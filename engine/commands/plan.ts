// `runbook plan`: load, validate, build the Plan, render it. Connects to nothing, unless
// `--probe` asks for a read-only look at the live link (engine/plan/probe.ts, loaded only then, so a
// plan without it still loads no driver). Each output format's renderer is loaded when asked for
// (start-up budget, README "Development").
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Inventory, ReplicaTarget } from '../core/types.js';
import type { Plan } from '../plan/types.js';
import { buildPlan, type BuildPlanInput } from '../plan/build.js';
import { renderPlanText, type PlanTextOptions } from '../ui/plan-text.js';
import { planVerdict } from '../plan/verdict.js';
import { UsageError } from '../core/errors.js';
import { isTty } from './io.js';
import { colorWanted, makeStyle } from '../ui/style.js';
import { checkInventoryChoice, labScenario, loadInventoryForPlan, loadRunbook, resolveInputsOrThrow, showWarnings, type InventoryChoice } from './prepare.js';
import type { CommandIO } from './io.js';
import { readStdinPasswords, registerRunSecrets } from '../core/secrets.js';

export interface PlanOptions extends InventoryChoice {
  runbook: string;
  sets: string[];
  /** `--inputs file.yml`: input values from a YAML file; a `--set` of the same input wins. */
  inputsFile?: string;
  format: 'text' | 'json' | 'sql';
  out?: string;
  /** Read the live link (only `read` steps' probes) and predict the path; with --lab, starts the lab for it. */
  probe?: boolean;
  /** `--full` / `-v`: every step in full (SQL, guards, arguments) instead of one line each. */
  full?: boolean;
  /** `--detailed-exitcode`: 0 nothing to change, 2 changes, 3 the run would stop (plan/verdict.ts). */
  detailedExitcode?: boolean;
  /** `--format sql --replica <name>`: the one replica whose script to print. */
  replica?: ReplicaTarget;
}

export async function makePlan(opts: PlanOptions, env: NodeJS.ProcessEnv = process.env, io?: Pick<CommandIO, 'stdin' | 'stderr'>): Promise<{ plan: Plan; inputs: Record<string, unknown> } & Awaited<ReturnType<typeof loadRunbook>> & { inventory: Inventory }> {
  checkInventoryChoice(opts, 'plan', true);
  const loaded = await loadRunbook(opts.runbook);
  const { inventory, source } = await loadInventoryForPlan(opts);
  const inputs = resolveInputsOrThrow(loaded.runbook, loaded.source, opts.sets, opts.inputsFile);
  // Masked even though a plan reads no password: a secret typed into --set or rendered by a
  // template must not reach a plan file or the screen.
  registerRunSecrets(inventory, env, loaded.runbook, inputs);
  const input: BuildPlanInput = { runbook: loaded.runbook, source: loaded.source, inventory, inventorySource: source, inputs, steps: loaded.steps };
  // A probe connects: passwords from standard input are read the way apply reads them.
  if (opts.probe && opts.lab === undefined && io) env = { ...env, ...(await readStdinPasswords(inventory, io.stdin, io.stderr)) };
  const plan = opts.probe ? await probeLive(input, opts, env) : buildPlan(input);
  return { ...loaded, plan, inputs, inventory };
}

/** The probed plan: against the inventory's link, or a lab started for the probe and stopped after it. */
async function probeLive(input: BuildPlanInput, opts: PlanOptions, env: NodeJS.ProcessEnv): Promise<Plan> {
  const { probePlan } = await import('../plan/probe.js');
  if (opts.lab === undefined) return probePlan({ ...input, env });
  const { startLabOrExplain } = await import('./lab-start.js');
  const scenario = labScenario(opts.lab);
  const lab = await startLabOrExplain(scenario !== undefined ? { scenario } : {});
  try {
    const probed = await probePlan({ ...input, inventory: lab.inventory, env: { ...env, ...lab.env } });
    // The steps are what `plan --lab` shows (the lab's names, no ports): a lab started for apply
    // has other ports, and `apply plan.json` must be able to make the same plan again.
    const probedPlan: Plan & Pick<typeof probed, 'observed' | 'predicted'> = { ...buildPlan(input), observed: probed.observed, predicted: probed.predicted };
    return probedPlan;
  } finally {
    await lab.stop().catch(() => undefined);
  }
}

export async function planCommand(opts: PlanOptions, io: CommandIO): Promise<number> {
  if (opts.replica !== undefined && opts.format !== 'sql') throw new UsageError('plan: --replica chooses the script of --format sql; add --format sql');
  const made = await makePlan(opts, io.env, io);
  const { plan } = made;
  await showWarnings(made, io);
  let replica: ReplicaTarget | undefined;
  if (opts.format === 'sql') replica = await chooseReplica(plan, opts);
  if (opts.out !== undefined || opts.format === 'json') {
    const { renderPlanJson } = await import('../plan/json.js');
    if (opts.out !== undefined) writeFileSync(resolve(io.cwd, opts.out), renderPlanJson(plan));
    if (opts.format === 'json') io.stdout.write(renderPlanJson(plan));
  }
  if (opts.format === 'sql') {
    const { renderPlanSql } = await import('../ui/plan-sql.js');
    io.stdout.write(renderPlanSql(plan, replica!));
  } else if (opts.format === 'text') {
    const style = makeStyle(colorWanted(io.stdout, io.env));
    const columns = (io.stdout as { columns?: number }).columns;
    const textOpts: PlanTextOptions = {
      ...(opts.full ? { full: true } : {}),
      inputs: made.runbook.inputs ?? {},
      ...(isTty(io.stdout) && typeof columns === 'number' && columns > 0 ? { width: columns } : {}),
      hintFull: true,
    };
    if ('observed' in plan) {
      const { renderProbedPlanText } = await import('../ui/probe-text.js');
      io.stdout.write(renderProbedPlanText(plan as import('../plan/probe.js').ProbedPlan, style, textOpts));
    } else io.stdout.write(renderPlanText(plan, style, textOpts));
    if (opts.out !== undefined) io.stdout.write(`Plan written to ${opts.out}; apply it with: runbook apply ${opts.out}\n`);
  }
  return opts.detailedExitcode ? planVerdict(plan).exitCode : 0;
}

/**
 * The replica whose script `--format sql` prints: the one asked for, or the only one the plan sends
 * T-SQL to. A script runs on one server, so a plan for several needs --replica (exit 2 otherwise).
 */
async function chooseReplica(plan: Plan, opts: PlanOptions): Promise<ReplicaTarget> {
  const { sqlReplicas } = await import('../ui/plan-sql.js');
  const replicas = sqlReplicas(plan);
  if (opts.replica !== undefined) return opts.replica;
  if (replicas.length <= 1) return replicas[0] ?? 'sqlServer';
  throw new UsageError(
    `plan --format sql: this plan sends T-SQL to ${replicas.join(', ')}, and a script runs on one server; ` +
      `print one replica's script at a time: --replica ${replicas.join('|')}`,
  );
}
