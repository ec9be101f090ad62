// How `runbook drill` plans the runbook it rehearses. A runbook with `plugins:` is planned in a
// child process (engine/cli/drill-plan-child.ts, `runbook plan` and the plugin steps' dataLoss
// facts): a plugin module's top-level code runs where it is imported, and the drill's own process
// hosts the labs and the judge, whose records it could rewrite (attack r6drill #1). The drill
// process then never imports runbook-supplied code; the runs that do are processes of their own,
// which reach the lab only over its sockets. What that child hands back (the plan, which plugin
// steps' dataLoss is their author's) is the plugins' own claim, as their impact functions are.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { Plan, PlannedStep } from '../plan/types.js';
import { loadYaml } from '../load/yaml.js';
import type { CommandIO } from './io.js';

/** What the drill needs of its runbook's plan. */
export interface DrillPlan {
  plan: Plan;
  runbook: { name: string; plugins?: string[]; outcomes?: { splitBrain?: string } };
  /** Whether a step the plan makes dataLoss is so by its author's choice (chosenDataLoss), not the engine's. */
  authorChoseDataLoss(step: PlannedStep): boolean;
}

/** The plan child (engine/cli/drill-plan-child.ts), beside bin.js. */
const PLAN_CHILD = fileURLToPath(new URL('../cli/drill-plan-child.js', import.meta.url));

/**
 * A dataLoss step the runbook's author chose: dataLoss by its own arguments (`impact: dataLoss`,
 * a forced failover type), even with an LSN wait before it. A step that is dataLoss only because
 * no wait comes before it (armDeleteLink) is the engine's safety net: the data it loses is a
 * promise the runbook broke (its wait was dropped), not one it declared. A step whose definition
 * is not known is not the author's: a loss it caused is then named, the safe side of the verdict.
 */
export function chosenDataLoss(definition: { impact: unknown } | undefined, args: unknown): boolean {
  if (!definition) return false;
  if (typeof definition.impact !== 'function') return definition.impact === 'dataLoss';
  const waited = [{ id: '(an LSN wait)', type: 'waitLsnStable', state: 'succeeded' as const }];
  return (definition.impact as (a: unknown, ctx: { history: unknown[] }) => string)(args, { history: waited }) === 'dataLoss';
}

/** What the plan child tells of the runbook's plugin steps, besides the plan. */
interface PluginDataLossFacts {
  /** The ids of the plugin steps planned dataLoss that chosenDataLoss says their author chose. */
  authorDataLoss: string[];
}

/**
 * In the plan child, after `runbook plan` wrote `planFile`: which plugin steps of that plan are
 * dataLoss by their author's choice, to `factsFile`. The plugins are imported already (the module
 * cache gives the same definitions again); only this process may evaluate their impact functions.
 */
export async function writePluginDataLossFacts(runbookGiven: string, planFile: string, factsFile: string): Promise<void> {
  const { loadRunbook } = await import('./prepare.js');
  const { steps } = await loadRunbook(runbookGiven);
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as Plan;
  const facts: PluginDataLossFacts = {
    authorDataLoss: plan.steps.filter((s) => s.plugin && s.impact === 'dataLoss' && chosenDataLoss(steps.get(s.type)?.definition, s.with)).map((s) => s.id),
  };
  writeFileSync(factsFile, JSON.stringify(facts));
}

/** The runbook's `plugins:` as its YAML lists them, read without importing anything; none when it cannot be read. */
function listedPlugins(value: unknown): string[] {
  const plugins = (value as { plugins?: unknown } | null)?.plugins;
  return Array.isArray(plugins) ? plugins.map(String) : [];
}

/** `id (type)` of each step as the runbook's YAML lists them, read without importing anything. */
function stepsListed(value: unknown): string[] {
  const steps = (value as { steps?: unknown } | null)?.steps;
  return Array.isArray(steps) ? steps.map((s) => `${String((s as { id?: unknown })?.id)} (${String((s as { type?: unknown })?.type)})`) : [];
}

