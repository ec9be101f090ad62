// Step messages are declared once per step type as templates with {{placeholders}} and reported
// by id with data, so tests assert the id and the data rather than prose, and a style test can
// check every template (capital first letter, full stop at the end).
import { StepRefusal } from '../core/errors.js';

export type MessageData = Record<string, string | number | bigint | boolean>;

/** Declares a step's messages; the identity function keeps the ids as literal types. */
export function defineMessages<const M extends Record<string, string>>(messages: M): M {
  return messages;
}

/** Fills `{{name}}` placeholders; a placeholder without data is a programming error. */
export function formatMessage(template: string, data: MessageData = {}): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => {
    if (!(name in data)) throw new Error(`Message placeholder {{${name}}} has no data in "${template}".`);
    return String(data[name]);
  });
}

/** Placeholder names a template uses, for the style test. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]);
}

/** A step failed (not a guard refusal): exit 1 before any change, 4 after one. */
export class StepFailure extends Error {
  constructor(
    readonly messageId: string,
    readonly data: MessageData,
    message: string,
    /** Extra lines shown under the message (e.g. the SQL around an error line). */
    readonly detail?: string,
  ) {
    super(detail ? `${message}\n${detail}` : message);
    this.name = 'StepFailure';
  }
}

/** A guard said no (exit 3), with the message id and data that produced the text. */
export class GuardRefusal extends StepRefusal {
  constructor(
    readonly messageId: string,
    readonly data: MessageData,
    message: string,
  ) {
    super(message);
  }
}

/** Builds `fail(id, data)` and `refuse(id, data)` over one step's messages. */
export function reporter<M extends Record<string, string>>(messages: M) {
  return {
    text: (id: keyof M & string, data: MessageData = {}) => formatMessage(messages[id], data),
    fail: (id: keyof M & string, data: MessageData = {}, detail?: string) =>
      new StepFailure(id, data, formatMessage(messages[id], data), detail),
    refuse: (id: keyof M & string, data: MessageData = {}) =>
      new GuardRefusal(id, data, formatMessage(messages[id], data)),
  };
}
