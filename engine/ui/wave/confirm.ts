// The wave's one confirmation: a listing of every link it runs (where, and the steps that change
// it), then one question on the terminal. Without a terminal and without --yes nothing runs.
import { ExitError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { abbreviate } from '../../fleet/expand.js';
import { changeSteps } from '../../fleet/data-loss.js';
import type { PlannedLink } from '../../fleet/link-inventory.js';
import { ttyConfirm } from '../prompt.js';

/** What the one confirmation shows: each link, where it runs, and the steps that change it. */
export function waveListing(links: readonly PlannedLink[], runbookName: string): string {
  const lines = [`The wave runs ${runbookName} on ${links.length} link(s):`];
  for (const l of links) {
    const link = l.inventory.link;
    const changes = changeSteps(l.plan).map((s) => `${s.id}${s.impact === 'dataLoss' ? ' [DATA LOSS]' : ''}${s.decision === 'decided at run time' ? ' (if)' : ''}`);
    lines.push(`  ${l.name}: ${link.database} on ${link.sqlServer.name} <-> ${link.managedInstance.name}; ${l.plan.steps.length} steps, changes: ${changes.join(', ') || 'none'}`);
  }
  return lines.join('\n') + '\n';
}

export async function confirmWave(links: readonly PlannedLink[], runbookName: string, opts: { yes: boolean }, io: { stdin: NodeJS.ReadStream; stderr: NodeJS.WritableStream }): Promise<void> {
  const changing = links.filter((l) => changeSteps(l.plan).length);
  if (opts.yes || changing.length === 0) return;
  const confirm = ttyConfirm(io.stdin, io.stderr);
  if (!confirm) {
    throw new ExitError(ExitCode.refused, `refusing the wave: ${changing.length} link(s) would be changed (${abbreviate(changing.map((l) => l.name))}) and there is no terminal to confirm on. Nothing was run. Review \`runbook plan\` and pass --yes.`);
  }
  io.stderr.write(waveListing(links, runbookName));
  if (!(await confirm(`Apply to these ${links.length} link(s)?`))) throw new ExitError(ExitCode.refused, 'the wave was not confirmed. Nothing was run.');
}
