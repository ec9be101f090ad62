// Inventories: one link, checked against schemas/inventory.schema.json. A literal password is an
// error that says what to write instead and never repeats the password.
import { dirname, isAbsolute, resolve } from 'node:path';
import { diag, hasErrors, type Diagnostic } from '../core/diagnostics.js';
import { loadYaml, type LoadedYaml } from '../load/yaml.js';
import { schemaDiagnostics } from './schema-diagnostics.js';
import { documentValidator, readSchema } from './schemas.js';
import type { FleetInventory, Inventory } from '../core/types.js';
import { isRecord } from '../core/record.js';
import { fleetDiagnostics } from './fleet-inventory.js';
import { sqlNameProblem } from './sql-names.js';

const PASSWORD_KEY = /^(password|passwd|pwd)$/i;

/** Names that reach T-SQL and the screen (engine/validate/sql-names.ts); the identifiers among them are sysnames. */
const NAME_POINTERS = ['/link/name', '/link/database', '/link/sqlServer/name', '/link/sqlServer/agName', '/link/managedInstance/name'];
const IDENTIFIERS = new Set(['/link/name', '/link/database', '/link/sqlServer/agName']);

export interface InventoryResult {
  /** A single-link inventory (top-level `link:`). */
  inventory?: Inventory;
  /** A fleet inventory (top-level `links:`, `sqlServers:`, `managedInstances:`). */
  fleet?: FleetInventory;
  diagnostics: Diagnostic[];
  source: string;
}

/** A fleet inventory says `links:` (or declares servers) and no single `link:`. */
export function isFleetDocument(value: unknown): boolean {
  return isRecord(value) && !('link' in value) && ('links' in value || 'sqlServers' in value || 'managedInstances' in value);
}

function passwordDiagnostics(file: string, doc: LoadedYaml, value: unknown, pointer: string, out: Diagnostic[]): void {
  if (value === null || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value)) {
    const p = `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (PASSWORD_KEY.test(k)) {
      out.push(
        diag('inline-password', `Passwords must not be written in the inventory. Put it in an environment variable and write \`passwordEnv: NAME\` (or use \`auth: entra\`).`, {
          file, ...doc.locate(p, 'key'), path: p,
        }),
      );
    } else passwordDiagnostics(file, doc, v, p, out);
  }
}

/** Validates an inventory; `text` skips reading the file. Relative `caFile`s become absolute. */
export function validateInventory(file: string, text?: string): InventoryResult {
  const doc = loadYaml(file, text);
  return validateLoadedInventory(file, doc);
}

export function validateLoadedInventory(file: string, doc: LoadedYaml): InventoryResult {
  const diagnostics = [...doc.diagnostics];
  if (doc.value === undefined) return { diagnostics, source: doc.source };
  passwordDiagnostics(file, doc, doc.value, '', diagnostics);
  const kind = isFleetDocument(doc.value) ? 'fleet' : 'inventory';
  const validate = documentValidator(kind);
  if (!validate(doc.value)) {
    diagnostics.push(
      ...schemaDiagnostics(validate.errors, {
        file, schema: readSchema(kind), data: doc.value, base: '', locate: doc.locate,
        ignore: (e) => e.keyword === 'additionalProperties' && PASSWORD_KEY.test(String(e.params.additionalProperty)),
      }),
    );
  }
  if (hasErrors(diagnostics)) return { diagnostics, source: doc.source };
  if (kind === 'fleet') return fleetResult(file, doc, diagnostics);
  for (const pointer of NAME_POINTERS) {
    const value = pointer.split('/').slice(1).reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], doc.value);
    const problem = typeof value === 'string' ? sqlNameProblem(pointer.split('/').pop()!, value, IDENTIFIERS.has(pointer)) : undefined;
    if (problem) diagnostics.push(diag('bad-value', problem, { file, ...doc.locate(pointer), path: pointer }));
  }
  if (hasErrors(diagnostics)) return { diagnostics, source: doc.source };
  const inventory = structuredClone(doc.value) as Inventory;
  const abs = absoluteAgainst(file);
  if (inventory.arm.caFile !== undefined) inventory.arm.caFile = abs(inventory.arm.caFile);
  for (const side of [inventory.link.sqlServer, inventory.link.managedInstance]) {
    if (side.connection.caFile !== undefined) side.connection.caFile = abs(side.connection.caFile);
  }
  return { inventory, diagnostics, source: doc.source };
}

/** Relative `caFile`s are relative to the inventory that names them. */
export function absoluteAgainst(file: string): (p: string) => string {
  const base = dirname(resolve(file));
  return (p) => (isAbsolute(p) ? p : resolve(base, p));
}

function fleetResult(file: string, doc: LoadedYaml, diagnostics: Diagnostic[]): InventoryResult {
  diagnostics.push(...fleetDiagnostics(file, doc));
  if (hasErrors(diagnostics)) return { diagnostics, source: doc.source };
  const fleet = structuredClone(doc.value) as FleetInventory;
  const abs = absoluteAgainst(file);
  if (fleet.arm.caFile !== undefined) fleet.arm.caFile = abs(fleet.arm.caFile);
  for (const server of [...Object.values(fleet.sqlServers), ...Object.values(fleet.managedInstances)]) {
    if (server.connection.caFile !== undefined) server.connection.caFile = abs(server.connection.caFile);
  }
  return { fleet, diagnostics, source: doc.source };
}
