// The TTY reporter: listr2's default renderer, one short Listr run per step so that apply's
// own loop stays in charge (and the confirmation prompt can use the terminal between steps).
import { Listr, type ListrTaskWrapper } from 'listr2';
import type { Reporter, RunEvent } from '../../apply/events.js';
import { formatElapsed } from '../../core/duration.js';
import type { Style } from '../style.js';
import { lockLine, renderSummary, wrapWords } from './run-text.js';

/**
 * What pausing needs of listr2's default renderer (9.x), which has no public pause: its spinner,
 * its log-update and its hold on the process's streams. Used only by `aside`; a listr2 that no
 * longer has them is met by asking without a pause (test/engine/ui/confirm-on-screen.test.ts fails).
 */
interface RendererInternals {
  spinner: { stop(): void; start(cb: () => void): void };
  updater: { clear(): void };
  logger: { process: { hijack(): void; release(): void } };
  update(): void;
}

function rendererOf(list: Listr<any, any, any>): RendererInternals | undefined {
  const r = (list as unknown as { renderer?: Partial<RendererInternals> }).renderer;
  return r && r.spinner && r.updater && r.logger?.process && typeof r.update === 'function' ? (r as RendererInternals) : undefined;
}

interface Current {
  title: string;
  list?: Listr<any, any, any>;
  task?: ListrTaskWrapper<any, any, any>;
  /** Resolves once the task's body runs (the renderer has drawn its first frame). */
  started: Promise<void>;
  settle: (error?: Error) => void;
  done: Promise<void>;
  /** What the step learnt (info and warnings): written under its line once it ends, so it stays on screen. */
  results: string[];
}

export class ListrReporter implements Reporter {
  private current?: Current;
  private link?: string;
  /** The renderer is paused for a question: nothing may make it draw. */
  private paused = false;
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly style: Style,
  ) {}

  private runOne(title: string, body: (task: ListrTaskWrapper<any, any, any>) => Promise<void> | void, made?: (list: Listr<any, any, any>) => void): Promise<void> {
    const list = new Listr([{ title, task: async (_ctx, task) => body(task) }], {
      renderer: 'default',
      exitOnError: true,
      registerSignalListeners: false,
      rendererOptions: { collapseErrors: false, showErrorMessage: true },
    });
    made?.(list);
    return list.run().then(
      () => undefined,
      () => undefined,
    );
  }

  private width(): number | undefined {
    return (this.out as NodeJS.WriteStream).columns || undefined;
  }

  /** Below the finished step's line, after listr2 has drawn its last frame: nothing redraws it. */
  private writeResults(c: Current): void {
    const width = this.width();
    for (const result of c.results) {
      for (const line of result.split('\n')) {
        const indented = `    ${line}`;
        this.out.write((width ? wrapWords(indented, width) : [indented]).join('\n') + '\n');
      }
    }
  }

  /**
   * A question while a step's line is drawn: its frame is cleared, the renderer stops drawing and
   * lets go of the streams; afterwards it draws the step again below the answer.
   */
  async aside<T>(ask: () => Promise<T>): Promise<T> {
    const c = this.current;
    if (!c || this.paused) return ask();
    await c.started;
    const r = c.list && rendererOf(c.list);
    if (!r) return ask();
    this.paused = true;
    r.spinner.stop();
    r.updater.clear();
    r.logger.process.release();
    try {
      return await ask();
    } finally {
      r.logger.process.hijack();
      this.paused = false;
      r.spinner.start(() => r.update());
      r.update();
    }
  }

  /**
   * A line that must be on screen now, while a step's line is drawn (an interrupt's word): listr2
   * holds the process's streams while it renders and writes what they got only when it ends, which
   * an abandoning exit never reaches (attack-r4apply A1). Written between two frames, synchronously.
   */
  say(line: string): void {
    const c = this.current;
    const r = c?.task && c.list && !this.paused ? rendererOf(c.list) : undefined;
    const text = (this.width() ? wrapWords(line, this.width()!) : [line]).join('\n') + '\n';
    if (!r) {
      this.out.write(text);
      return;
    }
    r.spinner.stop();
    r.updater.clear();
    r.logger.process.release();
    try {
      this.out.write(text);
    } finally {
      r.logger.process.hijack();
      r.spinner.start(() => r.update());
      r.update();
    }
  }

  async emit(e: RunEvent): Promise<void> {
    switch (e.event) {
      case 'run-started':
        this.link = e.link;
        for (const line of [this.style.bold(`Run ${e.runId}: ${e.runbook} on link ${e.link}`), `Journal: ${e.journal}`, ...(e.lock ? [lockLine(e.lock)] : [])]) {
          this.out.write((this.width() ? wrapWords(line, this.width()!) : [line]).join('\n') + '\n');
        }
        return;
      case 'step-restored':
        await this.runOne(`${e.index}/${e.total} ${e.step}`, (task) => task.skip(`${e.index}/${e.total} ${e.step}: done before the resume; not run again`));
        return;
      case 'step-started': {
        if (this.current) return; // a retry: the same listr task keeps spinning
        const title = `${e.index}/${e.total} ${e.step} ${this.style.dim(`${e.type}, ${e.impact}${e.readAgain ? ', again after the resume' : ''}`)}`;
        let settle!: (error?: Error) => void;
        const result = new Promise<void>((resolve, reject) => {
          settle = (error) => (error ? reject(error) : resolve());
        });
        let started!: () => void;
        const current: Current = { title, settle, done: Promise.resolve(), results: [], started: new Promise((resolve) => (started = resolve)) };
        current.done = this.runOne(
          title,
          (task) => {
            current.task = task;
            started();
            return result;
          },
          (list) => (current.list = list),
        );
        this.current = current;
        return;
      }
      case 'step-output':
        if (this.current?.task && !this.paused) this.current.task.output = e.message;
        // Progress is only for while it runs (point 2 of issue 12 shapes it); what a step learnt stays.
        if (this.current && e.level !== 'progress') this.current.results.push(`${e.level === 'warn' ? this.style.yellow('warning: ') : ''}${e.message}`);
        return;
      case 'step-failed': {
        const c = this.current;
        if (!c) return;
        if (e.willRetry) {
          if (c.task) c.task.output = `attempt ${e.attempt} failed: ${e.error}; retrying`;
          return;
        }
        this.current = undefined;
        c.settle(new Error(e.error));
        await c.done;
        this.writeResults(c);
        return;
      }
      case 'step-finished': {
        const c = this.current;
        if (!c) return;
        this.current = undefined;
        if (c.task) c.task.title = `${c.title} ${this.style.dim(formatElapsed(e.durationMs))}`;
        c.settle();
        await c.done;
        this.writeResults(c);
        return;
      }
      case 'step-skipped':
        await this.runOne(`${e.index}/${e.total} ${e.step}`, (task) => task.skip(`${e.index}/${e.total} ${e.step} skipped: ${e.reason}`));
        return;
      case 'run-finished':
        this.out.write(renderSummary(e.summary, this.style, { ...(this.link !== undefined ? { link: this.link } : {}), ...(this.width() ? { width: this.width()! } : {}) }));
        return;
    }
  }
}
