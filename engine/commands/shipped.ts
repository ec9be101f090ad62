// What the package ships besides its code: the runbooks, the schemas and the lab's scenarios, found
// from the package root (this file's place in dist/), never from the working directory, so an
// installed `runbook` finds them from any folder. Also the lookup of a runbook argument by name.
// Reads files only: completion and `plan` use it, and neither may load a driver.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadYaml } from '../load/yaml.js';

/** dist/engine/commands/shipped.js -> the package root, three levels up. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const shippedRunbooksDir = join(packageRoot, 'runbooks');
export const shippedSchemasDir = join(packageRoot, 'schemas');
export const labScenariosDir = join(packageRoot, 'lab', 'scenarios');

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function ymlNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.yml') && isFile(join(dir, f))).sort();
}

/** The shipped runbooks' file names (`planned-failover.yml`, ...). */
export function shippedRunbookFiles(): string[] {
  return ymlNames(shippedRunbooksDir);
}

/** The lab's built-in scenario names (`healthy`, ...). */
export function labScenarioNames(): string[] {
  return ymlNames(labScenariosDir).map((f) => f.slice(0, -4));
}

/** A bare name: no directory part on any platform, not `.` or `..`. */
function isBareName(arg: string): boolean {
  return arg !== '' && arg !== '.' && arg !== '..' && !isAbsolute(arg) && !/[\\/]/.test(arg);
}

export interface RunbookArgument {
  /** What to load: the argument itself, or the shipped runbook's absolute path. */
  file: string;
  /** Set when the argument was found among the shipped runbooks. */
  shipped?: string;
}

/**
 * A runbook argument as the operator typed it. A path that exists is used as given (a local file
 * always wins over a shipped one of the same name), and so is a bare name's local `<name>.yml` or
 * `<name>.yaml`; a bare name with neither here is looked up in the shipped runbooks/, with or
 * without `.yml`. Anything else is left as typed, so the
 * loader reports it as it would (no such file).
 */
export function resolveRunbookArgument(arg: string, cwd: string): RunbookArgument {
  if (existsSync(resolve(cwd, arg)) || !isBareName(arg)) return { file: arg };
  // A bare name without its extension means the local `<name>.yml` (or `.yaml`) before a shipped
  // one: the operator's edited copy (the one `init` wrote) must never lose to the shipped runbook.
  const local = ['.yml', '.yaml'].map((ext) => `${arg}${ext}`).find((f) => existsSync(resolve(cwd, f)));
  if (local !== undefined) return { file: local };
  const names = shippedRunbookFiles();
  const name = names.find((n) => n === arg) ?? names.find((n) => n === `${arg}.yml`);
  return name === undefined ? { file: arg } : { file: join(shippedRunbooksDir, name), shipped: name };
}

export interface ShippedRunbookInfo {
  name: string;
  file: string;
  /** The description's first sentence. */
  summary: string;
  inputs: Array<{ name: string; type?: string; default?: unknown; enum?: unknown[]; description?: string }>;
}

/** The first sentence of a description (a folded YAML block is one long line). */
export function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  // An ellipsis ("ALTER AVAILABILITY GROUP ... FAILOVER") does not end a sentence.
  const end = flat.search(/(?<!\.)[.!?](?!\.)(?=\s|$)/);
  return end < 0 ? flat : flat.slice(0, end + 1);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * The inputs a runbook file declares, read with the engine's defensive YAML reader (size, depth,
 * aliases bounded); a file that does not parse has none. Used by the listing and by completion.
 */
export function declaredInputs(file: string): ShippedRunbookInfo['inputs'] {
  const doc = asRecord(loadYaml(file).value);
  const inputs = asRecord(doc?.inputs) ?? {};
  return Object.entries(inputs).map(([name, spec]) => {
    const s = asRecord(spec) ?? {};
    const info: ShippedRunbookInfo['inputs'][number] = { name };
    if (typeof s.type === 'string') info.type = s.type;
    if (s.default !== undefined) info.default = s.default;
    if (Array.isArray(s.enum)) info.enum = s.enum;
    if (typeof s.description === 'string') info.description = s.description;
    return info;
  });
}

export function describeShippedRunbooks(): ShippedRunbookInfo[] {
  return shippedRunbookFiles().map((name) => {
    const file = join(shippedRunbooksDir, name);
    const doc = asRecord(loadYaml(file).value) ?? {};
    return { name, file, summary: firstSentence(typeof doc.description === 'string' ? doc.description : ''), inputs: declaredInputs(file) };
  });
}

export function renderShippedRunbooks(list: ShippedRunbookInfo[]): string {
  if (list.length === 0) return `No runbooks are shipped in ${shippedRunbooksDir}.\n`;
  const out = [`Runbooks shipped in ${shippedRunbooksDir} (use them by name from any folder; a file of the same name in the current folder wins):`, ''];
  for (const r of list) {
    out.push(`${r.name}`, `  ${r.summary}`);
    if (r.inputs.length) {
      out.push('  inputs:');
      for (const i of r.inputs) {
        const kind = i.enum ? i.enum.map((v) => String(v)).join(' | ') : (i.type ?? 'string');
        const fallback = i.default !== undefined ? ` (default ${JSON.stringify(i.default)})` : ' (required)';
        out.push(`    ${i.name}: ${kind}${fallback}${i.description ? `  ${firstSentence(i.description)}` : ''}`);
      }
    }
    out.push('');
  }
  out.push('Copy them into a folder of your own with "runbook init [dir]".', '');
  return out.join('\n');
}


/**
 * The runbook argument of plan, apply or validate, resolved; when the shipped one is used, says so
 * on standard error (standard output may be a JSON or T-SQL plan), naming the file it loads.
 */
export function runbookArgument(arg: string, io: { cwd: string; stderr: NodeJS.WritableStream }): string {
  const found = resolveRunbookArgument(arg, io.cwd);
  if (found.shipped !== undefined) io.stderr.write(`runbook: no ${arg} in ${io.cwd}; using the shipped runbook ${found.file}\n`);
  return found.file;
}

export function runbooksCommand(opts: { format: 'text' | 'json' }, io: { stdout: NodeJS.WritableStream }): number {
  const list = describeShippedRunbooks();
  io.stdout.write(opts.format === 'json' ? JSON.stringify(list, null, 2) + '\n' : renderShippedRunbooks(list));
  return 0;
}
