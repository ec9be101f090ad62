// Links compiled ES modules of ours into one file (runtime.ts: a classic script run by an ES
// module, for its code cache), and turns each linked module's own file into a facade that
// re-exports it from there. Why (README "Development", start-up budget):
// Node 20's ESM loader spends about half a millisecond of CPU on every module it resolves, reads,
// compiles and links, and `validate` loads some 80 of ours; one file costs that once.
//
// Why facades: a module must exist once in a process, or `instanceof` on its classes and the
// identity of its functions (isDefinedStep) answer wrongly. Every importer that does not go
// through the linked file (a module loaded lazily, a plugin importing the step API, a test) still
// imports the module by its own path, and the facade there hands it the linked file's one copy.
//
// Each module keeps ESM's evaluation: a module's function runs once, on its first import, after
// the modules it imports, in their order (there are no cycles; the linker refuses one); an error
// is kept and thrown again to every later importer. Node built-ins are taken with `require` when
// their importer runs (what `import` would give, without loading them for a command that does
// not need them); a package is imported by the linked ES module itself.
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { LINKED, linkModule, readModuleSyntax, type LinkedModule, type ModuleSyntax, type Target } from './module-text.js';
import { LINKED_CODE, moduleText, scriptText } from './runtime.js';

/** The first line of a facade: a file that holds it is no module to link (run tsc again). */
export const FACADE_MARK = '// runbook: linked facade';

export interface LinkRequest {
  /** The folder holding the compiled modules (dist/). */
  dist: string;
  /** The linked file, relative to `dist`. */
  output: string;
  /** Modules to link with everything they import statically, relative to `dist`. */
  roots: string[];
}

export interface LinkResult {
  /** The build's id (a digest of what was linked), which every facade it wrote names. */
  build: string;
  /** The linked modules, relative to `dist`, in the linked file's order. */
  modules: string[];
  /** The packages the linked file imports (loaded whenever it is). */
  packages: string[];
  /** The built-ins the linked modules require. */
  builtins: string[];
}

/** A link that cannot be made, with one line per reason. */
export class LinkError extends Error {
  constructor(readonly problems: string[]) {
    super(`cannot link:\n${problems.join('\n')}`);
  }
}

const toPosix = (path: string) => path.split(sep).join('/');
const relativeSpecifier = (from: string, to: string) => {
  const path = toPosix(relative(dirname(from), to));
  return path.startsWith('.') ? path : `./${path}`;
};
const isRelative = (specifier: string) => specifier.startsWith('./') || specifier.startsWith('../');

interface Found {
  file: string;
  text: string;
  syntax: ModuleSyntax;
}

/** The roots and everything they import statically, in the order they are first met. */
function collect(request: LinkRequest): Found[] {
  const found = new Map<string, Found>();
  const problems: string[] = [];
  const visit = (file: string) => {
    if (found.has(file)) return;
    const text = readFileSync(file, 'utf8');
    const shown = toPosix(relative(request.dist, file));
    if (text.startsWith(FACADE_MARK)) throw new LinkError([`${shown} is already a facade of a linked file: compile again (tsc) before linking`]);
    const syntax = readModuleSyntax(text, shown);
    found.set(file, { file, text, syntax });
    problems.push(...syntax.problems);
    for (const specifier of syntax.staticSpecifiers) if (isRelative(specifier)) visit(resolve(dirname(file), specifier));
  };
  for (const root of request.roots) visit(resolve(request.dist, root));
  if (problems.length) throw new LinkError(problems);
  return [...found.values()];
}

