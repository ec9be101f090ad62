// confirm: a gate for what only a person can check (e.g. "the application is stopped"). It asks
// on the terminal, passes with --yes, and refuses (exit 3) when no one can be asked. A message known
// before the run is asked in apply's one question before anything runs (question()); the step then
// finds it answered at its place and records when. A message built from run-time values (a
// forced failover's loss report) is asked when the step runs. A resume that asks again keeps the
// first confirmation's time as `confirmedAt`: the application had to stay stopped from then (the
// downtime a runbook reports runs across the stop and the resume; attack r4wave D).
import { defineStep, shown } from '../engine/step-api/index.js';

export interface ConfirmArgs {
  message: string;
}

/** The runbook's message without its end mark, to sit inside our sentences. */
function clause(text: string): string {
  return text.trim().replace(/[.!]+$/, '');
}

/** The message as the operator is asked it: one sentence with its end mark. */
function questionOf(message: string): string {
  const text = clause(message);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

export default defineStep({
  type: 'confirm',
  description: 'Shows a message and waits for the operator to confirm; passes with --yes; refuses in a run with no terminal.',
  with: {
    type: 'object',
    additionalProperties: false,
    required: ['message'],
    properties: {
      message: {
        type: 'string',
        minLength: 1,
        description: 'What the operator must check or do before the run goes on.',
      },
    },
  },
  messages: {
    noOperator: 'Confirmation needed but no one can be asked (no terminal): {{message}}; run interactively or pass --yes.',
    declined: 'The operator did not confirm: {{message}}.',
    assumed: 'Confirmed by --yes: {{message}}.',
    answeredBefore: 'Confirmed by the operator before the run began: {{message}}.',
    again: 'Confirmed again after the resume ({{how}}); first confirmed at {{first}}, before the run stopped: confirmedAt keeps that time, so what is measured from it (the downtime) counts from then.',
  },
  impact: 'read',
  target: 'none',
  // What the operator confirmed (the workload is stopped) may not hold after a crash: a resume asks again.
  resultHolds: 'moment',
  outputs: {
    confirmedBy: { description: 'How the gate was passed: operator or --yes.' },
    confirmedAt: {
      description: "When it was passed (ISO, this machine's clock): e.g. when the application had to be stopped from. A resume that asks again keeps the first time.",
    },
  },

  question(args: ConfirmArgs) {
    return questionOf(args.message);
  },

  plan(_ctx, args: ConfirmArgs) {
    return {
      summary: `Ask the operator: ${shown(args.message)}`,
      guards: ['Operator confirms (or --yes)'],
    };
  },

  async run(ctx, args: ConfirmArgs) {
    const message = clause(args.message);
    // The gate itself: --yes, an answer given before the run, or the operator asked now.
    const pass = async (): Promise<{ confirmedBy: string; confirmedAt: string }> => {
      if (ctx.assumeYes) {
        ctx.log.info(ctx.text('assumed', { message }));
        return { confirmedBy: '--yes', confirmedAt: new Date().toISOString() };
      }
      const question = questionOf(args.message);
      const answeredAt = ctx.answeredBefore?.(question);
      if (answeredAt !== undefined) {
        ctx.log.info(ctx.text('answeredBefore', { message }));
        return { confirmedBy: 'operator', confirmedAt: answeredAt };
      }
      if (!ctx.confirm) throw ctx.refuse('noOperator', { message });
      const yes = await ctx.confirm(question);
      ctx.signal.throwIfAborted();
      if (!yes) throw ctx.refuse('declined', { message });
      return { confirmedBy: 'operator', confirmedAt: new Date().toISOString() };
    };
    const passed = await pass();
    const first = firstConfirmation(ctx.before, passed.confirmedAt);
    if (first === undefined) return passed;
    ctx.log.info(ctx.text('again', { how: passed.confirmedBy === '--yes' ? 'by --yes' : 'by the operator', first }));
    return { ...passed, confirmedAt: first };
  },
});

/**
 * The time this gate was first passed in this run, when a resume asks it again: only a time the
 * journal kept that is before now (a hand-edited journal cannot move the downtime's start ahead).
 */
function firstConfirmation(before: Record<string, unknown> | undefined, now: string): string | undefined {
  const first = before?.confirmedAt;
  if (typeof first !== 'string') return undefined;
  const at = Date.parse(first);
  return Number.isFinite(at) && at < Date.parse(now) && new Date(at).toISOString() === first ? first : undefined;
}
