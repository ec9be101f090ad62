// Durations that only exist once inputs are rendered (`stableFor: "{{inputs.stableFor}}"` with
// `--set stableFor=99999h`): validation cannot see them, so the plan checks each rendered
// `format: duration` value of a step's `with:` and refuses the plan (exit 2) before anything runs.
import { parseDuration } from '../core/duration.js';
import { isUnknown } from '../step-api/args.js';
import type { JsonSchema } from '../core/types.js';
import { isRecord } from '../core/record.js';

/** The first rendered duration that does not parse, as a message; undefined when all are fine. */
export function badRenderedDuration(schema: JsonSchema, raw: unknown, rendered: unknown, path = 'with'): string | undefined {
  if (!isRecord(rendered) || !isRecord(schema.properties)) return undefined;
  for (const [key, sub] of Object.entries(schema.properties)) {
    if (!isRecord(sub) || !(key in rendered)) continue;
    const value = rendered[key];
    const source = isRecord(raw) ? raw[key] : undefined;
    if (sub.format === 'duration' && typeof value === 'string' && !isUnknown(value)) {
      try {
        parseDuration(value);
      } catch (e) {
        const from = typeof source === 'string' && source !== value ? ` (from ${source})` : '';
        return `${path}.${key} is "${value.length > 40 ? `${value.slice(0, 40)}...` : value}"${from}: ${(e as Error).message}`;
      }
    } else if (sub.type === 'object') {
      const inner = badRenderedDuration(sub as JsonSchema, source, value, `${path}.${key}`);
      if (inner) return inner;
    }
  }
  return undefined;
}
