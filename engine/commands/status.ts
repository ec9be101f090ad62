// `runbook status -i <inventory> [--links a,b] [--format text|json]`: a read-only health view of
// every link of a fleet (or the one link of a single-link inventory), for people and for
// monitoring: exit 0 all healthy, 1 a link unhealthy, 2 a set-up error (bad inventory, a password
// not set, a login refused). A set-up error at one server still shows every link (that server's
// as unreadable), then the error on its own line. Takes no lock, writes nothing, changes nothing.
import { hasErrors } from '../core/diagnostics.js';
import { ExitCode } from '../core/exit-codes.js';
import { UsageError } from '../core/errors.js';
import type { FleetInventory, Inventory } from '../core/types.js';
import { validateInventory } from '../validate/runbook.js';
import { selectLinks, type FleetLink, type LinkSelection } from '../fleet/expand.js';
import { renderStatusText } from '../ui/wave/status-text.js';
import { colorWanted, makeStyle } from '../ui/style.js';
import { registerRunSecrets } from '../core/secrets.js';
import { InvalidInput } from './prepare.js';
import type { CommandIO } from './io.js';

export interface StatusOptions {
  inventory: string;
  links?: string[];
  format: 'text' | 'json';
}

/** A single-link inventory as a fleet of one. */
function asFleet(inventory: Inventory): FleetInventory {
  const { link, arm } = inventory;
  return {
    sqlServers: { [link.sqlServer.name]: { name: link.sqlServer.name, connection: link.sqlServer.connection } },
    managedInstances: { [link.managedInstance.name]: link.managedInstance },
    links: [{ name: link.name, database: link.database, agName: link.sqlServer.agName, sqlServer: link.sqlServer.name, managedInstance: link.managedInstance.name }],
    arm,
  };
}

export async function statusCommand(opts: StatusOptions, io: CommandIO): Promise<number> {
  const result = validateInventory(opts.inventory);
  if (hasErrors(result.diagnostics) || (!result.fleet && !result.inventory)) throw new InvalidInput(result.diagnostics, new Map([[opts.inventory, result.source ?? '']]));
  const fleet = result.fleet ?? asFleet(result.inventory!);
  const selection: LinkSelection = opts.links ? { names: opts.links } : { all: true };
  const { links, problems } = selectLinks(fleet, selection);
  if (problems.length) throw new UsageError(`status: ${problems.join('; ')}`);
  const stdinPasswords = [...Object.values(fleet.sqlServers), ...Object.values(fleet.managedInstances)].some((s) => s.connection.passwordStdin);
  if (stdinPasswords) throw new UsageError('status: a monitoring check reads passwords from the environment (passwordEnv), not standard input');
  for (const l of links) registerRunSecrets(l.inventory, io.env);
  const { readFleetStatus, setUpProblems } = await import('../fleet/status.js');
  const statuses = await readFleetStatus(links as FleetLink[], io.env);
  const setUp = setUpProblems(statuses);
  if (opts.format === 'json') io.stdout.write(JSON.stringify({ healthy: statuses.every((s) => s.healthy), links: statuses, ...(setUp.length ? { setUpErrors: setUp } : {}) }, null, 2) + '\n');
  else io.stdout.write(renderStatusText(statuses, makeStyle(colorWanted(io.stdout, io.env))));
  for (const problem of setUp) io.stderr.write(`runbook: status: set-up error: ${problem}\n`);
  if (setUp.length) return ExitCode.invalidInput;
  return statuses.every((s) => s.healthy) ? ExitCode.done : ExitCode.failedBeforeChange;
}
