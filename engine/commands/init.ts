// `runbook init [dir]`: a folder the operator owns, started from the real thing: the shipped
// runbooks and a commented inventory, each with a `# yaml-language-server: $schema=` line pointing
// at the schemas of this installation (absolute paths: the copies live outside the package, and
// yaml-language-server reads an absolute file path as one). Nothing is overwritten without --force,
// and when anything would be, nothing at all is written.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ExitError, UsageError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { shippedRunbookFiles, shippedRunbooksDir, shippedSchemasDir } from './shipped.js';
import type { CommandIO } from './io.js';

export const INVENTORY_FILE = 'inventory.yml';

const SCHEMA_LINE = /^# yaml-language-server: \$schema=(.*)$/m;

/** A path as yaml-language-server and every editor read it: forward slashes, even on Windows. */
function schemaRef(path: string): string {
  return path.replace(/\\/g, '/');
}

/**
 * A shipped runbook's text with its schema line pointing at the installed schema. The shipped
 * line is relative to runbooks/ (it works in a clone); whatever schema it names, the copy names the
 * same file of this installation.
 */
export function withInstalledSchema(text: string, fromDir: string): string {
  const line = `# yaml-language-server: $schema=`;
  const m = SCHEMA_LINE.exec(text);
  if (!m) return `${line}${schemaRef(join(shippedSchemasDir, 'runbook.schema.json'))}\n${text}`;
  const target = resolve(fromDir, m[1]!.trim());
  return text.replace(SCHEMA_LINE, `${line}${schemaRef(target)}`);
}

/** The inventory template: every field commented, values that pass the schema but name nothing real. */
export function inventoryTemplate(): string {
  return `# yaml-language-server: $schema=${schemaRef(join(shippedSchemasDir, 'inventory.schema.json'))}
# One Managed Instance link: its two replicas, how to reach them, and ARM. Replace every value
# below with your link's; "runbook validate ${INVENTORY_FILE}" checks the file, and
# "runbook plan planned-failover.yml -i ${INVENTORY_FILE}" shows what a failover would do.
# Secrets are never written here: passwordEnv and tokenEnv name environment variables.
link:
  # The link: the distributed availability group's name (sys.availability_groups on SQL Server,
  # Get-AzSqlInstanceLink's Name) and the database it replicates.
  name: dag-sales
  database: salesdb
  sqlServer:
    # replica_server_name as SQL Server's DMVs show it, and the availability group the link joins.
    name: SQLPROD01
    agName: ag-sales
    connection:
      host: sqlprod01.contoso.example
      port: 1433
      auth: sql                  # sql (user + passwordEnv), entra, or ntlm (with domain)
      user: runbook
      passwordEnv: RUNBOOK_SQL_PASSWORD
      # caFile: ca.pem           # a CA to trust, relative to this file
      # serverName: sqlprod01    # the certificate's name when host is an address
      # connectTimeoutMs: 15000
  managedInstance:
    # The short managed instance name, its resource group and subscription (for ARM).
    name: sqlmi-sales
    resourceGroup: rg-sales
    subscriptionId: 00000000-0000-0000-0000-000000000000
    tier: GeneralPurpose         # or BusinessCritical
    # fqdn: sqlmi-sales.0123456789ab.database.windows.net
    connection:
      host: sqlmi-sales.0123456789ab.database.windows.net
      port: 1433
      auth: sql
      user: runbook
      passwordEnv: RUNBOOK_MI_PASSWORD
arm:
  endpoint: https://management.azure.com
  credential: default            # DefaultAzureCredential (az login, managed identity, ...)
  # credential: tokenEnv         # or a bearer token from an environment variable:
  # tokenEnv: RUNBOOK_ARM_TOKEN
`;
}

export interface InitOptions {
  dir?: string;
  force: boolean;
}

export function initCommand(opts: InitOptions, io: CommandIO): number {
  const target = resolve(io.cwd, opts.dir ?? '.');
  if (existsSync(target) && !statSync(target).isDirectory()) throw new UsageError(`init: ${opts.dir ?? target} is not a folder`);
  const runbooks = shippedRunbookFiles();
  if (runbooks.length === 0) throw new UsageError(`init: no shipped runbooks found in ${shippedRunbooksDir} (is the package complete?)`);
  const files = new Map<string, string>();
  for (const name of runbooks) files.set(name, withInstalledSchema(readFileSync(join(shippedRunbooksDir, name), 'utf8'), shippedRunbooksDir));
  files.set(INVENTORY_FILE, inventoryTemplate());

  const existing = [...files.keys()].filter((name) => existsSync(join(target, name)));
  if (existing.length && !opts.force) {
    throw new ExitError(
      ExitCode.refused,
      `init: refusing to overwrite ${existing.join(', ')} in ${target}; nothing was written. Use --force to replace them, or init another folder.`,
    );
  }
  mkdirSync(target, { recursive: true });
  for (const [name, text] of files) writeFileSync(join(target, name), text);
  const shown = relative(io.cwd, target) || '.';
  io.stdout.write(
    `Wrote ${files.size} files to ${target}${existing.length ? ` (replaced ${existing.join(', ')})` : ''}:\n` +
      [...files.keys()].map((n) => `  ${n}`).join('\n') +
      `\nNext: edit ${join(shown, INVENTORY_FILE)}, then\n` +
      `  runbook validate ${join(shown, INVENTORY_FILE)}\n` +
      `  runbook plan ${join(shown, 'planned-failover.yml')} -i ${join(shown, INVENTORY_FILE)}\n`,
  );
  return ExitCode.done;
}