export async function planForDrill(runbookGiven: string, runbookFile: string, sets: string[], io: Pick<CommandIO, 'cwd' | 'env' | 'stderr'>): Promise<DrillPlan> {
  const yaml = loadYaml(runbookFile);
  if (listedPlugins(yaml.value).length === 0) {
    const { makePlan } = await import('./plan.js');
    const { plan, runbook, steps } = await makePlan({ runbook: runbookGiven, lab: true, sets, format: 'text' }, {});
    return { plan, runbook, authorChoseDataLoss: (s) => chosenDataLoss(steps.get(s.type)?.definition, s.with) };
  }
  // The plan to a file, so that the child's diagnostics come as text on its stderr, as `runbook plan` shows them.
  const dir = mkdtempSync(join(tmpdir(), 'runbook-drill-plan-'));
  const out = join(dir, 'plan.json');
  const factsOut = join(dir, 'plugin-data-loss.json');
  const child = await planInChild([PLAN_CHILD, runbookGiven, out, factsOut, ...sets.flatMap((s) => ['--set', s])], io).then(
    (c) => ({ ...c, plan: c.code === 0 ? readFileSync(out, 'utf8') : '', facts: c.code === 0 && existsSync(factsOut) ? readFileSync(factsOut, 'utf8') : undefined }),
  ).finally(() => rmSync(dir, { recursive: true, force: true }));
  if (child.code !== 0) {
    // Its diagnostics (file:line:col) as `runbook plan` gave them, then the drill's own line.
    io.stderr.write(child.stderr);
    throw new ExitError(child.code ?? ExitCode.failedBeforeChange, `drill: the runbook's plan (made in a process of its own, away from the labs, since it loads plugins) failed (exit ${child.code ?? child.signal})`);
  }
  const plan = JSON.parse(child.plan) as Plan;
  // The child ran plugin code, which can rewrite what it hands back: its steps (the fault matrix
  // is built from them) must at least be the YAML's own, in its order.
  const listed = stepsListed(yaml.value);
  const planned = plan.steps.map((s) => `${s.id} (${s.type})`);
  if (listed.join('\n') !== planned.join('\n')) {
    throw new ExitError(ExitCode.failedBeforeChange, `drill: the runbook's plan, made in a process of its own that ran its plugins, lists other steps (${planned.join(', ')}) than ${runbookFile} (${listed.join(', ')}); the drill could not plan (its own failure)`);
  }
  // Without its word on the plugin steps, a loss one of them made could not be told from the author's choice.
  if (child.facts === undefined) throw new ExitError(ExitCode.failedBeforeChange, "drill: the runbook's plan (made in a process of its own) came without its account of the plugin steps' dataLoss; the drill could not plan (its own failure)");
  const authorDataLoss = new Set((JSON.parse(child.facts) as PluginDataLossFacts).authorDataLoss);
  // The YAML read here must be the one the child planned: its outcomes come from this read.
  const here = createHash('sha256').update(yaml.source).digest('hex');
  if (here !== plan.runbook.sha256) throw new ExitError(ExitCode.invalidInput, `drill: the runbook ${runbookFile} changed while the drill planned it; run it again`);
  const doc = yaml.value as { outcomes?: { splitBrain?: unknown } };
  const splitBrain = doc.outcomes?.splitBrain;
  const { loadBuiltinDefinitions } = await import('../step-api/registry.js');
  const { stepModules } = await import('../../steps/index.js');
  // Which steps are built in is the drill's own knowledge (a plugin may not define a built-in type:
  // plugin-shadows-builtin), never the child's word: a child that calls a built-in step a plugin's,
  // or names one among its author's dataLoss steps, would turn the engine's dataLoss into a choice
  // that excuses a loss (attack r7drill #1).
  const isBuiltin = (type: string) => Object.prototype.hasOwnProperty.call(stepModules, type);
  const claimed = plan.steps.filter((s) => isBuiltin(s.type) && (s.plugin || authorDataLoss.has(s.id))).map((s) => `${s.id} (${s.type})`);
  if (claimed.length > 0) {
    throw new ExitError(ExitCode.failedBeforeChange, `drill: the runbook's plan, made in a process of its own that ran its plugins, calls built-in step(s) ${claimed.join(', ')} a plugin's; the drill could not plan (its own failure)`);
  }
  const builtins = await loadBuiltinDefinitions(stepModules, plan.steps.filter((s) => isBuiltin(s.type)).map((s) => s.type));
  return {
    plan,
    runbook: { name: plan.runbook.name, plugins: listedPlugins(yaml.value), ...(typeof splitBrain === 'string' ? { outcomes: { splitBrain } } : {}) },
    // A plugin step's own impact function ran only in the child, which told which ones are the author's.
    authorChoseDataLoss: (s) => (isBuiltin(s.type) ? chosenDataLoss(builtins.get(s.type), s.with) : authorDataLoss.has(s.id)),
  };
}

function planInChild(argv: string[], io: Pick<CommandIO, 'cwd' | 'env'>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: io.cwd, env: { ...io.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
