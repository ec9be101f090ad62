// The run's redactor: every secret value the process learns (passwords from the environment or
// standard input, the ARM token, inputs declared `secret`) is registered where it is read, and
// every sink (stdout, stderr, the journal, plan files) passes its text through redact().
//
// Masking is by exact value, never by pattern. Values shorter than MIN_MASKED_LENGTH are not
// masked as substrings: masking `test` or `sa` everywhere makes output unreadable and reveals
// nothing useful anyway (and the fields that hold secrets never print them, whatever their length).
import { LINE_BREAK, unicodeStringLiteral } from './sql-literal.js';

export const MASK = '***';
export const MIN_MASKED_LENGTH = 6;

/** Registered values and the forms they take in our sinks, longest first. */
let forms: string[] = [];
const registered = new Set<string>();

/** The ways a secret appears once it has passed through JSON or a T-SQL string literal. */
function formsOf(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const sql = value.replace(/'/g, "''");
  const jsonOfSql = JSON.stringify(sql).slice(1, -1);
  // With line breaks, `str` splits the literal into parts: the whole expression is the form.
  const literal = LINE_BREAK.test(value) ? [unicodeStringLiteral(value), JSON.stringify(unicodeStringLiteral(value)).slice(1, -1)] : [];
  return [...new Set([value, json, sql, jsonOfSql, ...literal])];
}

/** Remembers a secret; returns false when it is too short to be masked inside other text. */
export function registerSecret(value: unknown): boolean {
  if (typeof value !== 'string' || value.length < MIN_MASKED_LENGTH) return false;
  if (registered.has(value)) return true;
  registered.add(value);
  forms = [...new Set([...forms, ...formsOf(value)])].sort((a, b) => b.length - a.length);
  return true;
}

/** Tests only: forget every registered value. */
export function forgetSecrets(): void {
  registered.clear();
  forms = [];
}

export function redact(text: string): string {
  let out = text;
  for (const f of forms) if (out.includes(f)) out = out.split(f).join(MASK);
  return out;
}

/** A deep copy with every string redacted (object keys included). */
export function redactDeep<T>(value: T): T {
  if (forms.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [redact(k), walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

function redactChunk(chunk: unknown, encoding?: unknown): unknown {
  if (forms.length === 0) return chunk;
  if (typeof chunk === 'string') return redact(chunk);
  if (chunk instanceof Uint8Array) {
    const text = Buffer.from(chunk).toString(typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    const clean = redact(text);
    return clean === text ? chunk : clean;
  }
  return chunk;
}

/**
 * The same stream, with write() and end() redacting what they are given. Everything else (isTTY,
 * columns, events) is the real stream's, so listr2 and the prompt behave as before.
 */
export function redactingStream<S extends NodeJS.WritableStream>(stream: S): S {
  return new Proxy(stream, {
    get(target, prop) {
      if (prop === 'write') {
        return (chunk: unknown, ...rest: unknown[]) => (target.write as (...a: unknown[]) => boolean)(redactChunk(chunk, rest[0]), ...rest);
      }
      // end(callback) and end() pass through redactChunk unchanged: it only rewrites text and bytes.
      if (prop === 'end') {
        return (chunk?: unknown, ...rest: unknown[]) => (target.end as (...a: unknown[]) => unknown)(redactChunk(chunk, rest[0]), ...rest);
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
