// The run journal: one append-only JSON-lines file per run under .runbook/runs/. Each step's
// `started` record is written (and flushed to disk) before the step acts, so after a crash the
// journal shows what may have happened. No secrets: inputs declared `secret` are redacted by
// the caller, and the journal never sees passwords (they live only in the run's env).
import { closeSync, fstatSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { redact } from '../../core/redact.js';
import { ExitError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { currentUser } from './owner.js';
import type { LinkState } from '../../drivers/sql/lock.js';

/** Time-sortable run id, e.g. `20261128T041500Z-ab12`. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

export type JournalRecord =
  | {
      kind: 'run-started';
      runId: string;
      runbook: { name: string; file: string; sha256: string };
      link: string;
      /** The run's `run.started` as templates saw it; a resume keeps it. */
      started?: string;
      inputs: Record<string, unknown>;
      /** Secret inputs appear in `inputs` as a placeholder; here a salted fingerprint (engine/core/secrets.ts), never the value. */
      secretInputs?: Record<string, string>;
      user: string;
      host: string;
      pid: number;
      argv?: string[];
      /** What resume compares: the inventory's file (absolute) and a hash of its content. */
      inventory?: { file?: string; lab?: boolean; sha256: string };
      /** The runbook file's absolute path, so `--resume` can find it from any directory. */
      runbookPath?: string;
      steps?: number;
    }
  /** `apply --resume` continues the run in the same journal. */
  | { kind: 'run-resumed'; runId: string; user: string; host: string; pid: number; argv?: string[]; /** A torn last line (a crash mid-write) cut off before this record. */ tornLastLine?: number }
  /** The link lock: where it is held, where it could not be taken (unreachable replicas). */
  | { kind: 'lock'; resource: string; held: string[]; unreachable: Array<{ side: string; error: string }>; holder: string }
  | { kind: 'lock-refused'; resource: string; side: string; holder: string }
  /** A lock session ended during the run: taken again (nothing changed) or not (engine/drivers/sql/lock.ts). */
  | { kind: 'lock-lost'; side: string; during?: string; retaken: boolean; holder?: string; changes: string[]; ownStep?: string; message: string }
  /**
   * The link as the locked replicas showed it (engine/drivers/sql/lock.ts): at the start of each
   * part of the run (once the lock is held; for a resume, once it accepted the link as it found
   * it), and after each change step's end, `after` naming it. What a resume compares the link with.
   */
  | { kind: 'link-state'; after?: string; state: LinkState }
  | { kind: 'step-started'; step: string; type: string; index: number; impact: string; attempt: number; target?: string }
  | { kind: 'step-finished'; step: string; outputs: Record<string, unknown>; durationMs: number; attempts: number; verified?: boolean }
  | {
      kind: 'step-failed'; step: string; error: string; outcome: 'failed' | 'refused' | 'unknown' | 'interrupted'; durationMs: number; attempts: number; willRetry?: boolean;
      /** A change that ended before it sent anything (its send gate saw it): a resume treats it as never begun. */
      nothingSent?: boolean;
      /**
       * A change whose failure does not say it was not applied (a script that ran in part, a
       * statement that failed after others of its batch ran): a resume verifies it and refuses
       * when that cannot tell. Older journals lack it: their `failed` change counts as may-have-acted.
       */
      mayHaveActed?: boolean;
    }
  /** `index` and `type` say which step it is without the runbook (`runbook runs show`); older journals lack them. */
  | { kind: 'step-skipped'; step: string; reason: string; index?: number; type?: string }
  /**
   * A statement a step is about to send (engine/apply/step-context.ts), once per distinct text and
   * parameters: T-SQL to a replica side, or `METHOD url` to `arm`. What `runbook runs show` lists.
   */
  | { kind: 'statement'; step: string; target: string; text: string; params?: Record<string, unknown> }
  /** A verify() probe's answer: after an unknown outcome, or on resume for a step that may have acted. */
  | { kind: 'step-verified'; step: string; result: 'done' | 'not-done' | 'unknown'; why: 'resume' | 'unknown-outcome' | 'retry'; detail?: string }
  /**
   * The operator said yes to the one question asked before the run's steps (engine/apply/confirmation.ts):
   * the gates' questions it answered (`steps`, in order) and the change steps it let run.
   */
  | { kind: 'confirmed'; by: 'operator'; via?: string; steps: string[]; questions: string[]; changes: string[]; at?: string }
  /** What apply's read-only probes told before its question (engine/apply/foresee.ts), as the plan with it showed. */
  | { kind: 'foreseen'; result: 'predicted' | 'could not tell' | 'timed out'; summary: string; outcome?: string; stoppedAt?: { index: number; step: string; outcome: string } }
  /** Where an interrupt stopped the run (before step X / abandoned during step X). */
  | { kind: 'interrupted'; signal: string; stoppedBefore?: string; abandonedDuring?: string }
  | { kind: 'run-finished'; exitCode: number; meaning: string; durationMs: number; changed: string[]; mayHaveChanged?: string[]; stoppedAt?: string };

/**
 * Hears of each record once it is written (and made as durable as write() makes it), synchronously,
 * inside the write: what it does happens before the engine goes on. One user: the drill's warm
 * worker (engine/cli/worker-hold.ts), which holds its run still at a step boundary for the drill's
 * SIGKILL. Nothing the `runbook` CLI runs registers one, so a plain run never holds.
 */
export type RecordWritten = (record: JournalRecord, journalPath: string) => void;

const recordListeners = new Set<RecordWritten>();

/** Registers `listener` for every record any journal of this process writes from now on; the function returned removes it. */
export function onRecordWritten(listener: RecordWritten): () => void {
  recordListeners.add(listener);
  return () => void recordListeners.delete(listener);
}

export interface Journal {
  readonly path: string;
  write(record: JournalRecord): void;
  /**
   * Resolves once every record written so far that must be on disk is (at once when the journal
   * flushes on the calling thread); rejects when flushing one failed.
   */
  durable(): Promise<void>;
  /** Closes the file once its pending flushes ended (at once when it has none). */
  close(): Promise<void>;
}

export function runIdentity(): { user: string; host: string; pid: number } {
  return { user: currentUser(), host: hostname(), pid: process.pid };
}

export interface JournalOpening {
  /** A new run: the journal must not exist yet (two runs never share one). */
  create?: boolean;
  /**
   * A resume: the journal as it was read (engine/apply/journal/read.ts). It must not have changed since;
   * a torn last line is cut off and a missing last newline written, so appended records start on
   * a line of their own.
   */
  continueAfter?: { size: number; keep: number; needsNewline: boolean };
  /**
   * Flush on libuv's thread pool instead of the calling thread (a wave: its runs share one thread,
   * which each fsync would stop). A record that must be durable is then durable only once
   * `durable()` resolved: the step runner awaits it before a change acts, the run before it ends.
   */
  flushOffThread?: boolean;
}

export function openJournal(dir: string, runId: string, how: JournalOpening = {}): Journal {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${runId}.jsonl`);
  let fd: number;
  try {
    fd = openSync(path, how.create ? 'ax' : 'a', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ExitError(ExitCode.refused, `refusing to start run ${runId}: its journal ${path} already exists. Nothing was run.`);
    throw error;
  }
  const tail = how.continueAfter;
  if (tail) {
    if (fstatSync(fd).size !== tail.size) {
      closeSync(fd);
      throw new ExitError(ExitCode.refused, `refusing to resume run ${runId}: its journal ${path} changed while the resume was starting. Nothing was run.`);
    }
    if (tail.keep < tail.size) ftruncateSync(fd, tail.keep);
    if (tail.needsNewline) writeSync(fd, '\n');
  }
  let open = true;
  /** The last flush started off the thread: each one covers every record written before it. */
  let flushed: Promise<void> = Promise.resolve();
  return {
    path,
    write(record) {
      if (!open) return;
      // Registered secrets (passwords, tokens) are masked in every record, whatever field holds them.
      const line = redact(JSON.stringify({ at: new Date().toISOString(), ...record })) + '\n';
      writeSync(fd, line);
      // A change's step-started record must be on disk before the step acts. A read's need not (a
      // wave's runs share one thread, which each fsync stops): after a power loss it can only be
      // missing with the records after it, since the next fsync of the file writes it out too, and
      // a read that seems not begun is run again. A killed process loses nothing either way.
      if ((record.kind === 'step-started' && record.impact !== 'read') || record.kind === 'run-finished' || record.kind === 'interrupted') {
        if (!how.flushOffThread) fsyncSync(fd);
        else {
          const before = flushed;
          const now = new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
          now.catch(() => undefined);
          // Kept in order: durable() means every earlier flush ended too.
          flushed = before.then(() => now, (error: unknown) => now.then(() => Promise.reject(error)));
          flushed.catch(() => undefined);
        }
      }
      for (const listener of recordListeners) listener(record, path);
    },
    durable: () => flushed,
    close() {
      const settled = flushed.then(() => undefined, () => undefined);
      if (!open) return settled;
      open = false;
      if (!how.flushOffThread) {
        closeSync(fd);
        return settled;
      }
      // The descriptor stays open until its flushes ended: closed under one, it could be another file's by then.
      return settled.then(() => closeSync(fd));
    },
  };
}

export function defaultJournalDir(cwd: string = process.cwd()): string {
  return join(cwd, '.runbook', 'runs');
}
