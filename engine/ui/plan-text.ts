// The plan as an operator reads it. By default compact, as Terraform's: one line per step (number,
// id, type and target, impact, a short summary), skipped and run-time decisions marked, and a
// closing line that adds it up and says where the run is already known to stop. `--full` (-v)
// shows everything: each step's description, `when:`, summary, guards, limits and every rendered
// argument, SQL in full. Data-loss steps are flagged loudly in both; run-time values show as
// "(known after apply)".
import type { InputSpec } from '../core/types.js';
import type { Plan, PlannedStep, PlanValue } from '../plan/types.js';
import type { PredictedPath } from '../plan/probe.js';
import { closingLine, gist, planVerdict } from '../plan/verdict.js';
import { inputLines } from './inputs-text.js';
import { plainStyle, type Style } from './style.js';
import { ESCAPES_NOTE, visibleData } from './visible.js';
import { isUnknown, KNOWN_AFTER_APPLY, shown } from '../step-api/args.js';

export interface PlanTextOptions {
  /** Everything (`--full`, `-v`); the compact listing otherwise. */
  full?: boolean;
  /** The runbook's input declarations: descriptions and allowed values next to the values used. */
  inputs?: Record<string, InputSpec>;
  /** Terminal width: a compact line longer than this is cut (with "..."); no limit when absent. */
  width?: number;
  /** Say, under a compact plan, how to see it in full (the plan command does). */
  hintFull?: boolean;
  /** A resume's question: the steps done before it, marked so and left out of the closing line's counts (attack-r4apply A8). */
  done?: readonly string[];
}

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

function impactText(step: PlannedStep): string {
  return step.impact === 'dataLoss' ? '[DATA LOSS]' : `[${step.impact}]`;
}

function impactLabel(step: PlannedStep, style: Style): string {
  if (step.impact === 'dataLoss') return style.red(style.bold('[DATA LOSS]'));
  if (step.impact === 'change') return style.yellow('[change]');
  return style.green('[read]');
}

function mayLoseDataLater(step: PlannedStep): boolean {
  return step.impact !== 'dataLoss' && (step.runTimeImpacts ?? []).includes('dataLoss');
}

function refusesNow(step: PlannedStep): string | undefined {
  return step.decision === 'run' && typeof step.plan.refusal === 'string' ? step.plan.refusal : undefined;
}

