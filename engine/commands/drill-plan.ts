// How `runbook drill` plans the runbook it rehearses. A runbook with `plugins:` is planned in a
// `runbook plan` child process: a plugin module's top-level code runs where it is imported, and
// the drill's own process hosts the labs and the judge, whose records it could rewrite (attack
// r6drill #1). The drill process then never imports runbook-supplied code; the runs that do are
// processes of their own, which reach the lab only over its sockets.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { Plan } from '../plan/types.js';
import { loadYaml } from '../load/yaml.js';
import type { CommandIO } from './io.js';

/** What the drill needs of its runbook's plan; `definitionOf` gives a built-in step's definition (never a plugin's). */
export interface DrillPlan {
  plan: Plan;
  runbook: { name: string; plugins?: string[]; outcomes?: { splitBrain?: string } };
  definitionOf(type: string): { impact: unknown } | undefined;
}

/** The runbook's `plugins:` as its YAML lists them, read without importing anything; none when it cannot be read. */
function listedPlugins(value: unknown): string[] {
  const plugins = (value as { plugins?: unknown } | null)?.plugins;
  return Array.isArray(plugins) ? plugins.map(String) : [];
}

export async function planForDrill(runbookGiven: string, runbookFile: string, sets: string[], io: Pick<CommandIO, 'cwd' | 'env' | 'stderr'>): Promise<DrillPlan> {
  const yaml = loadYaml(runbookFile);
  if (listedPlugins(yaml.value).length === 0) {
    const { makePlan } = await import('./plan.js');
    const { plan, runbook, steps } = await makePlan({ runbook: runbookGiven, lab: true, sets, format: 'text' }, {});
    return { plan, runbook, definitionOf: (type) => steps.get(type)?.definition };
  }
  const { CLI_BIN } = await import('../drill/child.js');
  // The plan to a file, so that the child's diagnostics come as text on its stderr, as `runbook plan` shows them.
  const dir = mkdtempSync(join(tmpdir(), 'runbook-drill-plan-'));
  const out = join(dir, 'plan.json');
  const child = await planInChild([CLI_BIN, 'plan', runbookGiven, '--lab', '--out', out, ...sets.flatMap((s) => ['--set', s])], io).then(
    (c) => ({ ...c, plan: c.code === 0 ? readFileSync(out, 'utf8') : '' }),
  ).finally(() => rmSync(dir, { recursive: true, force: true }));
  if (child.code !== 0) {
    // Its diagnostics (file:line:col) as `runbook plan` gave them, then the drill's own line.
    io.stderr.write(child.stderr);
    throw new ExitError(child.code ?? ExitCode.failedBeforeChange, `drill: the runbook's plan (made in a process of its own, away from the labs, since it loads plugins) failed (exit ${child.code ?? child.signal})`);
  }
  const plan = JSON.parse(child.plan) as Plan;
  // The YAML read here must be the one the child planned: its outcomes come from this read.
  const here = createHash('sha256').update(yaml.source).digest('hex');
  if (here !== plan.runbook.sha256) throw new ExitError(ExitCode.invalidInput, `drill: the runbook ${runbookFile} changed while the drill planned it; run it again`);
  const doc = yaml.value as { outcomes?: { splitBrain?: unknown } };
  const splitBrain = doc.outcomes?.splitBrain;
  const { loadBuiltinDefinitions } = await import('../step-api/registry.js');
  const { stepModules } = await import('../../steps/index.js');
  const builtins = await loadBuiltinDefinitions(stepModules, plan.steps.filter((s) => !s.plugin).map((s) => s.type));
  return {
    plan,
    runbook: { name: plan.runbook.name, plugins: listedPlugins(yaml.value), ...(typeof splitBrain === 'string' ? { outcomes: { splitBrain } } : {}) },
    definitionOf: (type) => builtins.get(type),
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
