// BACKUP LOG / BACKUP DATABASE as the link's split-brain fix uses them: a tail-log backup on
// SQL Server, a copy-only full backup to URL on the managed instance. Recorded in msdb.dbo.backupset.
// On the managed instance only what transact-sql-tsql-differences-sql-server.md ("Backup") allows:
// `BACKUP DATABASE ... TO URL ... WITH COPY_ONLY` ("COPY_ONLY is mandatory"; "Differential, log,
// and file snapshot backups aren't supported"; "NORECOVERY, STANDBY, and NO_TRUNCATE aren't
// supported"; only TO URL). Error numbers for these refusals are the lab's choice (README).
import type { ReplyItem } from '../tds/contract.js';
import type { StatementHook } from '../sql/contract.js';
import { hadrErrors } from './errors.js';
import type { ReplicaContext } from './replica-context.js';
import { Cursor, tokenize, tokenValue } from './tokens.js';

export function backupHook(rc: ReplicaContext): StatementHook {
  return (text, { vars, line }) => {
    if (!/^\s*BACKUP\s+(LOG|DATABASE)\b/i.test(text)) return undefined;
    const tokens = tokenize(text);
    if (!tokens) throw hadrErrors.syntax('BACKUP');
    const c = new Cursor(tokens);
    c.kw('BACKUP');
    const kind = c.kw('LOG') ? 'LOG' : (c.kw('DATABASE'), 'DATABASE');
    const dbToken = c.peek();
    const database = dbToken?.kind === 'var' ? String(tokenValue(dbToken, vars) ?? '') : c.name();
    if (dbToken?.kind === 'var') c.pos++;
    if (!database || !c.kw('TO')) throw hadrErrors.syntax(c.near());
    const device = c.kw('DISK') ? 'DISK' : c.kw('URL') ? 'URL' : undefined;
    if (!device || !c.punct('=')) throw hadrErrors.syntax(c.near());
    const target = tokenValue(c.peek(), vars);
    c.pos++;
    if (typeof target !== 'string') throw hadrErrors.syntax(c.near());
    const options = new Set<string>();
    if (c.kw('WITH')) {
      do {
        const opt = c.name();
        if (!opt) throw hadrErrors.syntax(c.near());
        options.add(opt.toUpperCase());
        if (c.punct('=')) c.pos++;
      } while (c.punct(','));
    }
    if (!c.atEnd()) throw hadrErrors.syntax(c.near());
    return runBackup(rc, { kind, database, device, target, options }, line);
  };
}

function runBackup(
  rc: ReplicaContext,
  b: { kind: 'LOG' | 'DATABASE'; database: string; device: 'DISK' | 'URL'; target: string; options: Set<string> },
  line: number,
): ReplyItem[] {
  const link = rc.link;
  if (b.database.toLowerCase() !== link.id.database.toLowerCase()) throw hadrErrors.noSuchDatabase(b.database);
  const onMi = rc.side === 'managedInstance';
  if (onMi && b.device === 'DISK') throw hadrErrors.notSupportedOnMi('DISK');
  if (onMi && b.kind === 'LOG') throw hadrErrors.notSupportedOnMi('BACKUP LOG');
  for (const option of ['NORECOVERY', 'STANDBY', 'NO_TRUNCATE']) if (onMi && b.options.has(option)) throw hadrErrors.notSupportedOnMi(option);
  if (onMi && !b.options.has('COPY_ONLY')) {
    throw hadrErrors.backupTerminated('The managed instance takes its own full backups; use WITH COPY_ONLY.');
  }
  if (b.device === 'URL' && !/^https:\/\//i.test(b.target)) {
    throw hadrErrors.backupTerminated(`Cannot open backup device '${b.target}'. Operating system error 50(The request is not supported.).`);
  }
  link.advance();
  const now = new Date(rc.clock());
  const started = rc.requestArrivedAt === undefined ? now : new Date(rc.requestArrivedAt);
  const rec = link.recordBackup(rc.side, b.kind === 'LOG' ? 'L' : 'D', b.options.has('COPY_ONLY'), b.target, now, started);
  if (b.kind === 'LOG' && b.options.has('NORECOVERY')) {
    link.replicas[rc.side].restoring = true;
    link.changed();
  }
  const pages = 8 + Number((rec.lastLsn - rec.firstLsn) / 100_000n);
  const what = b.kind === 'LOG' ? 'BACKUP LOG' : 'BACKUP DATABASE';
  const file = b.kind === 'LOG' ? `${link.id.database}_log` : link.id.database;
  const info = (number: number, message: string): ReplyItem => ({
    kind: 'info', info: { number, state: 1, class: 0, message, line },
  });
  return [
    info(4035, `Processed ${pages} pages for database '${link.id.database}', file '${file}' on file 1.`),
    info(3014, `${what} successfully processed ${pages} pages in 0.010 seconds (${(pages * 8 / 1024 / 0.01).toFixed(3)} MB/sec).`),
    { kind: 'done' },
  ];
}
