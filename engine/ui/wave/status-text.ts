// `runbook status` as a table: one row per link, each side's role, mode and sync state, how far
// behind, what ARM says, and the verdict; the problems of unhealthy links below it.
import type { LinkStatus, SideStatus } from '../../fleet/status.js';
import { plainStyle, type Style } from '../style.js';

const MODE: Record<string, string> = { SYNCHRONOUS_COMMIT: 'sync', ASYNCHRONOUS_COMMIT: 'async' };

function side(s: SideStatus): string {
  if (!s.read) return 'UNREADABLE';
  return [s.role ?? '?', s.mode ? MODE[s.mode] ?? s.mode : undefined, s.sync].filter(Boolean).join(' ');
}

function behind(l: LinkStatus): string {
  const kb = Math.max(l.sqlServer.kbBehind ?? -1, l.managedInstance.kbBehind ?? -1);
  const sec = Math.max(l.sqlServer.secondsBehind ?? -1, l.managedInstance.secondsBehind ?? -1);
  return `${kb < 0 ? '-' : `${kb} KB`} / ${sec < 0 ? '-' : `${sec} s`}`;
}

function arm(l: LinkStatus): string {
  if (!l.arm.read) return 'UNREADABLE';
  if (!l.arm.exists) return 'no link';
  return `MI ${l.arm.instanceRole ?? '?'}, ${l.arm.mode ?? '?'}`;
}

export function renderStatusText(links: LinkStatus[], style: Style = plainStyle): string {
  const head = ['link', 'database', 'SQL Server', 'managed instance', 'behind', 'ARM', 'health'];
  const rows = links.map((l) => [l.link, l.database, side(l.sqlServer), side(l.managedInstance), behind(l), arm(l), l.healthy ? 'healthy' : 'UNHEALTHY']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [style.bold(line(head)), ...rows.map((r, i) => (links[i]!.healthy ? line(r) : style.red(line(r))))];
  const sick = links.filter((l) => !l.healthy);
  for (const l of sick) out.push(`${l.link}: ${l.problems.join('; ')}`);
  out.push(`${links.length} link(s): ${links.length - sick.length} healthy, ${sick.length} unhealthy`);
  return out.join('\n') + '\n';
}
