// package.json says what the code uses, in the right section: a package the engine, the steps or
// the lab load at run time is a dependency (an install without devDependencies must run them,
// `--lab` included), every dependency is loaded by them, and whatever else the sources, tests and
// benchmarks import (types, test clients) is a devDependency. Run-time imports are read from the
// compiled output, where type-only imports are gone; TypeScript's own import scanner finds them
// (static, dynamic and createRequire'd), so strings and comments that look like imports do not count.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { root } from './helpers/cli.js';

interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
const dependencies = Object.keys(pkg.dependencies);
const devDependencies = Object.keys(pkg.devDependencies);

function filesUnder(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return filesUnder(full, suffix);
    return name.endsWith(suffix) && !name.endsWith('.d.ts') ? [full] : [];
  });
}

/** `@scope/name/deep/path` -> `@scope/name`, `name/deep` -> `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The packages (not relative files, not Node built-ins) each file imports, with who imports them. */
function importedPackages(files: string[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (fileName.startsWith('.') || fileName.startsWith('/') || isBuiltin(fileName)) continue;
      const name = packageOf(fileName);
      found.set(name, [...(found.get(name) ?? []), relative(root, file)]);
    }
  }
  return found;
}

const runtimeFolders = ['engine', 'steps', 'lab'];
const sourceFolders = [...runtimeFolders, 'test', 'bench', 'scripts'];

/**
 * Compiled run-time modules; a stale file in dist/ whose source is gone does not count, nor do the
 * build's own steps (not shipped: package.json "files"). The linked files of the start-up path hold
 * the code of the modules whose own files are their facades (engine/build/link-hot-path.ts).
 */
const linkedFiles = ['linked.js', 'linked-modules.js'].map((name) => join(root, 'dist', 'engine', name));
const runtimeFiles = runtimeFolders
  .flatMap((folder) => filesUnder(join(root, 'dist', folder), '.js'))
  .filter((file) => linkedFiles.includes(file) || existsSync(join(root, relative(join(root, 'dist'), file)).replace(/\.js$/, '.ts')))
  .filter((file) => !file.startsWith(join(root, 'dist', 'engine', 'build') + '/'));
const runtime = importedPackages(runtimeFiles);
const everywhere = importedPackages(sourceFolders.flatMap((folder) => filesUnder(join(root, folder), '.ts')));

const listing = (names: string[], where: Map<string, string[]>) =>
  names.map((n) => `${n}${where.has(n) ? ` (${[...new Set(where.get(n))].slice(0, 3).join(', ')})` : ''}`).join('; ');

test('the scan sees the run-time imports it should (the drivers, and the lab\'s SQLite)', () => {
  assert.ok(runtimeFiles.length > 50, `compiled run-time modules found: ${runtimeFiles.length}`);
  assert.ok(runtime.get('mssql')?.some((f) => f === 'dist/engine/drivers/packages.js'), 'mssql from the drivers\' one loader of packages');
  assert.ok(runtime.get('better-sqlite3')?.some((f) => f.startsWith('dist/lab/')), 'better-sqlite3 from the lab');
  assert.ok(runtime.get('handlebars'), 'a createRequire\'d package counts');
  assert.ok(runtime.get('@azure/identity'), 'a lazily imported package counts');
  assert.not.ok(runtime.has('@azure/core-auth'), 'a type-only import is not a run-time import');
  assert.ok(everywhere.has('@azure/core-auth'), '...but it is an import of the sources');
});

test('every package the engine, the steps and the lab load at run time is in dependencies', () => {
  const missing = [...runtime.keys()].filter((name) => !dependencies.includes(name)).sort();
  assert.equal(missing, [], `loaded at run time but not in dependencies: ${listing(missing, runtime)}`);
});

test('every entry of dependencies is loaded at run time by the engine, the steps or the lab', () => {
  const unused = dependencies.filter((name) => !runtime.has(name));
  assert.equal(unused, [], `in dependencies but loaded by no run-time module (a devDependency, or not ours to list?): ${listing(unused, everywhere)}`);
});

test('every package imported anywhere (types, tests, benchmarks) is declared', () => {
  const undeclared = [...everywhere.keys()].filter((name) => !dependencies.includes(name) && !devDependencies.includes(name)).sort();
  assert.equal(undeclared, [], `imported but not in package.json (only there through another package): ${listing(undeclared, everywhere)}`);
});

/** The commands a package installs (its `bin`), to find the tools the scripts run. */
function binsOf(name: string): string[] {
  const file = join(root, 'node_modules', name, 'package.json');
  if (!existsSync(file)) return [];
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as { bin?: string | Record<string, string> };
  if (manifest.bin === undefined) return [];
  return typeof manifest.bin === 'string' ? [packageOf(name).replace(/^@[^/]+\//, '')] : Object.keys(manifest.bin);
}

test('every devDependency is used: imported, the types of an imported package or of Node, or a tool a script runs', () => {
  const scripts = Object.values(pkg.scripts).join('\n');
  const typesFor = (name: string) => {
    const of = name.slice('@types/'.length);
    return of === 'node' ? 'node' : of.includes('__') ? `@${of.replace('__', '/')}` : of;
  };
  const unused = devDependencies.filter((name) => {
    if (everywhere.has(name)) return false;
    if (name.startsWith('@types/')) {
      const of = typesFor(name);
      return !(of === 'node' || everywhere.has(of));
    }
    return !binsOf(name).some((bin) => new RegExp(`(^|[\\s&|;])${bin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`, 'm').test(scripts));
  });
  assert.equal(unused, [], `in devDependencies but used by nothing: ${unused.join(', ')}`);
});

test('packageOf: scoped and deep specifiers name their package', () => {
  assert.is(packageOf('@azure/core-rest-pipeline'), '@azure/core-rest-pipeline');
  assert.is(packageOf('handlebars/dist/handlebars.min.js'), 'handlebars');
  assert.is(packageOf('uvu/assert'), 'uvu');
  assert.is(packageOf('@scope/name/deep/file.js'), '@scope/name');
});

test.run();
