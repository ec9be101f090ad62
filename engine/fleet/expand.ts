// A fleet inventory as the single-link inventories it stands for: each link gets its servers'
// connections, names and ARM block, exactly the shape `runbook apply -i link.yml` reads, so a
// link of a wave is an ordinary run. Pure: no file, no server.
import type { FleetInventory, Inventory } from '../core/types.js';
import { linkNameKey } from '../drivers/sql/link-name-key.js';

export interface FleetLink {
  name: string;
  /** 1-based position in the fleet's `links:`, for messages and the wave's order. */
  position: number;
  /** The keys of its servers in the fleet inventory (pooling and status group by them). */
  sqlServerKey: string;
  managedInstanceKey: string;
  inventory: Inventory;
}

/** Two names one link lock would take as one (case and accents folded): how every flag matches link names. */
export const sameLinkName = (a: string, b: string): boolean => linkNameKey(a) === linkNameKey(b);

/** `--links a,b` or `--all`. */
export type LinkSelection = { all: true } | { names: string[] };

export function expandLink(fleet: FleetInventory, index: number): FleetLink {
  const spec = fleet.links[index]!;
  const sql = fleet.sqlServers[spec.sqlServer];
  const mi = fleet.managedInstances[spec.managedInstance];
  // Validation refuses an unknown reference; a caller that skipped it gets a plain error, never a half link.
  if (!sql) throw new Error(`link ${spec.name}: no SQL Server ${spec.sqlServer} in the fleet`);
  if (!mi) throw new Error(`link ${spec.name}: no managed instance ${spec.managedInstance} in the fleet`);
  const { name: miName, ...miRest } = structuredClone(mi);
  return {
    name: spec.name,
    position: index + 1,
    sqlServerKey: spec.sqlServer,
    managedInstanceKey: spec.managedInstance,
    inventory: {
      link: {
        name: spec.name,
        database: spec.database,
        sqlServer: { name: sql.name ?? spec.sqlServer, agName: spec.agName, connection: structuredClone(sql.connection) },
        managedInstance: { name: miName ?? spec.managedInstance, ...miRest },
      },
      arm: structuredClone(fleet.arm),
    },
  };
}

export function expandFleet(fleet: FleetInventory): FleetLink[] {
  return fleet.links.map((_, i) => expandLink(fleet, i));
}

/**
 * The links a wave covers, in the fleet's order. A name the fleet does not have is a problem, as
 * is a name given twice; names are matched as the lock matches them (case and accents folded).
 */
export function selectLinks(fleet: FleetInventory, selection: LinkSelection): { links: FleetLink[]; problems: string[] } {
  const all = expandFleet(fleet);
  if ('all' in selection) return { links: all, problems: [] };
  const problems: string[] = [];
  const wanted = new Set<string>();
  for (const name of selection.names) {
    const key = linkNameKey(name);
    if (wanted.has(key)) problems.push(`link ${name} is named twice`);
    else if (!all.some((l) => linkNameKey(l.name) === key)) problems.push(`the fleet has no link ${name} (links: ${abbreviate(all.map((l) => l.name))})`);
    wanted.add(key);
  }
  return { links: all.filter((l) => wanted.has(linkNameKey(l.name))), problems };
}

/** `--links a,b,c` (or another flag's list of link names) as names; empty entries are a problem, not skipped. */
export function parseLinkList(text: string, flag = '--links'): { names: string[]; problems: string[] } {
  const names = text.split(',').map((n) => n.trim());
  return { names: names.filter((n) => n !== ''), problems: names.some((n) => n === '') ? [`${flag} ${JSON.stringify(text)} has an empty name`] : [] };
}

export function abbreviate(names: string[], max = 8): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
