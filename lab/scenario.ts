// Loads a lab scenario: a built-in name (lab/scenarios/<name>.yml) or a YAML file path, checked
// against schemas/scenario.schema.json, laid over the `healthy` defaults, then over `overrides`.
// Problems come back as `file:line:col: message` lines, never a stack trace.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { basename, resolve } from 'node:path';
import AjvModule, { type ValidateFunction } from 'ajv';
import yaml from 'js-yaml';
import type { ScenarioSpec } from './model/types.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const SCENARIO_DIR = resolve(root, 'lab/scenarios');
const SCHEMA_FILE = resolve(root, 'schemas/scenario.schema.json');

/** One problem in a scenario file, located (1-based line and column) for a reader to render. */
export interface ScenarioDiagnostic {
  severity: 'error';
  code: 'invalid-scenario';
  message: string;
  file: string;
  line: number;
  column: number;
}

/** Bad scenario input: one `file:line:col: message` line per problem (exit code 2 in the CLI). */
export class ScenarioError extends Error {
  readonly exitCode = 2;
  /** The same problems, each split into its place and message. */
  readonly diagnostics: ScenarioDiagnostic[];
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.diagnostics = problems.map((p): ScenarioDiagnostic => {
      const m = /^(.*):(\d+):(\d+): (.*)$/s.exec(p);
      return {
        severity: 'error', code: 'invalid-scenario', message: m ? m[4] : p,
        file: m ? m[1] : '', line: m ? Number(m[2]) : 1, column: m ? Number(m[3]) : 1,
      };
    });
  }
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };
export type ScenarioOverrides = DeepPartial<ScenarioSpec>;

export function builtInScenarios(): string[] {
  return readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.yml')).map((f) => basename(f, '.yml')).sort();
}

// ajv is CommonJS; under NodeNext its class is the default export's `default`.
const Ajv = (AjvModule as unknown as { default: typeof AjvModule }).default ?? AjvModule;

let validator: ValidateFunction | undefined;
function validate(): ValidateFunction {
  if (!validator) {
    const ajv = new (Ajv as unknown as new (o: object) => { compile(s: object): ValidateFunction })({ allErrors: true, strict: false });
    validator = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')));
  }
  return validator;
}

/** Reads and checks one scenario file; returns its (partial) content. */
export function readScenarioFile(file: string): ScenarioOverrides {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScenarioError([`${file}:1:1: cannot read the scenario file (${(e as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: file, schema: yaml.CORE_SCHEMA });
  } catch (e) {
    const err = e as { mark?: { line: number; column: number }; reason?: string };
    const line = (err.mark?.line ?? 0) + 1;
    const col = (err.mark?.column ?? 0) + 1;
    throw new ScenarioError([`${file}:${line}:${col}: ${err.reason ?? 'invalid YAML'}`]);
  }
  if (doc === undefined || doc === null) doc = {};
  const check = validate();
  if (!check(doc)) {
    const problems = (check.errors ?? [])
      .filter((er) => er.keyword !== 'if')
      .map((er) => {
        const where = er.keyword === 'additionalProperties'
          ? `${er.instancePath}/${(er.params as { additionalProperty: string }).additionalProperty}`
          : er.instancePath;
        const { line, col } = locate(text, where);
        const what = er.keyword === 'additionalProperties'
          ? `unknown key '${(er.params as { additionalProperty: string }).additionalProperty}'`
          : `${er.instancePath || 'scenario'} ${er.message}`;
        return `${file}:${line}:${col}: ${what}`;
      });
    throw new ScenarioError([...new Set<string>(problems)]);
  }
  const badPatterns = badMatchPatterns(doc as ScenarioOverrides).map(({ pointer, problem }) => {
    const { line, col } = locate(text, pointer);
    return `${file}:${line}:${col}: ${problem}`;
  });
  if (badPatterns.length) throw new ScenarioError(badPatterns);
  return doc as ScenarioOverrides;
}

/**
 * The schema only says `match` is a string; the lab compiles it as a regular expression when it
 * starts (model/faults.ts), so one that does not compile is bad input here, not a failed start.
 */
function badMatchPatterns(doc: ScenarioOverrides): Array<{ pointer: string; problem: string }> {
  const faults = (doc as { faults?: unknown }).faults;
  if (!Array.isArray(faults)) return [];
  const out: Array<{ pointer: string; problem: string }> = [];
  faults.forEach((fault: unknown, i) => {
    const match = (fault as { match?: unknown } | null)?.match;
    if (typeof match !== 'string') return;
    try {
      new RegExp(match, 'i');
    } catch (e) {
      const why = String((e as Error).message).replace(/^Invalid regular expression: /, '');
      out.push({ pointer: `/faults/${i}/match`, problem: `/faults/${i}/match is not a valid regular expression: ${why}` });
    }
  });
  return out;
}

/** A built-in name or a path; defaults from `healthy`, then the file, then `overrides`. */
export function loadScenario(nameOrFile = 'healthy', overrides: ScenarioOverrides = {}): ScenarioSpec {
  const builtIn = resolve(SCENARIO_DIR, `${nameOrFile}.yml`);
  const isName = /^[a-z0-9-]+$/.test(nameOrFile);
  const file = isName && existsSync(builtIn) ? builtIn : resolve(nameOrFile);
  if (isName && !existsSync(file)) {
    throw new ScenarioError([`${nameOrFile}:1:1: no such scenario (built-in: ${builtInScenarios().join(', ')})`]);
  }
  const base = readScenarioFile(resolve(SCENARIO_DIR, 'healthy.yml')) as ScenarioSpec;
  const own = file === resolve(SCENARIO_DIR, 'healthy.yml') ? {} : readScenarioFile(file);
  const merged = merge(merge(structuredClone(base) as unknown as Record<string, unknown>, own), overrides) as unknown as ScenarioSpec;
  if (!own.name) merged.name = basename(file).replace(/\.ya?ml$/, '');
  return merged;
}

function merge(target: Record<string, unknown>, source: object): Record<string, unknown> {
  for (const [k, v] of Object.entries(source)) {
    if (v === undefined) continue;
    const cur = target[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      target[k] = merge({ ...(cur as Record<string, unknown>) }, v as Record<string, unknown>);
    } else target[k] = structuredClone(v);
  }
  return target;
}

/**
 * Where a JSON pointer's node starts in a block-style YAML text: each key is looked for below
 * its parent, array items count `- ` lines at the item indentation. Good enough for scenario
 * files; falls back to the nearest parent found.
 */
export function locate(text: string, pointer: string): { line: number; col: number } {
  const lines = text.split(/\r?\n/);
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let from = 0;
  let indent = -1;
  let found = { line: 1, col: 1 };
  for (const part of parts) {
    let hit = -1;
    if (/^\d+$/.test(part)) {
      let n = -1;
      for (let i = from; i < lines.length; i++) {
        const m = /^(\s*)- /.exec(lines[i]);
        if (m && m[1].length > indent) n++;
        if (m && n === Number(part)) { hit = i; indent = m[1].length; break; }
      }
    } else {
      const re = new RegExp(`^(\\s*(?:- )?)${part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:|[{,]\\s*${part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:`);
      for (let i = from; i < lines.length; i++) {
        const m = re.exec(lines[i]);
        if (m) {
          hit = i;
          const col = m.index + (m[1]?.length ?? m[0].search(/\w/));
          found = { line: i + 1, col: col + 1 };
          break;
        }
      }
      if (hit >= 0) { from = hit; continue; }
    }
    if (hit < 0) break;
    found = { line: hit + 1, col: indent + 1 };
    from = hit;
  }
  return found;
}
