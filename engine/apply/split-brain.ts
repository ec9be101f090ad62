// The engine's own word on a split-brain it leaves: a runbook may end so on purpose (forced-
// failover.yml with the old primary reachable, its `outcomes.splitBrain`), but what the run says
// about it must not depend on the runbook's own notify, which an edited runbook can make say the
// opposite (attack r4-drill #3). Read from the lock's reading after each change step.
import type { LinkState } from '../drivers/sql/lock.js';

const PREFIX = 'SPLIT-BRAIN: ';

/**
 * The notice for the link as the lock last read it: both replicas PRIMARY, or one PRIMARY and the
 * other out of reach (a down former primary says PRIMARY again when it comes back: MicrosoftDocs/
 * sql-docs, perform-a-forced-manual-failover-of-an-availability-group-sql-server.md). Undefined when
 * neither holds.
 */
export function splitBrainNotice(link: string, state: LinkState): string | undefined {
  const primary = (side: 'sqlServer' | 'managedInstance') => {
    const s = state[side];
    return s?.readable === true && s.role === 'PRIMARY';
  };
  const unseen = (side: 'sqlServer' | 'managedInstance') => state[side]?.readable !== true;
  if (primary('sqlServer') && primary('managedInstance')) {
    return `${PREFIX}both replicas of link ${link} say PRIMARY. Point applications at one side only, and resolve it (runbooks/split-brain.yml) before anything else.`;
  }
  for (const [seen, other] of [['sqlServer', 'managedInstance'], ['managedInstance', 'sqlServer']] as const) {
    if (primary(seen) && unseen(other)) {
      return `${PREFIX}${seen} says PRIMARY on link ${link} and ${other} could not be read; if ${other} was primary before, it says PRIMARY again when it comes back. Keep applications off it until the split is resolved (runbooks/split-brain.yml).`;
    }
  }
  return undefined;
}

/** Keeps the run's notices holding the notice for the link's latest reading only (a later change may have resolved it). */
export function noteSplitBrain(notices: string[], link: string, state: LinkState): void {
  const stale = notices.findIndex((n) => n.startsWith(PREFIX));
  if (stale >= 0) notices.splice(stale, 1);
  const notice = splitBrainNotice(link, state);
  if (notice) notices.push(notice);
}
