// What a fleet inventory's schema cannot say: every link's `sqlServer:` and `managedInstance:` name a
// declared server; no two links are one link (the lock's fold: two names a server collation may
// call equal share one lock, so they cannot be two runs of one wave); no database and no
// availability group is in two links of one SQL Server (a database joins one link; a link's mode
// change and failover act on its AG, which another link must not claim; both compared as a
// case-insensitive server compares names: case-folded, trailing spaces ignored (MicrosoftDocs/
// sql-docs, t-sql/language-elements/string-comparison-assignment.md: the engine pads the shorter
// string with spaces before `=`, so 'abc' and 'abc ' are equal)); names that reach T-SQL are one line of visible
// characters, identifiers at most 128 (engine/validate/sql-names.ts), and a link name holds no
// comma (`--links` and `--allow-data-loss` are comma-separated lists of them).
import { diag, type Diagnostic } from '../core/diagnostics.js';
import { isRecord } from '../core/record.js';
import { sqlNameProblem } from './sql-names.js';
import { linkNameKey } from '../drivers/sql/link-name-key.js';
import type { LoadedYaml } from '../load/yaml.js';

const REFERENCES = [
  { key: 'sqlServer', table: 'sqlServers', what: 'SQL Server' },
  { key: 'managedInstance', table: 'managedInstances', what: 'managed instance' },
] as const;

/** A database or AG name as the server's `=` sees it under a case-insensitive collation (see above). */
function serverNameKey(sqlServer: string, name: string): string {
  return `${sqlServer}\u0000${name.toLowerCase().replace(/ +$/u, '')}`;
}

export function fleetDiagnostics(file: string, doc: LoadedYaml): Diagnostic[] {
  const out: Diagnostic[] = [];
  const v = doc.value;
  if (!isRecord(v) || !Array.isArray(v.links)) return out;
  const at = (pointer: string, which: 'value' | 'key' = 'value') => ({ file, ...doc.locate(pointer, which), path: pointer });
  const oneLine = (pointer: string, value: unknown, name: string, identifier = false) => {
    const problem = typeof value === 'string' ? sqlNameProblem(name, value, identifier) : undefined;
    if (problem) out.push(diag('bad-value', problem, at(pointer)));
  };
  for (const table of ['sqlServers', 'managedInstances'] as const) {
    const servers = isRecord(v[table]) ? v[table] : {};
    for (const [key, server] of Object.entries(servers)) {
      if (isRecord(server)) oneLine(`/${table}/${key}/name`, server.name, 'name');
    }
  }
  const names = new Map<string, number>();
  const databases = new Map<string, number>();
  const groups = new Map<string, number>();
  v.links.forEach((link, i) => {
    if (!isRecord(link)) return;
    const p = `/links/${i}`;
    for (const k of ['name', 'database', 'agName']) oneLine(`${p}/${k}`, link[k], k, true);
    if (typeof link.name === 'string' && link.name.includes(',')) {
      out.push(diag('bad-value', `Link name \`${link.name}\` holds a comma: --links and --allow-data-loss take comma-separated link names, so it could never be named there.`, at(`${p}/name`)));
    }
    for (const ref of REFERENCES) {
      const declared = isRecord(v[ref.table]) ? Object.keys(v[ref.table] as object) : [];
      const given = link[ref.key];
      if (typeof given === 'string' && !declared.includes(given)) {
        out.push(diag('unknown-server', `Link \`${String(link.name)}\` refers to ${ref.what} \`${given}\`, which \`${ref.table}:\` does not declare (declared: ${declared.join(', ') || 'none'}).`, at(`${p}/${ref.key}`)));
      }
    }
    if (typeof link.name === 'string') {
      const key = linkNameKey(link.name);
      const first = names.get(key);
      if (first !== undefined) {
        out.push(diag('duplicate-link', `Link \`${link.name}\` is link ${first + 1} again (${String((v.links as Record<string, unknown>[])[first]?.name)}): link names a server may compare as equal share one lock, so they cannot be two links of one fleet.`, at(`${p}/name`)));
      } else names.set(key, i);
    }
    if (typeof link.database === 'string' && typeof link.sqlServer === 'string') {
      const key = serverNameKey(link.sqlServer, link.database);
      const first = databases.get(key);
      if (first !== undefined) {
        out.push(diag('duplicate-database', `Database \`${link.database}\` on SQL Server \`${link.sqlServer}\` is already in link ${first + 1}: a database joins one link.`, at(`${p}/database`)));
      } else databases.set(key, i);
    }
    if (typeof link.agName === 'string' && typeof link.sqlServer === 'string') {
      const key = serverNameKey(link.sqlServer, link.agName);
      const first = groups.get(key);
      if (first !== undefined) {
        out.push(diag('duplicate-ag', `Availability group \`${link.agName}\` on SQL Server \`${link.sqlServer}\` is already in link ${first + 1}: each link has its own local availability group.`, at(`${p}/agName`)));
      } else groups.set(key, i);
    }
  });
  return out;
}
