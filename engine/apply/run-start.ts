// What a run's journal says first: a new run's `run-started` record (what a resume must find the
// same: the runbook's hash, the inputs, redacted, and the secret inputs' fingerprints, the inventory)
// or a resume's `run-resumed` record. Pure.
import { redactInputs } from '../plan/build.js';
import { secretInputFingerprints } from '../core/secrets.js';
import { runIdentity, type JournalRecord } from './journal/write.js';
import type { ApplyOptions } from './types.js';

type StartOptions = Pick<ApplyOptions, 'runId' | 'resume' | 'argv' | 'runbook' | 'inputs' | 'plan' | 'inventory' | 'identity'>;

export function runStartRecord(opts: StartOptions, started: string): JournalRecord {
  const identity = runIdentity();
  if (opts.resume) {
    const torn = opts.resume.journal?.tornLastLine;
    return { kind: 'run-resumed', runId: opts.runId, ...identity, ...(opts.argv ? { argv: opts.argv } : {}), ...(torn !== undefined ? { tornLastLine: torn } : {}) };
  }
  const secrets = secretInputFingerprints(opts.runbook, opts.inputs);
  return {
    kind: 'run-started',
    runId: opts.runId,
    runbook: { name: opts.plan.runbook.name, file: opts.plan.runbook.file, sha256: opts.plan.runbook.sha256 },
    link: opts.inventory.link.name,
    started,
    inputs: redactInputs(opts.runbook, opts.inputs),
    ...(secrets ? { secretInputs: secrets } : {}),
    ...identity,
    ...(opts.argv ? { argv: opts.argv } : {}),
    ...(opts.identity ? { inventory: opts.identity.inventory, ...(opts.identity.runbookPath ? { runbookPath: opts.identity.runbookPath } : {}) } : {}),
    steps: opts.plan.steps.length,
  };
}
