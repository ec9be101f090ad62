// Step messages are declared once per step type, in its definition, as templates with
// {{placeholders}}, and reported by id with data: tests assert the id and the data rather than
// prose, and the step tester checks every template (capital first letter, full stop at the end).
import { GuardRefusal, OutcomeUnknown, StepFailure, type MessageData, type StepFailureOptions } from '../core/errors.js';

export type { MessageData } from '../core/errors.js';

/** A step type's messages: id -> template. */
export type Messages = Record<string, string>;

/**
 * Declares a set of messages outside a definition (one shared by several step types, such as the
 * ARM steps' failures); the identity function keeps the ids as literal types. A step's own
 * messages go straight into its defineStep literal.
 */
export function defineMessages<const M extends Messages>(messages: M): M {
  return messages;
}

const PLACEHOLDER = /\{\{\s*(\w+)\s*\}\}/g;

/** Fills `{{name}}` placeholders; a placeholder without data is a programming error. */
export function formatMessage(template: string, data: MessageData = {}): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    if (!(name in data)) throw new Error(`Message placeholder {{${name}}} has no data in "${template}".`);
    return String(data[name]);
  });
}

/** Placeholder names a template uses, for the step tester. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/**
 * How a step reports, by the ids of its declared messages: defineStep puts these on every context
 * it hands the step. A misspelled id does not compile. Helpers outside the definition take the
 * ids they need, e.g. `report: StepMessages<'apart' | 'noSample'>`, and are passed the context.
 */
export interface StepMessages<Id extends string> {
  /** The message's text with its placeholders filled, e.g. for a progress line. */
  text: (id: Id, data?: MessageData) => string;
  /** A StepFailure to throw: exit 1 (4 after a change). `notApplied: true` when the server refused the request itself. */
  fail: (id: Id, data?: MessageData, options?: StepFailureOptions) => StepFailure;
  /** A GuardRefusal to throw: a guard said no (exit 3). */
  refuse: (id: Id, data?: MessageData) => GuardRefusal;
  /** An OutcomeUnknown to throw: the step acted and cannot tell whether it took effect (exit 5). */
  outcomeUnknown: (id: Id, data?: MessageData) => OutcomeUnknown;
}

/** The reporting helpers over one set of messages. */
export function stepMessages<M extends Messages>(messages: M): StepMessages<keyof M & string> {
  const text = (id: keyof M & string, data: MessageData = {}) => {
    const template = messages[id];
    if (typeof template !== 'string') throw new Error(`No message with id \`${id}\` is declared.`);
    return formatMessage(template, data);
  };
  return {
    text,
    fail: (id, data = {}, options = {}) => new StepFailure(id, data, text(id, data), options),
    refuse: (id, data = {}) => new GuardRefusal(id, data, text(id, data)),
    outcomeUnknown: (id, data = {}) => new OutcomeUnknown(text(id, data), { messageId: id, data }),
  };
}
