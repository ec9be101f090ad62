// Turns ajv errors into diagnostics a person can act on: unknown keys (with "did you mean"), wrong
// types, missing keys, values outside an enum. One diagnostic per problem, at the key or value.
import { closest, diag, didYouMean, type Diagnostic } from '../core/diagnostics.js';
import { isTemplate } from '../template/render.js';
import type { JsonSchema } from '../core/types.js';
import type { SchemaError } from './schemas.js';
import type { Pos } from '../load/positions.js';

export interface SchemaDiagnosticOptions {
  file: string;
  schema: JsonSchema;
  /** The validated value (to look up offending values). */
  data: unknown;
  /** Pointer of `data` inside the document, e.g. `/steps/2/with`. */
  base: string;
  locate(pointer: string, which?: 'value' | 'key'): Pos;
  /** Appended to messages, e.g. ` (step type \`sqlExec\`)`. */
  suffix?: string;
  /** Values that are templates are checked after rendering, at plan time. */
  skipTemplates?: boolean;
  /** Drop an error before it becomes a diagnostic (e.g. a key another rule reports better). */
  ignore?(e: SchemaError): boolean;
}

const VALUE_KEYWORDS = new Set(['type', 'enum', 'const', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'multipleOf']);

export function schemaDiagnostics(errors: readonly SchemaError[] | null | undefined, o: SchemaDiagnosticOptions): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  const suffix = o.suffix ?? '';
  // A misspelt key is one problem, not two: drop "missing `message`" when `mesage` is right there.
  const typoed = new Set<string>();
  for (const e of errors ?? []) {
    if (e.keyword !== 'additionalProperties') continue;
    const guess = closest(String(e.params.additionalProperty), Object.keys(propertiesAt(o.schema, e.schemaPath)));
    if (guess !== undefined) typoed.add(`${e.instancePath}|${guess}`);
  }
  for (const e of errors ?? []) {
    if (e.keyword === 'required' && typoed.has(`${e.instancePath}|${String(e.params.missingProperty)}`)) continue;
    if (o.ignore?.(e)) continue;
    if ((e as { propertyName?: string }).propertyName !== undefined) continue; // reported by its propertyNames error
    const value = valueAt(o.data, e.instancePath);
    if (o.skipTemplates && VALUE_KEYWORDS.has(e.keyword) && typeof value === 'string' && isTemplate(value)) continue;
    const pointer = o.base + e.instancePath;
    const name = subjectName(pointer);
    const container = containerName(pointer, valueAt(o.data, e.instancePath));
    let d: Diagnostic;
    const at = (p: string, which: 'value' | 'key' = 'value') => ({ file: o.file, ...o.locate(p, which), path: p });
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = String(e.params.additionalProperty);
        const allowed = Object.keys(propertiesAt(o.schema, e.schemaPath));
        const p = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        const list = allowed.length > 0 && allowed.length <= 12 ? ` Allowed keys: ${allowed.join(', ')}.` : '';
        d = diag('unknown-key', `Unknown key \`${key}\`${container}${suffix}.${didYouMean(key, allowed)}${list}`, at(p, 'key'));
        break;
      }
      case 'required':
        d = diag('missing-required', `Missing required key \`${String(e.params.missingProperty)}\`${container}${suffix}.`, at(pointer, 'key'));
        break;
      case 'type':
        d = diag('wrong-type', `\`${name}\` must be ${article(String(e.params.type))}, not ${describe(value)}${suffix}.`, at(pointer));
        break;
      case 'enum': {
        const allowed = (e.params.allowedValues as unknown[]).map(String);
        d = diag('bad-enum', `\`${name}\` must be one of: ${allowed.join(', ')} (got \`${String(value)}\`)${suffix}.${typeof value === 'string' ? didYouMean(value, allowed) : ''}`, at(pointer));
        break;
      }
      case 'propertyNames': {
        const key = String(e.params.propertyName);
        d = diag('bad-value', `Name \`${key}\` in \`${name}\` must start with a letter and use only letters, digits and \`_\`${suffix}.`, at(`${pointer}/${key}`, 'key'));
        break;
      }
      case 'pattern':
        if (/(Env|password|token|secret)$/i.test(name)) {
          // Someone may have pasted the secret itself here: never echo it.
          d = diag('bad-value', `\`${name}\` must be the name of an environment variable (letters, digits, \`_\`), not a secret itself${suffix}.`, at(pointer));
          break;
        }
        d = diag('bad-value', `\`${name}\` value \`${String(value)}\` does not match ${String(e.params.pattern)}${suffix}.`, at(pointer));
        break;
      default:
        d = diag('bad-value', `\`${name || '(document)'}\` ${e.message ?? 'is invalid'}${suffix}.`, at(pointer));
    }
    const key = `${d.code}|${d.path}|${d.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(d);
    }
  }
  return out;
}

/**
 * ` in <where>` for messages about keys of a mapping: its key name, or for a list item (`/steps/1`)
 * the step's id when it has one (`step \`two\``), else `steps[1]`; '' at the document root.
 */
function containerName(pointer: string, value: unknown): string {
  const name = lastSegment(pointer);
  if (!name) return '';
  if (!/^\d+$/.test(name)) return ` in \`${name}\``;
  const id = value !== null && typeof value === 'object' ? (value as { id?: unknown }).id : undefined;
  const list = lastSegment(pointer.slice(0, pointer.lastIndexOf('/')));
  if (list === 'steps' && typeof id === 'string' && id !== '') return ` in step \`${id}\``;
  return ` in \`${subjectName(pointer)}\``;
}

/** The last segment of a pointer, with a list index shown as `list[i]` (`/steps/1` -> `steps[1]`). */
function subjectName(pointer: string): string {
  const name = lastSegment(pointer);
  if (!/^\d+$/.test(name)) return name;
  const list = lastSegment(pointer.slice(0, pointer.lastIndexOf('/')));
  return list ? `${list}[${name}]` : name;
}

function unescape(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function lastSegment(pointer: string): string {
  const i = pointer.lastIndexOf('/');
  return i === -1 ? '' : unescape(pointer.slice(i + 1));
}

export function valueAt(data: unknown, pointer: string): unknown {
  if (pointer === '') return data;
  let v = data;
  for (const seg of pointer.slice(1).split('/').map(unescape)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

/** The `properties` of the schema object that owns the failing keyword. */
function propertiesAt(schema: JsonSchema, schemaPath: string): Record<string, unknown> {
  const parts = schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean).map(unescape);
  parts.pop();
  const owner = valueAt(schema, parts.length ? `/${parts.join('/')}` : '') as JsonSchema | undefined;
  return (owner?.properties as Record<string, unknown> | undefined) ?? {};
}

function article(type: string): string {
  const t = type.split(',').join(' or ');
  return /^(a|e|i|o|u)/.test(t) ? `an ${t}` : `a ${t}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the text \`${v.length > 30 ? `${v.slice(0, 30)}…` : v}\``;
  return `${typeof v === 'number' ? 'the number' : 'the value'} \`${String(v)}\``;
}
