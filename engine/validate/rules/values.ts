// Rules about plain values: durations that parse, and input defaults that fit their own type.
import { parseDuration } from '../../core/duration.js';
import { isTemplate } from '../../template/render.js';
import { LINE_BREAK } from '../../core/sql-literal.js';
import type { JsonSchema } from '../../core/types.js';
import { report, type RuleContext } from './context.js';
import { isRecord } from '../../core/record.js';

function checkDuration(ctx: RuleContext, pointer: string, value: unknown): void {
  if (typeof value !== 'string' || isTemplate(value)) return;
  try {
    parseDuration(value);
  } catch (e) {
    report(ctx, 'bad-duration', `Bad duration: ${(e as Error).message}.`, pointer);
  }
}

/** `with:` properties whose schema says `format: duration`, at any depth of plain objects. */
function withDurations(ctx: RuleContext, schema: JsonSchema, value: unknown, pointer: string): void {
  if (!isRecord(value) || !isRecord(schema.properties)) return;
  for (const [key, sub] of Object.entries(schema.properties)) {
    if (!isRecord(sub) || !(key in value)) continue;
    const p = `${pointer}/${key}`;
    if (sub.format === 'duration') checkDuration(ctx, p, value[key]);
    else if (sub.type === 'object') withDurations(ctx, sub as JsonSchema, value[key], p);
  }
}

export function durations(ctx: RuleContext): void {
  for (const step of ctx.steps) {
    checkDuration(ctx, `${step.pointer}/timeout`, step.value.timeout);
    if (isRecord(step.value.retry)) checkDuration(ctx, `${step.pointer}/retry/delay`, step.value.retry.delay);
    const def = step.type === undefined ? undefined : ctx.definitions.get(step.type);
    if (def) withDurations(ctx, def.with, step.value.with, `${step.pointer}/with`);
  }
}

export function fitsInputType(type: unknown, v: unknown): boolean {
  switch (type) {
    case 'string': return typeof v === 'string';
    case 'boolean': return typeof v === 'boolean';
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    default: return true;
  }
}

export function inputDefaults(ctx: RuleContext): void {
  for (const [name, spec] of Object.entries(ctx.inputs)) {
    const pointer = `/inputs/${name}`;
    if (Array.isArray(spec.enum)) {
      spec.enum.forEach((v, i) => {
        if (!fitsInputType(spec.type, v)) report(ctx, 'bad-input-default', `Enum value \`${String(v)}\` of input \`${name}\` is not ${String(spec.type)}.`, `${pointer}/enum/${i}`);
      });
    }
    if (spec.default === undefined) continue;
    if (!fitsInputType(spec.type, spec.default)) {
      report(ctx, 'bad-input-default', `Default of input \`${name}\` must be ${String(spec.type)}, not \`${String(spec.default)}\`.`, `${pointer}/default`);
    } else if (Array.isArray(spec.enum) && !spec.enum.includes(spec.default)) {
      report(ctx, 'bad-input-default', `Default \`${String(spec.default)}\` of input \`${name}\` is not one of: ${spec.enum.join(', ')}.`, `${pointer}/default`);
    } else if (typeof spec.default === 'string' && spec.multiline !== true && LINE_BREAK.test(spec.default)) {
      report(ctx, 'bad-input-default', `Default of input \`${name}\` holds a line break; the input is one line (declare \`multiline: true\` for text that may).`, `${pointer}/default`);
    }
  }
}
