// Each link of a wave runs on a single-link inventory the wave writes for it under the wave's
// directory, `<wave-dir>/<wave-id>/<nnn>-<link>.yml`: a pure function of the (sha256-checked)
// fleet inventory, so a resume can tell a file edited by hand from the one the wave wrote, and
// write a lost one again.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Plan } from '../plan/types.js';
import type { FleetLink } from './expand.js';

/** A link of a wave: its fleet entry, its plan and the inventory file its run reads. */
export type PlannedLink = FleetLink & { plan: Plan; file: string };

/** Where the wave writes a link's inventory: the fleet position keeps the names apart and in order. */
export function linkInventoryFile(linkDir: string, link: Pick<FleetLink, 'name' | 'position'>): string {
  return join(linkDir, `${String(link.position).padStart(3, '0')}-${link.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.yml`);
}

export function linkInventoryText(fleetFile: string, link: Pick<FleetLink, 'name' | 'inventory'>): string {
  return `# Link ${link.name} of ${fleetFile}, written by a runbook wave; do not edit (its run checks it is unchanged).\n${JSON.stringify(link.inventory, null, 2)}\n`;
}

export function writeLinkInventory(fleetFile: string, link: Pick<PlannedLink, 'name' | 'inventory' | 'file'>): void {
  mkdirSync(dirname(link.file), { recursive: true });
  // Created, never overwritten: a file (or a symbolic link) already there is not written through.
  writeFileSync(link.file, linkInventoryText(fleetFile, link), { mode: 0o600, flag: 'wx' });
}
