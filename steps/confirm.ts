// confirm: a gate for what only a person can check (e.g. "the application is stopped"). It asks
// on the terminal, passes with --yes, and refuses (exit 3) when no one can be asked.
import { shown } from '../engine/step-api/args.js';
import { defineMessages, stepMessages } from '../engine/step-api/messages.js';
import type { StepDefinition } from '../engine/step-api/types.js';

export interface ConfirmArgs {
  message: string;
}

export const messages = defineMessages({
  noOperator: 'Confirmation needed but no one can be asked (no terminal): {{message}}; run interactively or pass --yes.',
  declined: 'The operator did not confirm: {{message}}.',
  assumed: 'Confirmed by --yes: {{message}}.',
});

const report = stepMessages(messages);

/** The runbook's message without its end mark, to sit inside our sentences. */
function clause(text: string): string {
  return text.trim().replace(/[.!]+$/, '');
}

const definition: StepDefinition<ConfirmArgs> = {
  type: 'confirm',
  description: 'Shows a message and waits for the operator to confirm; passes with --yes; refuses in a run with no terminal.',
  withSchema: {
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
  impact: 'read',
  target: 'none',
  // What the operator confirmed (the workload is stopped) may not hold after a crash: a resume asks again.
  resultHolds: 'moment',
  outputs: {
    confirmedBy: { description: 'How the gate was passed: operator or --yes.' },
  },

  plan(_ctx, args) {
    return {
      summary: `Ask the operator: ${shown(args.message)}`,
      guards: ['Operator confirms (or --yes)'],
    };
  },

  async run(ctx, args) {
    const message = clause(args.message);
    if (ctx.assumeYes) {
      ctx.log.info(report.text('assumed', { message }));
      return { confirmedBy: '--yes' };
    }
    if (!ctx.confirm) throw report.refuse('noOperator', { message });
    const yes = await ctx.confirm(/[.!?]$/.test(message) ? message : `${message}.`);
    ctx.signal.throwIfAborted();
    if (!yes) throw report.refuse('declined', { message });
    return { confirmedBy: 'operator' };
  },
};

export default definition;
