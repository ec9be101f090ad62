// A saved plan (`plan --out plan.json`) is input like any other: `apply plan.json` runs it only if
// it is exactly what `runbook plan` makes of the recorded runbook, inventory and inputs. The real
// check is a rebuild: apply plans again from those and compares, step by step and field by field
// (planDifferences). The digest is a second line of defence over the whole file, the parts a
// rebuild cannot make again included (a probed plan's observed state and predicted path): it is
// a plain sha256, so it catches an edit, not a forger who recomputes it; the rebuild catches both.
import { createHash } from 'node:crypto';
import type { Plan, PlannedStep } from './types.js';
import { isRecord } from '../core/record.js';

/** JSON with object keys sorted at every depth: the same data always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** `sha256:<hex>` over everything in the plan but the digest itself. */
export function planDigest(plan: Plan): string {
  const { digest: _digest, ...rest } = plan;
  return `sha256:${createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex')}`;
}

/** Why the plan's digest does not vouch for it; undefined when it matches. */
export function digestProblem(plan: Plan): string | undefined {
  if (typeof plan.digest !== 'string' || plan.digest === '') {
    return 'it has no digest (plan files from `runbook plan --out` carry one)';
  }
  if (plan.digest !== planDigest(plan)) return 'its digest does not match its content: the file was edited after `runbook plan` wrote it';
  return undefined;
}

const MAX_SHOWN = 100;

