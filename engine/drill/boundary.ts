// Where the drill stops a run "at step boundary N": once its journal shows N distinct steps
// reached. One predicate for both sides of a kill: the drill's journal poll (child.ts) and the
// warm worker that holds its own run still there (engine/cli/worker.ts).

/** How many distinct steps a journal shows reached (started or skipped). */
export function stepsReached(records: ReadonlyArray<{ kind: string; step?: unknown }>): number {
  const seen = new Set<string>();
  for (const r of records) if (r.kind === 'step-started' || r.kind === 'step-skipped') seen.add(String(r.step));
  return seen.size;
}

/** The run has reached step boundary `boundary` (1 = its first step started or skipped). */
export function boundaryReached(records: ReadonlyArray<{ kind: string; step?: unknown }>, boundary: number): boolean {
  return stepsReached(records) >= boundary;
}
