// Template helpers: T-SQL quoting (`ident`, `str`) and the small logic `when:` needs. Plain
// functions of plain values, called only by engine/template/evaluate.ts (never by Handlebars), each
// with the number of arguments it takes, which validate checks (engine/template/language.ts).
import { LINE_BREAK, unicodeStringLiteral } from '../core/sql-literal.js';

/** The longest T-SQL identifier (sysname). */
export const MAX_IDENTIFIER = 128;

function scalarText(helper: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  throw new Error(`${helper} needs a string, got ${v === null ? 'null' : typeof v}`);
}

/** `[name]` with `]` doubled: safe for any T-SQL identifier. */
export function quoteIdent(v: unknown): string {
  const s = scalarText('ident', v);
  if (s === '') throw new Error('ident of an empty string: an identifier cannot be empty');
  if ([...s].length > MAX_IDENTIFIER) throw new Error(`ident: identifier longer than ${MAX_IDENTIFIER} characters`);
  if (s.includes('\0')) throw new Error('ident: identifier contains a NUL character');
  if (LINE_BREAK.test(s)) throw new Error('ident: identifier contains a line break');
  return `[${s.replace(/]/g, ']]')}]`;
}

/** A Unicode T-SQL string literal (engine/core/sql-literal.ts: line breaks kept off the script's lines). */
export function quoteString(v: unknown): string {
  const s = scalarText('str', v);
  if (s.includes('\0')) throw new Error('str: text contains a NUL character');
  return unicodeStringLiteral(s);
}

/** Truth as #if, #unless, and, or and not all see it: false, 0, "", null and an empty list are false. */
export function isTrue(v: unknown): boolean {
  return Boolean(v) && !(Array.isArray(v) && v.length === 0);
}

export interface Helper {
  /** How many arguments it takes: at least `min`, at most `max`. */
  min: number;
  max: number;
  fn: (...args: unknown[]) => unknown;
}

const exactly = (n: number, fn: (...args: unknown[]) => unknown): Helper => ({ min: n, max: n, fn });

export const HELPERS: Readonly<Record<string, Helper>> = {
  ident: exactly(1, (v) => quoteIdent(v)),
  str: exactly(1, (v) => quoteString(v)),
  eq: exactly(2, (a, b) => a === b),
  ne: exactly(2, (a, b) => a !== b),
  and: { min: 2, max: Infinity, fn: (...args) => args.every(isTrue) },
  or: { min: 2, max: Infinity, fn: (...args) => args.some(isTrue) },
  not: exactly(1, (v) => !isTrue(v)),
  default: exactly(2, (v, fallback) => (v === undefined || v === null || v === '' ? fallback : v)),
  gt: exactly(2, (a, b) => compareNumbers('gt', a, b) > 0),
  gte: exactly(2, (a, b) => compareNumbers('gte', a, b) >= 0),
  lt: exactly(2, (a, b) => compareNumbers('lt', a, b) < 0),
  lte: exactly(2, (a, b) => compareNumbers('lte', a, b) <= 0),
  versionAtLeast: exactly(2, (v, min) => compareVersions(v, min) >= 0),
  otherSide: exactly(1, (v) => otherSideOf(v)),
};

/** Numbers compare as numbers; numeric text (LSNs, counts read as text) compares exactly as BigInt. */
function compareNumbers(helper: string, a: unknown, b: unknown): number {
  const asNumber = (v: unknown): number | bigint => {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'bigint') return v;
    if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return BigInt(v.trim());
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
    throw new Error(`${helper} compares numbers, got ${v === null ? 'null' : JSON.stringify(v)}`);
  };
  const x = asNumber(a);
  const y = asNumber(b);
  // < and > compare a BigInt with a number by their exact values; converting the BigInt to a
  // number first would round an LSN beyond 2^53 to its neighbours.
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Dotted versions (SERVERPROPERTY('ProductVersion'), e.g. 16.0.4125.3) compared part by part; missing parts are 0. */
export function compareVersions(a: unknown, b: unknown): number {
  const parts = (v: unknown): number[] => {
    const text = scalarText('versionAtLeast', v).trim();
    if (!/^\d+(\.\d+)*$/.test(text)) throw new Error(`versionAtLeast: ${JSON.stringify(text)} is not a version such as 16.0.4125`);
    return text.split('.').map(Number);
  };
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** The other side of the link: sqlServer <-> managedInstance. */
function otherSideOf(v: unknown): string {
  if (v === 'sqlServer') return 'managedInstance';
  if (v === 'managedInstance') return 'sqlServer';
  throw new Error(`otherSide needs sqlServer or managedInstance, got ${JSON.stringify(v)}`);
}

/** The helpers a template may call. */
export const KNOWN_HELPERS: ReadonlySet<string> = new Set(Object.keys(HELPERS));

export function isHelper(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(HELPERS, name);
}
