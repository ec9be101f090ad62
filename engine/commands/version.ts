// `runbook --version`: what an operator pastes into a support ticket. The drivers' versions are read
// from their package.json files (never by loading the drivers: that would cost the start-up of a
// whole client), and the ARM api-version from the ARM driver's own constant, so this text cannot
// drift from what the requests send.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LINK_API_VERSION } from '../drivers/arm/link-ids.js';
import { packageRoot } from './shipped.js';

interface PackageJson {
  name?: string;
  version?: string;
}

function readPackageJson(file: string): PackageJson | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

/**
 * The folder of package `name` as Node would load it from `fromDir` (so tedious is the copy mssql
 * loads, wherever npm put it): resolve its entry point and walk up to its package.json.
 */
export function packageDir(name: string, fromDir: string): string | undefined {
  let entry: string;
  try {
    entry = createRequire(join(fromDir, 'noop.js')).resolve(name);
  } catch {
    return undefined;
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && readPackageJson(file)?.name === name) return dir;
  }
  return undefined;
}

export function packageVersion(name: string, fromDir: string): string {
  const dir = packageDir(name, fromDir);
  return (dir && readPackageJson(join(dir, 'package.json'))?.version) ?? 'not installed';
}

export function ownPackage(): { name: string; version: string } {
  const pkg = readPackageJson(join(packageRoot, 'package.json')) ?? {};
  return { name: pkg.name ?? 'runbook', version: pkg.version ?? 'unknown' };
}

/** The ARM api-versions the engine's requests carry (engine/drivers/arm/client.ts). */
export const ARM_API_VERSIONS: readonly string[] = [LINK_API_VERSION];

export function versionText(): string {
  const own = ownPackage();
  const mssqlDir = packageDir('mssql', packageRoot);
  const rows: Array<[string, string]> = [
    ['node', process.versions.node],
    ['mssql', packageVersion('mssql', packageRoot)],
    ['tedious', mssqlDir ? packageVersion('tedious', mssqlDir) : 'not installed'],
    ['@azure/arm-sql', packageVersion('@azure/arm-sql', packageRoot)],
    ['@azure/identity', packageVersion('@azure/identity', packageRoot)],
    ['ARM api-version', ARM_API_VERSIONS.join(', ')],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  // The first line stays the bare version: scripts that read `runbook --version` keep working.
  return [own.version, `${own.name} ${own.version} (${packageRoot})`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n') + '\n';
}
