// assertBackup: refuses to go on unless msdb.dbo.backupset on a replica shows a backup of the
// link database: before the link is removed, the managed instance's first full backup (a known
// issue: without it the database can become unavailable after the next restart); before a
// split-brain demotion, the backup taken earlier in the same run. "In this run" is judged with
// the server's own clock (its GETDATE() against the backup's finish time), so time zones and
// clock skew between this machine and the server do not matter.
import { runSql } from '../engine/drivers/sql/pool.js';
import { defineStep, isUnknown, shown, type ReplicaSide } from '../engine/step-api/index.js';
import { asDate } from './support/sql-values.js';

export interface AssertBackupArgs {
  side: string;
  kind?: 'full' | 'log' | 'any';
  copyOnly?: boolean | string;
  since?: string;
  skip?: boolean | string;
  reason?: string;
}

const KIND_TYPE = { full: 'D', log: 'L' } as const;
/** Server and step run apart by a little; a backup finished this much before the run started still counts. */
const SLACK_MS = 5_000;

export const BACKUP_QUERY = `SELECT TOP (1) bs.type, bs.is_copy_only, bs.backup_finish_date, GETDATE() AS server_now
FROM msdb.dbo.backupset bs
WHERE bs.database_name = @db AND bs.backup_finish_date IS NOT NULL
  AND (@type IS NULL OR bs.type = @type)
  AND (@copyOnly IS NULL OR bs.is_copy_only = @copyOnly)
ORDER BY bs.backup_finish_date DESC;`;

function flag(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const t = value.trim().toLowerCase();
    if (t === 'true') return true;
    if (t === 'false') return false;
  }
  return undefined;
}

function what(kind: AssertBackupArgs['kind'], copyOnly: boolean | undefined): string {
  const base = kind === 'log' ? 'log backup' : kind === 'full' ? 'full backup' : 'backup';
  return copyOnly === true ? `copy-only ${base}` : copyOnly === false ? `${base} (not copy-only)` : base;
}

