// Asking the operator on the terminal: the one question before a run's steps (the compact plan,
// then every confirmation the run needs, together, as Terraform asks once after its plan), and a
// gate's question during the run when it needs what the run learnt (a forced failover's loss
// report). Both the same way: the progress renderer paused while asking (`aside`), so the question
// stays on screen and typed keys echo where they are typed; only `yes` goes on, and any other answer
// is told why it is a no; Ctrl-C is the run's interrupt at once (`onInterrupt`), not a keypress
// readline swallows; Ctrl-D (end of input) is a no, as in Terraform, never a wait that holds the
// link lock. Without a TTY on standard input there is no one to ask: no questioner, and apply
// refuses instead (unless --yes).
import { createInterface } from 'node:readline';
import type { Confirm } from '../apply/types.js';
import type { ConfirmRun, RunQuestion } from '../apply/confirmation.js';
import { planTextParts } from './plan-text.js';
import { wrapWords } from './reporters/run-text.js';
import { escapeControls } from './visible.js';
import { plainStyle, type Style } from './style.js';

export interface QuestionerOptions {
  /** The run's interrupt: aborted, an open question ends unanswered. */
  signal?: AbortSignal;
  /**
   * Ctrl-C typed at the question (the terminal is in raw mode, so no SIGINT comes): interrupt the
   * run. The question has already said that it is not confirmed.
   */
  onInterrupt?: () => void;
  /** Runs `ask` with the terminal to itself (the listr2 renderer paused). */
  aside?: <T>(ask: () => Promise<T>) => Promise<T>;
  style?: Style;
}

export interface Questioner {
  /** A gate's question during the run. */
  confirm: Confirm;
  /** The one question before the steps run. */
  confirmRun: ConfirmRun;
}

export const PROMPT = 'Type "yes" to go on: ';
const RULE = 'Only "yes", exactly, goes on; any other answer, Ctrl-C or Ctrl-D stops the run here.';

/**
 * Whether the answer goes on: exactly `yes`, as the rule says (Terraform's "Only 'yes' will be
 * accepted"). `YES` or ` yes` could be made to mean yes too, but a rule with exceptions is one more
 * thing to know at 3 a.m.; being exact costs a retyped word, and each no says why.
 */
export function isYes(answer: string): boolean {
  return answer === 'yes';
}

/** Why an answer is a no, in one line (the answer shown escaped and cut short: it could be anything). */
export function whyNo(answer: string): string {
  const typed = answer.trim();
  if (typed === '') return 'Not confirmed: nothing was typed; only "yes" goes on.';
  if (typed.toLowerCase() === 'yes') return `Not confirmed: "${escapeControls(answer)}" is not exactly "yes"; type just the word, in lower case.`;
  const seen = escapeControls(typed.length > 20 ? `${typed.slice(0, 20)}...` : typed);
  if (/^y(e|es?)?$/i.test(typed) || /^(ok|oui|ja|si|sure|go)$/i.test(typed)) return `Not confirmed: "${seen}" is not "yes"; type the whole word to go on.`;
  return `Not confirmed: the answer was "${seen}", and only "yes" goes on.`;
}

/** The one question's text: the compact plan, then what the operator confirms by answering yes. */
export function runQuestionText(q: RunQuestion, style: Style = plainStyle, width?: number): string[] {
  const { body, closing } = planTextParts(q.plan, style, { ...(width ? { width } : {}), ...(q.done ? { done: q.done } : {}) });
  const lines = [...body, ...closing, ...(q.foresightNote ? [style.yellow(q.foresightNote)] : []), ''];
  const link = q.plan.inventory.link;
  lines.push(style.bold(`Before anything runs, answering yes confirms${q.confirmations.length + (q.changes.length ? 1 : 0) > 1 ? ' all of' : ''}:`));
  let n = 0;
  for (const c of q.confirmations) lines.push(`  ${++n}. ${escapeControls(c.question)} (step ${c.index}, ${c.step})`);
  if (q.changes.length) {
    const steps = q.changes.map((c) => `${c.index} ${c.step}${c.decided ? '' : ' (if its condition holds)'}`);
    lines.push(`  ${++n}. Change link ${link}: step${steps.length > 1 ? 's' : ''} ${steps.join(', ')}.`);
  }
  if (q.dataLoss.length) {
    const steps = q.changes.filter((c) => q.dataLoss.includes(c.step)).map((c) => `${c.index} ${c.step}`);
    lines.push(style.red(style.bold(`  ${++n}. Lose data: step${steps.length > 1 ? 's' : ''} ${steps.join(', ')} can lose transactions (acknowledged with --allow-data-loss ${link}).`)));
  }
  for (const later of q.askedLater) lines.push(`  Asked when the run gets there, since it needs what the run learns: step ${later.index} (${later.step}).`);
  lines.push(RULE);
  return width ? lines.flatMap((l) => wrapWords(l, width)) : lines;
}

