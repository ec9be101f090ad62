// assert: a read-only gate over values the run already has (inputs, outputs of earlier steps).
// When its condition renders to false it refuses (exit 3) with the runbook's own message, so a
// runbook can stop before changing anything for a reason only it knows (a version too old for
// T-SQL failover, a replica in the wrong state).
import { defineStep, GuardRefusal, isUnknown, sentence, shown } from '../engine/step-api/index.js';

export interface AssertArgs {
  that: string | boolean;
  message: string;
  needs?: string;
}

/** A template renders to text; `true`/`false` (any case, trimmed) and real booleans are accepted. */
export function conditionValue(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  const t = value.trim().toLowerCase();
  return t === 'true' ? true : t === 'false' ? false : undefined;
}

/** The runbook's message as a sentence: capital letter first, full stop at the end. */
function capitalSentence(text: string): string {
  const t = text.trim();
  return sentence(t.charAt(0).toUpperCase() + t.slice(1));
}

export default defineStep({
  type: 'assert',
  description:
    'Refuses to go on (exit 3) with the given message unless a condition over inputs and earlier outputs holds. Changes nothing.',
  with: {
    type: 'object',
    additionalProperties: false,
    required: ['that', 'message'],
    properties: {
      that: {
        type: ['string', 'boolean'],
        description:
          "The condition: a template that renders to true or false, e.g. \"{{versionAtLeast steps.version.outputs.first.version '16.0.4125'}}\".",
      },
      message: {
        type: 'string',
        minLength: 1,
        description: 'Why the run stops when the condition is false, and what to do instead; shown in the plan and in the refusal.',
      },
      needs: {
        type: 'string',
        minLength: 1,
        description:
          "What the condition asks for, as a noun phrase, e.g. \"SQL Server 2022 CU13 (16.0.4125) or later\"; the plan shows it as the step's guard (\"Needs ...\") and summary.",
      },
    },
  },
  messages: {
    notBoolean: 'The condition of this check rendered to {{value}}, not true or false; fix the template in with.that.',
  },
  impact: 'read',
  target: 'none',
  // It judges outputs of earlier steps, which a resume may read again: it is judged again too.
  resultHolds: 'moment',
  outputs: {
    passed: { description: 'Always true: a failed check stops the run.' },
  },

  plan(_ctx, args: AssertArgs) {
    const holds = isUnknown(args.that) ? 'the condition (known after apply)' : `the condition (${shown(args.that)})`;
    const guard = args.needs !== undefined ? `Needs ${shown(args.needs)}` : `Goes on only if the condition holds; otherwise it stops with: ${shown(args.message)}`;
    // Everything it judges is known now (inputs only): whether it refuses is decided already.
    const decided = isUnknown(args.that) ? undefined : conditionValue(args.that);
    return {
      summary: args.needs !== undefined ? `Check for ${shown(args.needs)}; refuse otherwise` : `Check ${holds}; refuse otherwise`,
      guards: [guard],
      ...(decided === false ? { refusal: capitalSentence(shown(args.message)) } : {}),
    };
  },

  async run(ctx, args: AssertArgs) {
    const value = conditionValue(args.that);
    if (value === undefined) throw ctx.fail('notBoolean', { value: JSON.stringify(args.that) });
    // The refusal is the runbook author's own sentence, not one of this step's templates.
    if (!value) throw new GuardRefusal('refused', { message: args.message }, capitalSentence(args.message));
    return { passed: true };
  },

  // plan --probe: with every value known now (e.g. a version the probe read), the check is decided here.
  probe(ctx, args) {
    return this.run(ctx, args);
  },
});
