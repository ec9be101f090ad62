// The plan as an operator reads it: numbered steps, impact marked, data-loss steps flagged
// loudly, run-time values shown as "(known after apply)", skipped steps with the reason.
import type { Plan, PlannedStep, PlanValue } from '../plan/types.js';
import { plainStyle, type Style } from './style.js';
import { ESCAPES_NOTE, visibleData } from './visible.js';
import { isUnknown, shown } from '../step-api/args.js';

function renderWith(values: Record<string, PlanValue>, indent: string, out: string[]): void {
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === 'string' && value.includes('\n')) {
      out.push(`${indent}${key}: |`);
      for (const line of value.replace(/\n+$/, '').split('\n')) out.push(`${indent}  ${line}`);
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value) && !isUnknown(value)) {
      out.push(`${indent}${key}:`);
      renderWith(value, indent + '  ', out);
    } else if (Array.isArray(value)) {
      out.push(`${indent}${key}: [${value.map(shown).join(', ')}]`);
    } else {
      const note = isUnknown(value) ? ` (from ${value.from})` : '';
      out.push(`${indent}${key}: ${shown(value)}${note}`);
    }
  }
}

function impactLabel(step: PlannedStep, style: Style): string {
  if (step.dataLossAtRunTime) return style.red(style.bold(`[${step.impact}; data loss decided at run time]`));
  if (step.impact === 'dataLoss') return style.red(style.bold('[DATA LOSS]'));
  if (step.impact === 'change') return style.yellow('[change]');
  return style.green('[read]');
}

function renderStep(plan: Plan, step: PlannedStep, style: Style, out: string[]): void {
  const num = String(step.index).padStart(2, ' ');
  const target = step.target ? ` -> ${step.target}` : '';
  const plugin = step.plugin ? ' (plugin)' : '';
  const skipped = step.decision === 'skip';
  const head = `${num}. ${step.id}  ${step.type}${plugin}${target}  ${impactLabel(step, style)}`;
  out.push(skipped ? style.dim(`${head}  SKIPPED`) : style.bold(head));
  const pad = '      ';
  if (step.impact === 'dataLoss' && !skipped) {
    out.push(pad + style.red(style.bold('!! DATA LOSS: this step can lose committed transactions.')));
    out.push(pad + style.red(style.bold(`!! apply refuses it unless given --allow-data-loss ${plan.inventory.link}`)));
  }
  if (step.dataLossAtRunTime && !skipped) {
    out.push(pad + style.red(style.bold('!! DATA LOSS DECIDED AT RUN TIME: its impact rests on values known only then, and may be data loss.')));
    out.push(pad + style.red(style.bold(`!! apply then refuses it unless given --allow-data-loss ${plan.inventory.link}`)));
  }
  if (step.description) out.push(`${pad}${step.description}`);
  if (step.when) {
    if (step.decision === 'skip') {
      out.push(`${pad}skipped: when: ${step.when.expression} -> ${step.when.rendered ?? 'false'}`);
    } else if (step.decision === 'decided at run time') {
      out.push(`${pad}when: ${step.when.expression} -> decided at run time (needs ${step.when.dependsOn ?? 'earlier outputs'})`);
    } else {
      out.push(`${pad}when: ${step.when.expression} -> ${step.when.rendered ?? 'true'}`);
    }
  }
  out.push(`${pad}${step.plan.summary}`);
  for (const guard of step.plan.guards ?? []) out.push(`${pad}guard: ${guard}`);
  const limits: string[] = [];
  if (step.timeout) limits.push(`timeout ${step.timeout.text}`);
  if (step.retry) limits.push(`retry ${step.retry.count}x${step.retry.delay ? ` every ${step.retry.delay}` : ''}`);
  if (limits.length) out.push(`${pad}${limits.join(', ')}`);
  if (Object.keys(step.with).length) {
    out.push(`${pad}with:`);
    renderWith(step.with, pad + '  ', out);
  }
}

export function renderPlanText(given: Plan, style: Style = plainStyle): string {
  // Every value as it will be sent, control characters escaped (engine/ui/visible.ts).
  const { value: plan, escaped } = visibleData(given);
  const out: string[] = [];
  out.push(style.bold(`Plan: ${plan.runbook.name}`) + `  (${plan.runbook.file}, sha256 ${plan.runbook.sha256.slice(0, 12)})`);
  if (plan.runbook.description) out.push(`  ${plan.runbook.description.trim()}`);
  const where = plan.inventory.lab ? `embedded lab${plan.inventory.lab.scenario ? `, scenario ${plan.inventory.lab.scenario}` : ''}` : plan.inventory.file ?? 'inventory';
  out.push(`Link: ${plan.inventory.link}  database ${plan.inventory.database}  (${where})`);
  const inputs = Object.entries(plan.inputs);
  if (inputs.length) out.push(`Inputs: ${inputs.map(([k, v]) => `${k}=${shown(v)}`).join(', ')}`);
  out.push('');
  for (const step of plan.steps) {
    renderStep(plan, step, style, out);
    out.push('');
  }
  out.push(planTally(plan));
  const dataLoss = plan.steps.filter((s) => s.impact === 'dataLoss' && s.decision !== 'skip');
  if (dataLoss.length) {
    out.push(style.red(style.bold(`!! ${dataLoss.length} data-loss step(s): ${dataLoss.map((s) => s.id).join(', ')}. ` +
      `Apply needs --allow-data-loss ${plan.inventory.link} (--yes does not imply it).`)));
  }
  const atRunTime = plan.steps.filter((s) => s.dataLossAtRunTime && s.decision !== 'skip');
  if (atRunTime.length) {
    out.push(style.red(style.bold(`!! ${atRunTime.length} step(s) whose data loss is decided at run time: ${atRunTime.map((s) => s.id).join(', ')}. ` +
      `Apply refuses any that turns out data loss unless given --allow-data-loss ${plan.inventory.link}.`)));
  }
  if (escaped) out.push(style.yellow(ESCAPES_NOTE));
  return out.join('\n') + '\n';
}

export function planTally(plan: Plan): string {
  const counts = { read: 0, change: 0, dataLoss: 0 };
  let skipped = 0;
  let runtime = 0;
  // Not counted as what the plan resolved (a change, say): they may be data loss.
  let dataLossAtRunTime = 0;
  for (const s of plan.steps) {
    if (s.decision === 'skip') skipped++;
    else if (s.dataLossAtRunTime) dataLossAtRunTime++;
    else counts[s.impact]++;
    if (s.decision === 'decided at run time') runtime++;
  }
  const atRunTime = dataLossAtRunTime ? `, ${dataLossAtRunTime} data loss decided at run time` : '';
  return `${plan.steps.length} steps: ${counts.read} read, ${counts.change} change, ${counts.dataLoss} data loss${atRunTime}; ` +
    `${skipped} skipped, ${runtime} decided at run time.`;
}
