// `runbook plan`: load, validate, build the Plan, render it. Connects to nothing.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Plan } from '../plan-types.js';
import { buildPlan } from '../plan.js';
import { renderPlanJson } from '../plan-render-json.js';
import { renderPlanSql } from '../plan-render-sql.js';
import { renderPlanText } from '../plan-render-text.js';
import { colorWanted, makeStyle } from '../output.js';
import { checkInventoryChoice, loadInventoryForPlan, loadRunbook, resolveInputsOrThrow, type InventoryChoice } from './prepare.js';
import type { CommandIO } from './io.js';

export interface PlanOptions extends InventoryChoice {
  runbook: string;
  sets: string[];
  format: 'text' | 'json' | 'sql';
  out?: string;
}

export async function makePlan(opts: PlanOptions): Promise<{ plan: Plan; inputs: Record<string, unknown> } & Awaited<ReturnType<typeof loadRunbook>> & { inventory: Awaited<ReturnType<typeof loadInventoryForPlan>>['inventory'] }> {
  checkInventoryChoice(opts, 'plan', true);
  const loaded = await loadRunbook(opts.runbook);
  const { inventory, source } = await loadInventoryForPlan(opts);
  const inputs = resolveInputsOrThrow(loaded.runbook, loaded.source, opts.sets);
  const plan = buildPlan({ runbook: loaded.runbook, source: loaded.source, inventory, inventorySource: source, inputs, steps: loaded.steps });
  return { ...loaded, plan, inputs, inventory };
}

export async function planCommand(opts: PlanOptions, io: CommandIO): Promise<number> {
  const { plan } = await makePlan(opts);
  if (opts.out !== undefined) writeFileSync(resolve(io.cwd, opts.out), renderPlanJson(plan));
  if (opts.format === 'json') io.stdout.write(renderPlanJson(plan));
  else if (opts.format === 'sql') io.stdout.write(renderPlanSql(plan));
  else {
    io.stdout.write(renderPlanText(plan, makeStyle(colorWanted(io.stdout, io.env))));
    if (opts.out !== undefined) io.stdout.write(`Plan written to ${opts.out}; apply it with: runbook apply ${opts.out}\n`);
  }
  return 0;
}
