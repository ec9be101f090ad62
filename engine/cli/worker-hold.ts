// A warm worker's run held still at a step boundary, for the drill's SIGKILL (engine/drill/child.ts
// stopThenResume): a kill sent when a journal poll sees the boundary lands wherever the run has got
// to by then, often past the last steps (reads whose records are not fsynced take well under the
// poll's 3 ms). Here the run itself stops right after the record that reaches the boundary is
// written, says so on a file descriptor (no event loop needed: it will not turn again), and blocks
// its only thread until the SIGKILL comes. Only a run instruction over the worker's IPC channel
// asks for it: nothing of the `runbook` CLI, its flags or its environment reaches this module.
import { writeSync } from 'node:fs';
import { onRecordWritten, type JournalRecord } from '../apply/journal/write.js';
import { boundaryReached } from '../drill/boundary.js';

/** How often a held process looks whether its parent is still there (a drill that died kills nothing). */
const PARENT_CHECK_MS = 200;

/**
 * Holds the run at `boundary` (writes `mark` to stderr, then blocks) once the journal this process
 * writes shows it; the function returned stops listening (the run ended without reaching it).
 */
export function holdAtBoundary(boundary: number, mark: string): () => void {
  let journal: string | undefined;
  const written: JournalRecord[] = [];
  return onRecordWritten((record, path) => {
    // The run's own journal: the first one written (an apply writes one).
    journal ??= path;
    if (path !== journal) return;
    written.push(record);
    if (boundaryReached(written, boundary)) holdUntilKilled(mark);
  });
}

function holdUntilKilled(mark: string): never {
  // Synchronous: the mark is in the pipe before the thread blocks (fd 2 is the parent's pipe).
  writeSync(2, mark);
  const parent = process.ppid;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  // process.ppid asks the system each time: a parent gone (the drill died) cannot send the kill, so
  // the process ends itself as the drill would have ended it.
  for (;;) {
    Atomics.wait(cell, 0, 0, PARENT_CHECK_MS);
    if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  }
}