/**
 * How long keys typed before a question are drained after the terminal goes raw: what was typed
 * is already in the terminal's buffer, read at the first poll; this only covers a slow loop.
 */
const TYPE_AHEAD_DRAIN_MS = 30;

/**
 * Reads and drops whatever was typed before the question was on screen (attack-r4apply A3: `yes`
 * typed while the probes ran answered a question the operator had not seen). Raw mode releases a
 * line not yet ended with Enter too, so nothing typed earlier reaches the question.
 */
async function discardTypeAhead(input: NodeJS.ReadStream): Promise<string> {
  let typed = '';
  const drop = (d: Buffer | string) => void (typed += d.toString());
  const wasRaw = input.isRaw;
  input.setRawMode?.(true);
  input.on('data', drop);
  input.resume();
  await new Promise((resolve) => setTimeout(resolve, TYPE_AHEAD_DRAIN_MS));
  input.off('data', drop);
  input.pause();
  input.setRawMode?.(wasRaw);
  return typed;
}

export function terminalQuestioner(input: NodeJS.ReadStream, output: NodeJS.WritableStream, opts: QuestionerOptions = {}): Questioner | undefined {
  if (!input.isTTY) return undefined;
  const style = opts.style ?? plainStyle;
  const width = () => (output as NodeJS.WriteStream).columns || undefined;
  const aside = opts.aside ?? (<T>(ask: () => Promise<T>) => ask());
  const wrapped = (line: string) => {
    const w = width();
    return w ? wrapWords(line, w) : [line];
  };
  const no = (why: string) => style.yellow(`Not confirmed (${why}).`);
  const ask = async (lines: string[]): Promise<boolean | { no: string }> => {
    if (opts.signal?.aborted) return false;
    const typed = await discardTypeAhead(input);
    // A Ctrl-C among them came while the terminal was raw: the interrupt it means, not a key to drop.
    if (typed.includes('\u0003')) {
      output.write(no('Ctrl-C') + '\n');
      opts.onInterrupt?.();
      return false;
    }
    if (opts.signal?.aborted) return false;
    const ignored = typed.replace(/[\r\n\u0004]+/g, ' ').trim();
    if (ignored) lines = [...lines, ...wrapped(style.yellow(`Ignored what was typed before this question ("${escapeControls(ignored.length > 20 ? `${ignored.slice(0, 20)}...` : ignored)}"): answer it now.`))];
    return new Promise<boolean | { no: string }>((resolve) => {
      output.write(lines.join('\n') + '\n');
      const rl = createInterface({ input, output, terminal: true });
      let done = false;
      const end = (yes: boolean | { no: string }, line?: string) => {
        if (done) return;
        done = true;
        opts.signal?.removeEventListener('abort', onAbort);
        rl.close();
        if (line !== undefined) output.write(line + '\n');
        resolve(yes);
      };
      const onAbort = () => end(false, '');
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      // Raw mode turns Ctrl-C into a keypress: it is the run's interrupt, at once.
      rl.on('SIGINT', () => {
        output.write('^C\n');
        end(false, no('Ctrl-C'));
        opts.onInterrupt?.();
      });
      // Ctrl-D on an empty line (or standard input ending) closes the reader: a no, not a wait.
      rl.on('close', () => end({ no: 'end of input' }, `\n${no('end of input')}`));
      rl.question(PROMPT, (answer) => {
        if (isYes(answer)) return end(true);
        end(false, wrapped(whyNo(answer)).map((l) => style.yellow(l)).join('\n'));
      });
    });
  };
  return {
    confirm: async (question) => (await aside(() => ask(wrapped(style.bold('The run needs your confirmation before it goes on:')).concat(wrapped(`  ${question}`), wrapped(RULE))))) === true,
    confirmRun: (q, foreseer) =>
      aside(async () => {
        let question = q;
        if (foreseer) {
          // The probes may take up to their deadline: the screen says what it waits for.
          output.write(style.dim(`Checking the link with read-only probes before asking (up to ${Math.round(foreseer.deadlineMs / 100) / 10} s)...`) + '\n');
          const seen = await foreseer.look();
          question = seen.kind === 'predicted' ? { ...q, plan: { ...q.plan, predicted: seen.path } } : { ...q, foresightNote: seen.line };
        }
        return ask(runQuestionText(question, style, width()));
      }),
  };
}

/** A single question on the terminal (a fleet wave's confirmation), asked the same way; undefined without a TTY. */
export function ttyConfirm(input: NodeJS.ReadStream, output: NodeJS.WritableStream, signal?: AbortSignal): Confirm | undefined {
  return terminalQuestioner(input, output, signal ? { signal } : {})?.confirm;
}
