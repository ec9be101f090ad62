// Ctrl-C and SIGTERM. The first signal asks the run to stop at the next safe point: a read step
// is cancelled at once; a change or dataLoss step is a non-safe section and runs to its end,
// including the verification of an unclear outcome, because stopping between issuing a FAILOVER
// and knowing whether it happened would leave the operator guessing. A second signal during a
// non-safe section only explains this; a third abandons it (the journal then says the step's
// outcome is unknown). Outside a non-safe section the second signal exits at once.
// Every exit goes through `abandon` handlers so the journal says where the run stopped.
import { ExitCode } from '../core/exit-codes.js';

export interface InterruptOptions {
  /** Writes one line for the operator (stderr). */
  say(line: string): void;
  /** Ends the process; tests pass their own. */
  exit(code: number): void;
  /** How long an abandoning exit waits for its handlers' cleanup (closing connections); default 1s. */
  abandonDeadlineMs?: number;
}

/** Runs synchronously when a run is abandoned; may return cleanup that the exit waits for briefly. */
export type AbandonHandler = (signal: string, during?: string) => void | Promise<unknown>;

export class Interrupts {
  private readonly controller = new AbortController();
  private presses = 0;
  private unsafe: string | undefined;
  private unsafePresses = 0;
  /** The non-safe section's step has said it sent nothing yet and waits to send (a wave's shared session). */
  private waitingToSend = false;
  private readonly abandonHandlers = new Set<AbandonHandler>();
  private abandoning = false;
  /** The first signal's name, once one came. */
  signalName: string | undefined;

  constructor(private readonly opts: InterruptOptions) {}

  /** A line for the operator, where the interrupts' own lines go. */
  say(line: string): void {
    this.opts.say(line);
  }

  /** Aborted by the first signal. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Called with the signal name from the process handlers. */
  press(name: string): void {
    // Already leaving, waiting a moment for connections to close: another signal means now.
    if (this.abandoning) return this.opts.exit(ExitCode.interrupted);
    this.presses++;
    // What to press, as the operator knows it: Ctrl-C is what sends SIGINT from a terminal.
    const key = name === 'SIGINT' ? 'Ctrl-C' : name;
    // A change that has sent nothing yet is stopped as a read is: its wait ends, nothing is sent.
    const unsafe = this.waitingToSend ? undefined : this.unsafe;
    if (this.presses === 1) {
      this.signalName = name;
      this.opts.say(
        this.waitingToSend
          ? `${name}: stopping now: ${this.unsafe} has sent nothing yet (it was waiting to send its change), so it stops without sending and no further step starts (${key} again to exit at once)`
          : unsafe
          ? `${name}: stopping after ${this.unsafe} (a change in progress is finished and verified first; ${key} twice more to abandon it)`
          : // No change is in progress: a read under way is cut short now, not waited for (attack12 F1, attack-r4apply A8).
            `${name}: stopping now: no change is in progress, so a read under way is cut short and no further step starts (${key} again to exit at once)`,
      );
      this.controller.abort();
      return;
    }
    if (unsafe) {
      this.unsafePresses++;
      if (this.unsafePresses === 1 && this.presses <= 2) {
        this.opts.say(
          `${name} again: ${this.unsafe} is changing the link and its outcome is not known yet; stopping now leaves it unknown. Press ${key} once more to abandon it anyway.`,
        );
        return;
      }
      this.abandon(name, this.unsafe);
      return;
    }
    this.abandon(name);
  }

  /**
   * An interrupt typed at the operator's question (the terminal in raw mode sends no signal): the
   * question already said it was not confirmed, and no step is running, so there is no boundary to
   * announce; the run stops at its next one. A later signal is a second press.
   */
  atQuestion(name: string): void {
    if (this.presses > 0) return this.press(name);
    this.presses = 1;
    this.signalName = name;
    this.controller.abort();
  }

  private abandon(name: string, during?: string): void {
    this.opts.say(
      during
        ? `${name}: abandoning ${during}; its outcome is UNKNOWN. Check the replicas' roles and the link before anything else (the journal says where the run stopped).`
        : `${name} again: exiting now; the journal says where the run stopped`,
    );
    this.abandoning = true;
    const cleanups: Array<Promise<unknown>> = [];
    for (const h of this.abandonHandlers) {
      try {
        const cleanup = h(name, during);
        if (cleanup) cleanups.push(cleanup.catch(() => undefined));
      } catch {
        // Exiting matters more than a journal line that could not be written.
      }
    }
    if (cleanups.length === 0) return this.opts.exit(ExitCode.interrupted);
    // Connections closed politely end their server sessions (and the link lock) at once; a
    // server that does not answer must not hold the exit for long.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.opts.abandonDeadlineMs ?? 1000)));
    void Promise.race([Promise.all(cleanups), deadline]).then(() => {
      clearTimeout(timer);
      this.opts.exit(ExitCode.interrupted);
    });
  }

  /**
   * Registers what to do before an abandoning exit (write the journal's last word at once; the
   * promise it may return, e.g. closing connections, gets a short deadline); returns an unregister function.
   */
  onAbandon(handler: AbandonHandler): () => void {
    this.abandonHandlers.add(handler);
    return () => this.abandonHandlers.delete(handler);
  }

  /** Runs `body` as a non-safe section labelled e.g. `step failover (sqlExec)`. */
  async nonSafe<T>(label: string, body: () => Promise<T>): Promise<T> {
    const outer = this.unsafe;
    this.unsafe = label;
    this.unsafePresses = 0;
    this.waitingToSend = false;
    try {
      return await body();
    } finally {
      this.unsafe = outer;
      this.waitingToSend = false;
    }
  }

  /**
   * The non-safe section's step says whether it is waiting to send, with nothing sent yet (true),
   * or sends now (false): an interrupt while it waits is announced and handled as for a read.
   */
  sendState(state: 'waiting' | 'sent'): void {
    if (this.unsafe) this.waitingToSend = state === 'waiting';
  }

  get inNonSafeSection(): string | undefined {
    return this.unsafe;
  }
}

/**
 * Interrupts wired to the process: SIGINT and SIGTERM; `dispose` removes the handlers. `sayVia`
 * routes the lines through the run's reporter once there is one (a renderer holding the streams
 * would otherwise keep them off the screen until it ends, or for ever on an abandoning exit).
 */
export function processInterrupts(stderr: NodeJS.WritableStream): { interrupts: Interrupts; dispose(): void; sayVia(say: (line: string) => void): void } {
  let write: (line: string) => void = (line) => void stderr.write(`${line}\n`);
  const interrupts = new Interrupts({
    say: (line) => write(`runbook: ${line}`),
    exit: (code) => process.exit(code),
  });
  const onInt = () => interrupts.press('SIGINT');
  const onTerm = () => interrupts.press('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    interrupts,
    sayVia: (say) => (write = say),
    dispose: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