export default defineStep({
  type: 'assertBackup',
  description:
    'Refuses to go on (exit 3) unless msdb.dbo.backupset on a replica shows a backup of the link database (of a kind, optionally finished since a given time, e.g. this run). Changes nothing.',
  with: {
    type: 'object',
    additionalProperties: false,
    required: ['side'],
    properties: {
      side: {
        type: 'string',
        pattern: '^(sqlServer|managedInstance|\\{\\{.*\\}\\})$',
        description: 'The replica whose msdb is read: sqlServer or managedInstance, or a template such as {{otherSide inputs.keep}}.',
      },
      kind: { enum: ['full', 'log', 'any'], description: 'Which backups count: full (type D), log (type L) or any (the default).' },
      copyOnly: {
        type: ['boolean', 'string'],
        description: 'true: only copy-only backups count; false: only regular ones (the automatic backups of a managed instance); absent: both.',
      },
      since: {
        type: 'string',
        description: 'Only backups finished since this time count (ISO 8601); {{run.started}} means "taken in this run".',
      },
      skip: {
        type: ['boolean', 'string'],
        description: 'true: do not check, pass with a warning that says so (journaled); for an operator who explicitly accepts the risk.',
      },
      reason: {
        type: 'string',
        description: 'Why the backup matters and what to do without it; added to the refusal.',
      },
    },
  },
  messages: {
    badSide: 'Expected side to be sqlServer or managedInstance, got {{value}}.',
    badSince: 'The since value {{value}} is not a time; use {{example}}.',
    missing: 'No {{what}} of database {{database}} on {{side}}{{window}}: {{reason}}.',
    found: 'Found a {{what}} of database {{database}} on {{side}}, finished {{finished}} (server time).',
    skipped: 'Backup check on {{side}} SKIPPED on request (skip: true): {{reason}}.',
  },
  impact: 'read',
  target: 'none',
  // msdb's backup history as it was then; a resume reads it again rather than trust it.
  resultHolds: 'moment',
  outputs: {
    found: { description: 'True when a matching backup was found.' },
    skipped: { description: 'True when the check was skipped on request (skip: true).' },
    finishedAt: { description: 'When the matching backup finished (ISO, server time), or null.' },
    side: { description: 'The replica that was checked.' },
  },

  plan(ctx, args: AssertBackupArgs) {
    const side = isUnknown(args.side) ? '(known after apply)' : shown(args.side);
    const skip = flag(args.skip);
    const since = args.since === undefined ? '' : isUnknown(args.since) && /run\.started/.test(args.since.from) ? ' taken in this run' : ` finished since ${shown(args.since)}`;
    const kind = args.kind ?? 'any';
    const summary = `Check msdb.dbo.backupset on ${side} for a ${what(kind, flag(args.copyOnly))} of [${ctx.inventory.link.database}]${since}`;
    const guards = [
      skip === true
        ? 'SKIPPED on request (skip: true): the run goes on without this backup'
        : `Needs that backup${args.reason ? `: ${shown(args.reason)}` : ''}`,
    ];
    if (isUnknown(args.skip)) guards.push('Whether it is skipped is known after apply');
    return { summary, guards };
  },

  async run(ctx, args: AssertBackupArgs) {
    if (args.side !== 'sqlServer' && args.side !== 'managedInstance') throw ctx.refuse('badSide', { value: shown(args.side) });
    const side: ReplicaSide = args.side;
    const kind = args.kind ?? 'any';
    const copyOnly = flag(args.copyOnly);
    const database = ctx.inventory.link.database;
    const description = what(kind, copyOnly);
    const reason = (args.reason ?? '').trim().replace(/[.!]+$/, '');

    if (flag(args.skip) === true) {
      ctx.log.warn(ctx.text('skipped', { side, reason: reason || 'no reason given' }));
      return { found: false, skipped: true, finishedAt: null, side };
    }

    let sinceMs: number | undefined;
    if (args.since !== undefined) {
      sinceMs = Date.parse(args.since);
      if (Number.isNaN(sinceMs)) throw ctx.fail('badSince', { value: JSON.stringify(args.since), example: '{{run.started}} or 2025-01-31T10:00:00Z' });
    }

    const params = {
      db: database,
      type: kind === 'any' ? null : KIND_TYPE[kind],
      copyOnly: copyOnly === undefined ? null : copyOnly ? 1 : 0,
    };
    const result = await runSql(await ctx.sql(side), BACKUP_QUERY, params, ctx.signal);
    const row = (result.recordset ?? [])[0] as Record<string, unknown> | undefined;
    const finished = row ? asDate(row.backup_finish_date) : null;
    const serverNow = row ? asDate(row.server_now) : null;

    let recentEnough = true;
    if (sinceMs !== undefined && finished && serverNow) {
      // How long ago the backup finished, by the server's clock, against how long ago `since` was, by ours.
      const backupAge = serverNow.getTime() - finished.getTime();
      const sinceAge = Date.now() - sinceMs;
      recentEnough = backupAge <= sinceAge + SLACK_MS;
    }
    if (!finished || !recentEnough) {
      const window = sinceMs === undefined ? '' : ` since ${new Date(sinceMs).toISOString()}${finished ? ` (the last one finished ${finished.toISOString()}, server time)` : ''}`;
      throw ctx.refuse('missing', { what: description, database, side, window, reason: reason || 'take the backup, then run again' });
    }
    ctx.log.info(ctx.text('found', { what: description, database, side, finished: finished.toISOString() }));
    return { found: true, skipped: false, finishedAt: finished.toISOString(), side };
  },

  // plan --probe: the same reads as a run; the outputs (and any refusal) are what a run would see now.
  probe(ctx, args: AssertBackupArgs) {
    return this.run(ctx, args);
  },
});
