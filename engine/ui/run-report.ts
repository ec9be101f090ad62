// A run's change record (engine/apply/journal/report.ts) for people: plain text for the terminal,
// and Markdown to paste into a change ticket (who, what, when, every statement sent with its
// target, the outcome). Control characters in anything the journal holds are shown escaped.
import type { RunReport, ReportedStatement } from '../apply/journal/report.js';
import { formatElapsed } from '../core/duration.js';
import { unicodeStringLiteral } from '../core/sql-literal.js';
import { visibleData } from './visible.js';

function literal(v: unknown): string {
  if (typeof v === 'string') return unicodeStringLiteral(v);
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'boolean') return v ? '1' : '0';
  return JSON.stringify(v);
}

function paramsLine(s: ReportedStatement): string | undefined {
  const entries = Object.entries(s.params ?? {});
  return entries.length ? `-- parameters (sp_executesql): ${entries.map(([k, v]) => `@${k} = ${literal(v)}`).join(', ')}` : undefined;
}

function outcomeLine(r: RunReport): string {
  if (r.exitCode === undefined) return r.state === 'running' ? 'still running' : `${r.state} (no end recorded: the process stopped without a last word)`;
  return `exit ${r.exitCode} (${r.meaning ?? ''})${r.stoppedAt ? `, stopped ${r.stoppedAt}` : ''}`;
}

function whoLines(r: RunReport): string[] {
  return r.parts.map((p) => `${p.kind === 'started' ? 'started' : 'resumed'} ${p.at ?? '?'} by ${p.user} on ${p.host} (pid ${p.pid})${p.command ? `: runbook ${p.command.join(' ')}` : ''}`);
}

function inputsText(r: RunReport): string {
  const entries = Object.entries(r.inputs);
  return entries.length ? entries.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : '(none)';
}

function stepTarget(r: RunReport, step: string): string {
  const s = r.steps.find((x) => x.id === step);
  return s ? `step ${s.index} ${s.id}` : `step ${step}`;
}

export function renderRunReportText(given: RunReport): string {
  const { value: r } = visibleData(given);
  const out: string[] = [];
  out.push(`Run ${r.runId}: ${r.runbook.name} (${r.runbook.file}, sha256 ${r.runbook.sha256.slice(0, 12)})`);
  out.push(`Link: ${r.link}${r.inventory ? `  inventory ${r.inventory.lab ? 'embedded lab' : r.inventory.file ?? '?'} (sha256 ${r.inventory.sha256.slice(0, 12)})` : ''}`);
  for (const w of whoLines(r)) out.push(`Who:  ${w}`);
  out.push(`When: ${r.started ?? '?'} -> ${r.finished ?? '(not finished)'}${r.durationMs !== undefined ? ` (${formatElapsed(r.durationMs)})` : ''}`);
  out.push(`Inputs: ${inputsText(r)}`);
  out.push(`Outcome: ${outcomeLine(r)}`);
  out.push(r.changed.length ? `Changed: ${r.changed.join(', ')}` : r.exitCode !== undefined ? 'Changed: nothing' : 'Changed: (not known until the run ends)');
  if (r.mayHaveChanged.length) out.push(`May have changed: ${r.mayHaveChanged.join(', ')}`);
  out.push('', 'Steps:');
  for (const s of r.steps) {
    const took = s.durationMs !== undefined ? ` ${formatElapsed(s.durationMs)}` : '';
    const impact = s.impact ? `  [${s.impact}]` : '';
    out.push(`  ${String(s.index).padStart(2)}. ${s.id}  ${s.type}${s.target ? ` -> ${s.target}` : ''}${impact}  ${s.outcome}${took}${s.attempts && s.attempts > 1 ? `, ${s.attempts} attempts` : ''}`);
    if (s.detail) out.push(`      ${s.detail.split('\n')[0]}`);
  }
  out.push('', `Statements sent (${r.statements.length}, each distinct one once):`);
  if (r.statements.length === 0) out.push('  none recorded');
  for (const s of r.statements) {
    out.push(`  ${s.at ?? ''} ${stepTarget(r, s.step)} -> ${s.target}:`.replace(/^ {2} /, '  '));
    const params = paramsLine(s);
    if (params) out.push(`    ${params}`);
    for (const line of s.text.replace(/\n+$/, '').split('\n')) out.push(`    ${line}`);
  }
  if (r.events.length) out.push('', 'Events:', ...r.events.map((e) => `  ${e}`));
  out.push('', `Journal: ${r.journal}`);
  return out.join('\n') + '\n';
}

/** A fence longer than any run of backticks in the text, so no statement can end its code block. */
function fence(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  return '`'.repeat(Math.max(3, longest + 1));
}

/** A Markdown table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

export function renderRunReportMarkdown(given: RunReport): string {
  const { value: r } = visibleData(given);
  const out: string[] = [];
  out.push(`## Change record: ${r.runbook.name} on link ${cell(r.link)}`, '');
  out.push('| | |', '| --- | --- |');
  out.push(`| Run | \`${r.runId}\` |`);
  out.push(`| Runbook | ${cell(r.runbook.name)} (\`${cell(r.runbook.file)}\`, sha256 \`${r.runbook.sha256.slice(0, 12)}\`) |`);
  out.push(`| Link | ${cell(r.link)} |`);
  if (r.inventory) out.push(`| Inventory | ${r.inventory.lab ? 'embedded lab' : `\`${cell(r.inventory.file ?? '?')}\``} (sha256 \`${r.inventory.sha256.slice(0, 12)}\`) |`);
  for (const w of whoLines(r)) out.push(`| Who | ${cell(w)} |`);
  out.push(`| Started | ${r.started ?? '?'} |`);
  out.push(`| Finished | ${r.finished ?? '(not finished)'}${r.durationMs !== undefined ? ` (${formatElapsed(r.durationMs)})` : ''} |`);
  out.push(`| Inputs | ${cell(inputsText(r))} |`);
  out.push(`| Outcome | ${cell(outcomeLine(r))} |`);
  out.push(`| Changed | ${r.changed.length ? cell(r.changed.join(', ')) : r.exitCode !== undefined ? 'nothing' : '(not known until the run ends)'} |`);
  if (r.mayHaveChanged.length) out.push(`| May have changed | ${cell(r.mayHaveChanged.join(', '))} |`);
  out.push('', '### Steps', '', '| # | step | type | target | impact | outcome | time |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const s of r.steps) {
    const outcome = s.detail ? `${s.outcome}: ${s.detail.split('\n')[0]}` : s.outcome;
    out.push(`| ${s.index} | ${cell(s.id)} | ${s.type} | ${s.target ?? ''} | ${s.impact} | ${cell(outcome)} | ${s.durationMs !== undefined ? formatElapsed(s.durationMs) : ''} |`);
  }
  out.push('', '### Statements sent', '');
  if (r.statements.length === 0) out.push('None recorded.');
  for (const s of r.statements) {
    const params = paramsLine(s);
    const body = [...(params ? [params] : []), s.text.replace(/\n+$/, '')].join('\n');
    const f = fence(body);
    out.push(`${s.at ?? ''} ${cell(stepTarget(r, s.step))} on **${s.target}**:`.trim(), '', `${f}${s.target === 'arm' ? 'http' : 'sql'}`, body, f, '');
  }
  if (r.events.length) out.push('### Events', '', ...r.events.map((e) => `- ${cell(e)}`), '');
  out.push(`Journal: \`${cell(r.journal)}\``);
  return out.join('\n') + '\n';
}
