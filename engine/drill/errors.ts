// The drill's own failures, apart from any verdict on the runbook: what it was given could not be
// rehearsed, or its machinery failed. engine/commands/drill.ts turns them into exit 2 and exit 1.

/** apply exits 2 on what the drill gave it: no run of this drill can mean anything. */
export class DrillSetupError extends Error {
  override name = 'DrillSetupError';
}

/** The drill's own machinery failed (a worker died before its run began): no run of this drill can be judged. */
export class DrillHarnessError extends Error {
  override name = 'DrillHarnessError';
}
