// The wave's one confirmation: a listing of every link it runs (where, the steps that change it,
// and each question its runbook's gates ask, rendered for that link), then one question on the
// terminal. The operator's yes answers exactly what was listed: each link's run is given the time
// of that answer and accepts its own question only if every gate and change in it was listed
// (engine/commands/apply.ts `answeredBefore`). A gate whose question needs what the run learns
// cannot be shown before a wave, and no one can be asked while many links run: such a wave needs
// --yes. Without a terminal and without --yes nothing runs.
import type { LoadedStep } from '../../step-api/types.js';
import { runQuestion, type RunQuestion } from '../../apply/confirmation.js';
import { ExitError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { abbreviate } from '../../fleet/expand.js';
import type { PlannedLink } from '../../fleet/link-inventory.js';
import { ttyConfirm } from '../prompt.js';
import { escapeControls } from '../visible.js';

type Steps = ReadonlyMap<string, LoadedStep>;

/** What the one confirmation shows: each link, where it runs, the steps that change it, what it asks. */
export function waveListing(links: readonly PlannedLink[], runbookName: string, steps: Steps): string {
  const lines = [`The wave runs ${runbookName} on ${links.length} link(s):`];
  for (const l of links) {
    const link = l.inventory.link;
    const q = runQuestion(l.plan, steps);
    const changes = (q?.changes ?? []).map((c) => `${c.step}${c.impact === 'dataLoss' ? ' [DATA LOSS]' : ''}${c.decided ? '' : ' (if)'}`);
    lines.push(`  ${l.name}: ${link.database} on ${link.sqlServer.name} <-> ${link.managedInstance.name}; ${l.plan.steps.length} steps, changes: ${changes.join(', ') || 'none'}`);
    for (const c of q?.confirmations ?? []) lines.push(`    confirms (step ${c.step}): ${escapeControls(c.question)}`);
    for (const later of q?.askedLater ?? []) lines.push(`    asks at run time (step ${later.step}): its question needs what the run learns`);
  }
  return lines.join('\n') + '\n';
}

/** The operator's answer for the whole wave: when, and which run questions it covers. */
export interface WaveAnswer {
  at: string;
  covers(link: string, question: RunQuestion): boolean;
}

/** Undefined with --yes (each run then assumes yes, and journals it so). */
export async function confirmWave(links: readonly PlannedLink[], runbookName: string, steps: Steps, opts: { yes: boolean }, io: { stdin: NodeJS.ReadStream; stderr: NodeJS.WritableStream }): Promise<WaveAnswer | undefined> {
  if (opts.yes) return undefined;
  const questions = new Map(links.map((l) => [l.name, runQuestion(l.plan, steps)]));
  const shown = (link: string) => questions.get(link);
  const answer = (at: string): WaveAnswer => ({
    at,
    covers: (link, q) => {
      const listed = shown(link);
      return (
        q.confirmations.every((c) => listed?.confirmations.some((s) => s.step === c.step && s.question === c.question)) &&
        q.changes.every((c) => listed?.changes.some((s) => s.step === c.step))
      );
    },
  });
  const asking = links.filter((l) => questions.get(l.name) !== undefined);
  if (asking.length === 0) return answer(new Date().toISOString());
  const later = links.filter((l) => questions.get(l.name)?.askedLater.length);
  if (later.length) {
    const which = later.map((l) => `${l.name} (${questions.get(l.name)!.askedLater.map((s) => s.step).join(', ')})`);
    throw new ExitError(ExitCode.refused, `refusing the wave: ${later.length} link(s) have gates whose question needs what the run learns, asked when the run gets there: ${abbreviate(which)}. One confirmation cannot show them and no one can be asked while the links run. Nothing was run. Review \`runbook plan\` and pass --yes to let the wave answer them.`);
  }
  const confirm = ttyConfirm(io.stdin, io.stderr);
  if (!confirm) {
    throw new ExitError(ExitCode.refused, `refusing the wave: ${asking.length} link(s) need confirmation (${abbreviate(asking.map((l) => l.name))}) and there is no terminal to confirm on. Nothing was run. Review \`runbook plan\` and pass --yes.`);
  }
  io.stderr.write(waveListing(links, runbookName, steps));
  if (!(await confirm(`Apply to these ${links.length} link(s)? Answering yes confirms every line above.`))) throw new ExitError(ExitCode.refused, 'the wave was not confirmed. Nothing was run.');
  return answer(new Date().toISOString());
}