function shown(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = typeof value === 'string' ? JSON.stringify(value) : canonicalJson(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text;
}

/** Paths (`with.sql`, `plan.sql[0].text`) where two JSON values differ, leaves first found first. */
function valueDifferences(saved: unknown, rebuilt: unknown, path: string, out: Array<{ path: string; saved: unknown; rebuilt: unknown }>): void {
  if (canonicalJson(saved) === canonicalJson(rebuilt)) return;
  const bothArrays = Array.isArray(saved) && Array.isArray(rebuilt);
  const bothObjects = !bothArrays && isRecord(saved) && isRecord(rebuilt);
  if (bothArrays) {
    const a = saved as unknown[];
    const b = rebuilt as unknown[];
    for (let i = 0; i < Math.max(a.length, b.length); i++) valueDifferences(a[i], b[i], `${path}[${i}]`, out);
    return;
  }
  if (bothObjects) {
    const a = saved as Record<string, unknown>;
    const b = rebuilt as Record<string, unknown>;
    for (const key of [...new Set([...Object.keys(b), ...Object.keys(a)])]) valueDifferences(a[key], b[key], path ? `${path}.${key}` : key, out);
    return;
  }
  out.push({ path, saved, rebuilt });
}

function stepName(s: Pick<PlannedStep, 'id' | 'type'>): string {
  return `${s.id} (${s.type})`;
}

function list(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/**
 * What a saved plan has that the rebuilt one does not, one sentence each: steps missing, added,
 * repeated or moved, and each field of a step that differs (its impact, its SQL, ...), then the
 * inputs and the link. Empty when the saved plan is exactly what `runbook plan` makes.
 */
export function planDifferences(saved: Plan, rebuilt: Plan): string[] {
  const out: string[] = [];
  const savedSteps: PlannedStep[] = Array.isArray(saved.steps) ? saved.steps : [];
  const ids = (steps: PlannedStep[]) => steps.map((s) => String(s?.id));
  const savedIds = ids(savedSteps);
  const rebuiltIds = ids(rebuilt.steps);

  const missing = rebuilt.steps.filter((s) => !savedIds.includes(s.id));
  if (missing.length) out.push(`step${missing.length > 1 ? 's' : ''} ${list(missing.map(stepName))} of the runbook ${missing.length > 1 ? 'are' : 'is'} missing from the plan`);
  const extra = savedSteps.filter((s) => !rebuiltIds.includes(String(s?.id)));
  if (extra.length) out.push(`the plan has step${extra.length > 1 ? 's' : ''} ${list(extra.map((s) => stepName(s)))} that the runbook does not`);
  for (const id of new Set(savedIds)) {
    const n = savedIds.filter((x) => x === id).length;
    if (n > 1 && rebuiltIds.includes(id)) out.push(`step ${id} appears ${n} times in the plan; the runbook has it once`);
  }
  const common = savedIds.filter((id) => rebuiltIds.includes(id));
  const expectedOrder = rebuiltIds.filter((id) => common.includes(id));
  const savedOrder = [...new Set(common)];
  if (!missing.length && !extra.length && savedOrder.length === expectedOrder.length && savedOrder.join('\n') !== expectedOrder.join('\n')) {
    out.push(`the steps are in another order than in the runbook (plan: ${savedOrder.join(', ')}; runbook: ${expectedOrder.join(', ')})`);
  }

  // Field by field, for every step that is in both exactly once.
  for (const step of rebuilt.steps) {
    const copies = savedSteps.filter((s) => s?.id === step.id);
    if (copies.length !== 1) continue;
    const diffs: Array<{ path: string; saved: unknown; rebuilt: unknown }> = [];
    valueDifferences(copies[0], step, '', diffs);
    for (const d of diffs) {
      if (d.path === 'index' && savedOrder.join('\n') !== expectedOrder.join('\n')) continue;
      out.push(`step ${step.id}: ${d.path} is ${shown(d.saved)} in the plan, but the runbook makes it ${shown(d.rebuilt)}`);
    }
  }

  const inputDiffs: Array<{ path: string; saved: unknown; rebuilt: unknown }> = [];
  valueDifferences(saved.inputs, rebuilt.inputs, 'inputs', inputDiffs);
  for (const d of inputDiffs) out.push(`${d.path} is ${shown(d.saved)} in the plan, but resolves to ${shown(d.rebuilt)}`);

  for (const key of ['name', 'description', 'sha256'] as const) {
    if (saved.runbook?.[key] !== rebuilt.runbook[key]) out.push(`runbook.${key} is ${shown(saved.runbook?.[key])} in the plan, but the runbook has ${shown(rebuilt.runbook[key])}`);
  }
  for (const key of ['link', 'database', 'sha256'] as const) {
    if (saved.inventory?.[key] !== rebuilt.inventory[key]) out.push(`inventory.${key} is ${shown(saved.inventory?.[key])} in the plan, but the inventory has ${shown(rebuilt.inventory[key])}`);
  }
  return out;
}

/**
 * Line and column (1-based) of the JSON value at `path` in `text`, or of the nearest enclosing
 * value found: enough of a JSON reader to point a diagnostic into a plan file however it is laid
 * out (the YAML loader's positions do not cover JSON's flow style). Never throws.
 */
export function jsonPosition(text: string, path: readonly string[]): { line: number; column: number } {
  let i = 0;
  let best = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const str = (): string => {
    let out = '';
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        const next = text[i + 1];
        if (next === 'u') {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
          continue;
        }
        out += ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' } as Record<string, string>)[next ?? ''] ?? next ?? '';
        i += 2;
        continue;
      }
      out += text[i++];
    }
    i++; // closing quote
    return out;
  };
  // depth: how many parts of `path` the value being read matches (-1: off the path).
  const value = (depth: number): void => {
    ws();
    if (depth >= 0) best = i;
    if (depth === path.length) depth = -1; // found: the rest is only skipped
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      for (let n = 0; i < text.length; n++) {
        ws();
        if (text[i] === close) {
          i++;
          return;
        }
        let key = String(n);
        if (c === '{') {
          if (text[i] !== '"') return;
          key = str();
          ws();
          if (text[i] !== ':') return;
          i++;
        }
        const onPath = depth >= 0 && path[depth] === key;
        value(onPath ? depth + 1 : -1);
        if (onPath) return;
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) return;
      }
      return;
    }
    if (c === '"') str();
    else while (i < text.length && !/[\s,}\]]/.test(text[i]!)) i++;
  };
  value(0);
  const before = text.slice(0, best);
  const line = before.split('\n').length;
  return { line, column: best - before.lastIndexOf('\n') };
}
