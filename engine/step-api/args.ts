// Reading a step's `with:` values in plan() (where some are still unknown) and run().
import { formatDuration, parseDuration } from '../core/duration.js';
import type { Unknown } from './types.js';

export const KNOWN_AFTER_APPLY = '(known after apply)';

/** A value the plan cannot know yet: `{ unknown: true, from: '<what it waits for>' }`. */
export function isUnknown(value: unknown): value is Unknown {
  return typeof value === 'object' && value !== null && (value as { unknown?: unknown }).unknown === true && typeof (value as { from?: unknown }).from === 'string';
}

/** A value as text for a plan line: unknowns print as `(known after apply)`. */
export function shown(value: unknown): string {
  if (isUnknown(value)) return KNOWN_AFTER_APPLY;
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** A duration argument in ms; `fallback` is the text used when the runbook leaves it out. */
export function durationMs(value: unknown, fallback: string, name: string): number {
  const text = value === undefined ? fallback : value;
  if (typeof text !== 'string') throw new TypeError(`with.${name} must be a duration such as "30s".`);
  try {
    return parseDuration(text);
  } catch (error) {
    throw new TypeError(`with.${name}: ${(error as Error).message}.`);
  }
}

/** A duration for a plan line: the text as given (normalised when known), or the unknown marker. */
export function durationText(value: unknown, fallback: string): string {
  if (isUnknown(value)) return KNOWN_AFTER_APPLY;
  const text = value === undefined ? fallback : value;
  try {
    return formatDuration(parseDuration(String(text)));
  } catch {
    return String(text);
  }
}

// Steps have always found `sleep` here; it is the engine's one pause (engine/core/sleep.ts).
export { sleep } from '../core/sleep.js';