function renderFullStep(plan: Plan, step: PlannedStep, style: Style, out: string[]): void {
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
  if (mayLoseDataLater(step) && !skipped) {
    out.push(pad + style.red(style.bold('!! Whether this step can lose data is decided at run time, from values only a run knows;')));
    out.push(pad + style.red(style.bold(`!! if it can, apply refuses it then unless given --allow-data-loss ${plan.inventory.link}`)));
  }
  const refusal = refusesNow(step);
  if (refusal !== undefined) out.push(pad + style.red(style.bold(`!! REFUSES with these inputs: ${refusal}`)));
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

/** What a step does, in one line: the author's description, else the step type's summary (with a one-line statement). */
function shortSummary(step: PlannedStep): string {
  const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
  if (step.description) return oneLine(step.description);
  // One statement is its own best summary: its first line (the rest is in --full).
  const sql = step.plan.sql ?? [];
  const text = sql.length === 1 && sql[0]!.text !== KNOWN_AFTER_APPLY ? sql[0]!.text.trim() : '';
  const first = text.split('\n')[0]!.trim();
  const statement = first === '' ? undefined : first !== text ? `${first} ...` : first;
  return oneLine(statement ? `${step.plan.summary}: ${statement}` : step.plan.summary);
}

function cut(text: string, room: number | undefined): string {
  if (room === undefined || text.length <= room) return text;
  return room <= 3 ? text.slice(0, Math.max(0, room)) : `${text.slice(0, room - 3)}...`;
}

function renderCompactSteps(plan: Plan, style: Style, width: number | undefined, out: string[], done: ReadonlySet<string>): void {
  const rows = plan.steps.map((step) => ({
    step,
    num: `${String(step.index).padStart(2, ' ')}.`,
    id: step.id,
    kind: `${step.type}${step.plugin ? ' (plugin)' : ''}${step.target ? ` -> ${step.target}` : ''}`,
    impact: impactText(step),
  }));
  const w = (k: 'id' | 'kind' | 'impact') => Math.max(...rows.map((r) => r[k].length));
  const [idW, kindW, impactW] = [w('id'), w('kind'), w('impact')];
  // Columns leave the summary too little room on a narrow terminal (60 columns): each step then
  // takes two lines, its name and impact, then what it does, so the statement (a FAILOVER) stays seen.
  const columnsFit = width === undefined || width - (r0(rows).num.length + 1 + idW + 2 + kindW + 2 + impactW + 2) >= MIN_SUMMARY;
  for (const r of rows) {
    const { step } = r;
    if (!columnsFit) {
      out.push(...stackedRow(step, r, style, width!, done));
      continue;
    }
    const prefix = `${r.num} ${r.id.padEnd(idW)}  ${r.kind.padEnd(kindW)}  `;
    const rest = aboutText(step, done);
    const room = width === undefined ? undefined : width - prefix.length - impactW - 2;
    const text = cut(rest, room);
    if (step.decision === 'skip' || done.has(step.id)) {
      out.push(style.dim(`${prefix}${r.impact.padEnd(impactW)}  ${text}`));
      continue;
    }
    const label = impactLabel(step, style) + ' '.repeat(impactW - r.impact.length);
    out.push(`${prefix}${label}  ${dangerous(step) ? style.red(style.bold(text)) : text}`);
  }
}

/** The least room worth giving a step's summary on its own row. */
const MIN_SUMMARY = 20;

interface CompactRow {
  num: string;
  id: string;
  kind: string;
  impact: string;
}

const r0 = (rows: CompactRow[]): CompactRow => rows[0] ?? { num: '', id: '', kind: '', impact: '' };

/** A step's marks and what it does, for the compact listing. */
function aboutText(step: PlannedStep, done: ReadonlySet<string>): string {
  if (done.has(step.id)) return 'DONE before the resume';
  if (step.decision === 'skip') return `SKIPPED (when: ${step.when?.expression ?? ''} -> ${step.when?.rendered ?? 'false'})`;
  const marks: string[] = [];
  if (refusesNow(step) !== undefined) marks.push('REFUSES');
  if (step.decision === 'decided at run time') marks.push('decided at run time');
  if (mayLoseDataLater(step)) marks.push('data loss decided at run time');
  return `${marks.length ? `(${marks.join('; ')}) ` : ''}${shortSummary(step)}`;
}

function dangerous(step: PlannedStep): boolean {
  return step.impact === 'dataLoss' || mayLoseDataLater(step) || refusesNow(step) !== undefined;
}

/**
 * A step for a terminal too narrow for columns: its number, name, type and impact, then what it
 * does on up to two lines broken between words, each line within the width.
 */
function stackedRow(step: PlannedStep, r: CompactRow, style: Style, width: number, done: ReadonlySet<string>): string[] {
  const indent = ' '.repeat(r.num.length + 1);
  const head = cut(`${r.num} ${r.id}  ${r.kind}`, width - r.impact.length - 2);
  const about = twoLines(aboutText(step, done), width - indent.length).map((l) => indent + l);
  if (step.decision === 'skip' || done.has(step.id)) return [style.dim(`${head}  ${r.impact}`), ...about.map((l) => style.dim(l))];
  return [`${head}  ${impactLabel(step, style)}`, ...about.map((l) => (dangerous(step) ? style.red(style.bold(l)) : l))];
}

/** `text` broken between words into at most two lines of `room`, the second cut with "..." when more is left. */
function twoLines(text: string, room: number): string[] {
  if (text.length <= room) return [text];
  const words = text.split(' ');
  let first = '';
  while (words.length && (first === '' ? words[0]!.length : first.length + 1 + words[0]!.length) <= room) first += (first ? ' ' : '') + words.shift()!;
  // A first word longer than the line is cut like any other text.
  if (first === '') return [cut(text, room)];
  return [first, cut(words.join(' '), room)];
}

export interface PlanTextParts {
  /** Header and steps. */
  body: string[];
  /** The closing line and what it must say next to it (data loss, the full refusal, how to see more). */
  closing: string[];
  escaped: boolean;
}

/** The plan's text in two parts, so a probed plan can put what it observed between them. */
export function planTextParts(given: Plan & { predicted?: PredictedPath }, style: Style = plainStyle, opts: PlanTextOptions = {}): PlanTextParts {
  // Every value as it will be sent, control characters escaped (engine/ui/visible.ts).
  const { value: plan, escaped } = visibleData(given);
  const done = new Set(opts.done ?? []);
  const out: string[] = [];
  out.push(style.bold(`Runbook: ${plan.runbook.name}`) + `  (${plan.runbook.file}, sha256 ${plan.runbook.sha256.slice(0, 12)})`);
  if (plan.runbook.description) out.push(`  ${plan.runbook.description.trim()}`);
  const where = plan.inventory.lab ? `embedded lab${plan.inventory.lab.scenario ? `, scenario ${plan.inventory.lab.scenario}` : ''}` : plan.inventory.file ?? 'inventory';
  out.push(`Link: ${plan.inventory.link}  database ${plan.inventory.database}  (${where})`);
  const inputs = Object.entries(plan.inputs);
  if (opts.inputs && Object.keys(opts.inputs).length) {
    out.push('Inputs (set with --set name=value or --inputs file.yml):');
    out.push(...inputLines(visibleData(opts.inputs).value, plan.inputs, '  '));
  } else if (inputs.length) out.push(`Inputs: ${inputs.map(([k, v]) => `${k}=${shown(v)}`).join(', ')}`);
  out.push('');
  if (opts.full) {
    for (const step of plan.steps) {
      renderFullStep(plan, step, style, out);
      out.push('');
    }
  } else {
    renderCompactSteps(plan, style, opts.width, out, done);
    out.push('');
  }

  // A resume's plan adds up what it still runs.
  const verdict = planVerdict(done.size ? { ...plan, steps: plan.steps.filter((s) => !done.has(s.id)) } : plan);
  const closing: string[] = [];
  const line = closingLine(verdict) + (done.size ? ` ${done.size} step(s) done before the resume are not run again.` : '');
  closing.push(verdict.stop ? style.red(style.bold(line)) : style.bold(line));
  if (verdict.stop && gist(verdict.stop.message) !== verdict.stop.message.replace(/[.!?]$/, '')) {
    closing.push(`  Step ${verdict.stop.index} (${verdict.stop.id}) would ${verdict.stop.how === 'refuse' ? 'refuse' : 'fail'}${verdict.stop.probed ? ', by what the probe read' : ''}: ${verdict.stop.message}`);
  }
  const dataLoss = plan.steps.filter((s) => s.impact === 'dataLoss' && s.decision !== 'skip');
  if (dataLoss.length) {
    closing.push(style.red(style.bold(`!! ${dataLoss.length} data-loss step(s): ${dataLoss.map((s) => s.id).join(', ')}. ` +
      `Apply needs --allow-data-loss ${plan.inventory.link} (--yes does not imply it).`)));
  }
  if (!opts.full && opts.hintFull) closing.push(style.dim('Every step in full (SQL, guards, arguments): the same command with --full.'));
  if (escaped) closing.push(style.yellow(ESCAPES_NOTE));
  return { body: out, closing, escaped };
}

export function renderPlanText(given: Plan, style: Style = plainStyle, opts: PlanTextOptions = {}): string {
  const { body, closing } = planTextParts(given, style, opts);
  return [...body, ...closing].join('\n') + '\n';
}
