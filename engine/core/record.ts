// The one test for "a JSON object" used wherever the engine reads untrusted data (a step
// definition, a plan file, a journal line, a runbook's YAML): a non-null object, not an array.

/** True for a plain JSON-style object: not null, not an array. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