/** A cycle among the linked modules, as the files on it; ESM allows one, a linked function would not. */
function findCycle(modules: Found[], idOf: Map<string, number>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (m: Found): string[] | undefined => {
    if (state.get(m.file) === 'done') return undefined;
    if (state.get(m.file) === 'open') return [...path.slice(path.indexOf(m.file)), m.file];
    state.set(m.file, 'open');
    path.push(m.file);
    for (const specifier of m.syntax.staticSpecifiers) {
      const next = isRelative(specifier) ? modules[idOf.get(resolve(dirname(m.file), specifier))!] : undefined;
      const cycle = next && visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(m.file, 'done');
    return undefined;
  };
  for (const m of modules) {
    const cycle = visit(m);
    if (cycle) return cycle;
  }
  return undefined;
}

/** The names a linked module exports, its `export *` sources' included (its own win, as in ESM). */
function exportNames(linked: LinkedModule[], id: number): string[] {
  const names = new Set(linked[id]!.exports.map((e) => e.name));
  for (const from of linked[id]!.starFrom) for (const name of exportNames(linked, from)) if (name !== 'default') names.add(name);
  return [...names];
}

function moduleFunction(id: number, m: LinkedModule): string {
  const own = m.exports.map((e) => `${JSON.stringify(e.name)}: ${e.value}`);
  const star = m.starFrom.map((from) => `...__linked$star(${from})`);
  return [
    `function __linked$m${id}() {`,
    ...(m.usesMeta ? [`const ${LINKED.meta} = { url: __linked$url(${id}) };`] : []),
    ...(m.usesResolve ? [`const ${LINKED.resolve} = (s) => (s.startsWith('.') || s.startsWith('/') ? new URL(s, __linked$url(${id})).href : s);`] : []),
    m.body,
    `return Object.freeze({ __proto__: null, ${[...star, ...own].join(', ')} });`,
    '}',
  ].join('\n');
}

/**
 * A facade names its module by its path (what stays the same from one build to the next) and by
 * the build that wrote it: a process that ran the previous build still holds that build's linked.js
 * (ESM keeps a module by its URL), and a facade it reads after a rebuild or an upgrade must be
 * refused by it, never lent the module of the same number there (test/engine/build/link.test.ts).
 */
function facade(facadeFile: string, outputFile: string, build: string, names: string[]): string {
  const named = names.filter((n) => n !== 'default');
  return [
    FACADE_MARK,
    `// Its code runs from ${relativeSpecifier(facadeFile, outputFile)} (engine/build/link/): one copy for every importer.`,
    `import { ${LINKED.require} } from ${JSON.stringify(relativeSpecifier(facadeFile, outputFile))};`,
    `const __linked$ns = ${LINKED.require}(${JSON.stringify(relativeSpecifier(outputFile, facadeFile))}, ${JSON.stringify(build)});`,
    ...(named.length ? [`export const { ${named.join(', ')} } = __linked$ns;`] : []),
    ...(names.includes('default') ? ['export default __linked$ns.default;'] : []),
    '',
  ].join('\n');
}

/** Links the roots' modules into `output` and writes a facade over each one's file. */
export function linkModules(request: LinkRequest): LinkResult {
  const outputFile = resolve(request.dist, request.output);
  const found = collect(request);
  const idOf = new Map(found.map((m, id) => [m.file, id]));
  const cycle = findCycle(found, idOf);
  if (cycle) throw new LinkError([`an import cycle: ${cycle.map((f) => toPosix(relative(request.dist, f))).join(' -> ')}`]);

  const packages = new Map<string, string>();
  const builtins = new Set<string>();
  const linked = found.map((m) =>
    linkModule(m.text, toPosix(relative(request.dist, m.file)), (specifier): Target => {
      if (isRelative(specifier)) {
        const file = resolve(dirname(m.file), specifier);
        const id = idOf.get(file);
        return id !== undefined ? { kind: 'linked', id } : { kind: 'file', path: relativeSpecifier(outputFile, file) };
      }
      if (isBuiltin(specifier)) {
        builtins.add(specifier);
        return { kind: 'builtin', specifier };
      }
      if (!packages.has(specifier)) packages.set(specifier, `__linked$package${packages.size}`);
      return { kind: 'package', binding: packages.get(specifier)! };
    }),
  );

  const files = found.map((m) => relativeSpecifier(outputFile, m.file));
  const codeFile = join(dirname(outputFile), LINKED_CODE.name);
  const script = scriptText(linked.map((m, id) => moduleFunction(id, m)), [...packages.values()]);
  const build = createHash('sha256').update(JSON.stringify(files)).update(script).digest('hex').slice(0, 16);
  // In an order that a build stopped at any instant leaves safe: a previous link's files go first
  // (a facade must never reach another link's module of its number), the facades next, the linked
  // files last. Stopped before the end, a facade fails to load for want of its linked file, or is
  // refused by a linked file of another build; no module is ever loaded twice, from its own file
  // and from the linked one, or in another's place.
  rmSync(outputFile, { force: true });
  rmSync(codeFile, { force: true });
  // A previous link's code cache too: it must never meet this link's code (link-hot-path.ts).
  const cacheFile = resolve(dirname(outputFile), LINKED_CODE.cacheDir, LINKED_CODE.name);
  rmSync(cacheFile, { force: true });
  rmSync(`${cacheFile}.v8`, { force: true });
  found.forEach((m, id) => writeFileSync(m.file, facade(m.file, outputFile, build, exportNames(linked, id))));
  writeFileSync(codeFile, script);
  writeFileSync(outputFile, moduleText(files, [...packages], build));
  return { build, modules: found.map((m) => toPosix(relative(request.dist, m.file))), packages: [...packages.keys()], builtins: [...builtins].sort() };
}
