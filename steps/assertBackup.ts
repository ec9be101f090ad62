// assertBackup: refuses to go on unless msdb.dbo.backupset on a replica shows a backup of the
// link database of the kind asked for, started after a given moment: before the link is removed,
// the managed instance's first automatic full backup after the failover (a known issue: without
// it the database can become unavailable after the next restart, MicrosoftDocs/sql-docs
// azure-sql/managed-instance/managed-instance-link-migrate.md, "Known issues with migration");
// before a split-brain demotion, the backup taken earlier in the same run.
//
// A backup is recognised by database name, type, is_copy_only and start time only, on both sides:
// on a managed instance msdb leaves the device and user fields empty ("fields like file path and
// usernames might not be populated", backup-transparency.md), a manual backup there is always
// COPY_ONLY and an automatic one never is ("Use the is_copyonly column to determine whether a
// backup was taken manually or automatically"; the column is is_copy_only), and a row appears
// only when the backup has finished. Times are the server's own: a managed instance keeps msdb in
// its own time zone (ManagedInstances.json, timezoneId), so "since" is turned into that server's
// clock (its SYSDATETIME() less the time elapsed here), or given in it (`sinceServerTime`, read
// from the same server earlier in the run); this machine's clock and time zone never meet msdb's.
import { runSql } from '../engine/drivers/on-demand.js';
import { defineStep, durationMs, durationText, isUnknown, shown, sleep, type ReplicaSide, type StepRunContext } from '../engine/step-api/index.js';
import { asDate } from './support/sql-values.js';

export interface AssertBackupArgs {
  side: string;
  kind: 'full' | 'diff' | 'log';
  copyOnly?: boolean | string;
  since?: string;
  sinceServerTime?: string;
  wait?: string;
  pollInterval?: string;
  skip?: boolean | string;
  reason?: string;
}

/** msdb.dbo.backupset.type: D database (full), I differential, L log. */
const KIND_TYPE = { full: 'D', diff: 'I', log: 'L' } as const;
/** `since` is this machine's clock turned into the server's by elapsed time; allow for the round trip. */
const SLACK_MS = 5_000;
/**
 * msdb's backup_start_date is a datetime, rounded to 1/300 of a second, while SYSDATETIME() is a
 * datetime2: a backup that started just after a time read from the server may show a start a few
 * milliseconds before it (MicrosoftDocs/sql-docs datetime-transact-sql.md, accuracy: "Rounded to
 * increments of .000, .003, or .007 seconds").
 */
const DATETIME_ROUNDING_MS = 4;

export const BACKUP_QUERY = `SELECT TOP (1) bs.backup_start_date, bs.backup_finish_date, SYSDATETIME() AS server_now
FROM msdb.dbo.backupset bs
WHERE bs.database_name = @db AND bs.type = @type AND bs.backup_finish_date IS NOT NULL
  AND (@copyOnly IS NULL OR bs.is_copy_only = @copyOnly)
ORDER BY bs.backup_start_date DESC;`;

function flag(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const t = value.trim().toLowerCase();
    if (t === 'true') return true;
    if (t === 'false') return false;
  }
  return undefined;
}

function what(kind: AssertBackupArgs['kind'] | undefined, copyOnly: boolean | undefined): string {
  const base = kind === 'log' ? 'log backup' : kind === 'diff' ? 'differential backup' : kind === 'full' ? 'full backup' : 'backup';
  return copyOnly === true ? `copy-only ${base}` : copyOnly === false ? `${base} (not copy-only)` : base;
}

/**
 * A server time given as text must be a whole date and time (SYSDATETIME() as CONVERT style 126
 * or 121 prints it, fraction optional; a zone only if the value carries one). A date alone would
 * read as midnight and let a backup from earlier that day count (attack 10, finding 3).
 */
const SERVER_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,7})?([zZ]|[+-]\d\d:?\d\d)?$/;

/**
 * A time read on the server (SYSDATETIME(), CONVERT(..., 126)): its wall clock, compared with
 * msdb's as the driver hands both over (datetime values arrive as UTC-labelled wall clock).
 */
function serverWallClock(text: string): number {
  const t = text.trim();
  if (!SERVER_TIME.test(t)) return Number.NaN;
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(t) ? t : `${t.replace(' ', 'T')}Z`);
}

const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '');

export default defineStep({
  type: 'assertBackup',
  description:
    'Refuses to go on (exit 3) unless msdb.dbo.backupset on a replica shows a finished backup of the link database of the kind asked for (full, differential or log; copy-only or not), started since a given moment by the server\'s own clock; optionally waits for it. Changes nothing.',
  with: {
    type: 'object',
    additionalProperties: false,
    required: ['side', 'kind'],
    properties: {
      side: {
        type: 'string',
        pattern: '^(sqlServer|managedInstance|\\{\\{.*\\}\\})$',
        description: 'The replica whose msdb is read: sqlServer or managedInstance, or a template such as {{otherSide inputs.keep}}.',
      },
      kind: {
        type: 'string',
        pattern: '^(full|diff|log|\\{\\{.*\\}\\})$',
        description: 'Which backups count: full (type D), diff (type I) or log (type L), or a template that renders to one. No other kind satisfies the check: an automatic log backup is not a full backup.',
      },
      copyOnly: {
        type: ['boolean', 'string'],
        description: 'true: only copy-only backups count (every manual backup on a managed instance); false: only regular ones (the automatic backups of a managed instance); absent: both.',
      },
      since: {
        type: 'string',
        description: 'Only backups started since this moment of this machine\'s clock count (ISO 8601); {{run.started}} means "taken in this run". It is turned into the server\'s clock by the time elapsed since.',
      },
      sinceServerTime: {
        type: 'string',
        description: 'Only backups started since this time of the server\'s own clock count, e.g. the output of a SELECT SYSDATETIME() sent to the same replica earlier in the run. Not with since.',
      },
      wait: {
        type: 'string',
        format: 'duration',
        description: 'How long to wait for such a backup, reading msdb every pollInterval (default 0s: one look, no wait).',
      },
      pollInterval: {
        type: 'string',
        format: 'duration',
        description: 'How often msdb is read while waiting (default 5s).',
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
    not: { required: ['since', 'sinceServerTime'] },
  },
  defaults: { wait: '0s', pollInterval: '5s' },
  messages: {
    badSide: 'Expected side to be sqlServer or managedInstance, got {{value}}.',
    badKind: 'Expected kind to be full, diff or log, got {{value}}.',
    badSince: 'The {{field}} value {{value}} is not a time; use {{example}}.',
    sinceFuture:
      'The sinceServerTime value {{value}} is later than {{side}}\'s clock now ({{now}}): it cannot be a moment that has passed there, so no backup can be judged against it. Check the value (it is {{side}}\'s own time, as SELECT SYSDATETIME() there prints it).',
    missing: 'No {{what}} of database {{database}} on {{side}}{{window}}{{waited}}: {{reason}}.',
    waiting: 'No {{what}} of database {{database}} on {{side}}{{window}} yet; waiting (up to {{wait}}).',
    found: 'Found a {{what}} of database {{database}} on {{side}}, started {{started}} and finished {{finished}} (server time).',
    skipped: 'Backup check on {{side}} SKIPPED on request (skip: true): {{reason}}.',
  },
  impact: 'read',
  target: 'none',
  // msdb's backup history as it was then; a resume reads it again rather than trust it.
  resultHolds: 'moment',
  outputs: {
    found: { description: 'True when a matching backup was found.' },
    skipped: { description: 'True when the check was skipped on request (skip: true).' },
    startedAt: { description: 'When the matching backup started (server time, ISO without a zone), or null.' },
    finishedAt: { description: 'When the matching backup finished (server time, ISO without a zone), or null.' },
    side: { description: 'The replica that was checked.' },
  },

  plan(ctx, args: AssertBackupArgs) {
    const side = isUnknown(args.side) ? '(known after apply)' : shown(args.side);
    const skip = flag(args.skip);
    let since = '';
    if (args.since !== undefined) {
      since = isUnknown(args.since) && /run\.started/.test(args.since.from) ? ' taken in this run' : ` started since ${shown(args.since)}`;
    } else if (args.sinceServerTime !== undefined) {
      since = ` started since ${shown(args.sinceServerTime)} (${side}'s clock)`;
    }
    const kind = isUnknown(args.kind) ? undefined : args.kind;
    const description = kind === undefined ? `(known after apply) backup` : what(kind, flag(args.copyOnly));
    const summary = `Check msdb.dbo.backupset on ${side} for a ${description} of [${ctx.inventory.link.database}]${since}`;
    const waitMs = isUnknown(args.wait) ? undefined : durationMs(args.wait, ctx.defaults.wait, 'wait');
    const guards = [
      skip === true
        ? 'SKIPPED on request (skip: true): the run goes on without this backup'
        : `Needs that backup${waitMs === 0 ? '' : ` (waits up to ${durationText(args.wait, ctx.defaults.wait)}, reading every ${durationText(args.pollInterval, ctx.defaults.pollInterval)})`}${args.reason ? `: ${shown(args.reason)}` : ''}`,
    ];
    if (isUnknown(args.skip)) guards.push('Whether it is skipped is known after apply');
    return { summary, guards };
  },

  async run(ctx, args: AssertBackupArgs) {
    if (args.side !== 'sqlServer' && args.side !== 'managedInstance') throw ctx.refuse('badSide', { value: shown(args.side) });
    const side: ReplicaSide = args.side;
    if (typeof args.kind !== 'string' || !Object.hasOwn(KIND_TYPE, args.kind)) throw ctx.refuse('badKind', { value: shown(args.kind) });
    const kind = args.kind;
    const copyOnly = flag(args.copyOnly);
    const database = ctx.inventory.link.database;
    const description = what(kind, copyOnly);
    const reason = (args.reason ?? '').trim().replace(/[.!]+$/, '');

    if (flag(args.skip) === true) {
      ctx.log.warn(ctx.text('skipped', { side, reason: reason || 'no reason given' }));
      return { found: false, skipped: true, startedAt: null, finishedAt: null, side };
    }

    let sinceMs: number | undefined;
    if (args.since !== undefined) {
      sinceMs = Date.parse(args.since);
      if (Number.isNaN(sinceMs)) throw ctx.fail('badSince', { field: 'since', value: JSON.stringify(args.since), example: '{{run.started}} or 2025-01-31T10:00:00Z' });
    }
    let serverSinceMs: number | undefined;
    if (args.sinceServerTime !== undefined) {
      serverSinceMs = serverWallClock(args.sinceServerTime) - DATETIME_ROUNDING_MS;
      if (Number.isNaN(serverSinceMs)) {
        throw ctx.fail('badSince', {
          field: 'sinceServerTime',
          value: JSON.stringify(args.sinceServerTime),
          example: "a date and time on the same replica's clock, such as 2025-01-31T10:00:00.1234567 (SELECT CONVERT(varchar(27), SYSDATETIME(), 126))",
        });
      }
    }
    const waitMs = durationMs(args.wait, ctx.defaults.wait, 'wait');
    const pollMs = Math.max(1, durationMs(args.pollInterval, ctx.defaults.pollInterval, 'pollInterval'));
    const params = { db: database, type: KIND_TYPE[kind], copyOnly: copyOnly === undefined ? null : copyOnly ? 1 : 0 };
    const pool = await ctx.sql(side);
    const deadline = Date.now() + waitMs;
    let window = '';
    let announced = false;
    for (;;) {
      const result = await runSql(pool, BACKUP_QUERY, params, ctx.signal);
      const row = (result.recordset ?? [])[0] as Record<string, unknown> | undefined;
      const started = row ? asDate(row.backup_start_date) : null;
      const finished = row ? asDate(row.backup_finish_date) : null;
      const serverNow = row ? asDate(row.server_now) : null;
      // A moment given on the server's clock that has not come yet there is a wrong value, not a wait.
      if (serverSinceMs !== undefined) {
        const now = serverNow?.getTime() ?? (await serverClock(ctx, side));
        if (serverSinceMs - SLACK_MS > now) {
          throw ctx.refuse('sinceFuture', { value: JSON.stringify(args.sinceServerTime), side, now: iso(now) });
        }
      }
      // The moment on the server's clock from which a backup counts.
      let threshold = serverSinceMs;
      if (sinceMs !== undefined) {
        const now = serverNow?.getTime() ?? (await serverClock(ctx, side));
        threshold = now - (Date.now() - sinceMs) - SLACK_MS;
      }
      window = threshold === undefined ? '' : ` started since ${iso(threshold)} (server time)`;
      const counts = started !== null && finished !== null && (threshold === undefined || started.getTime() >= threshold);
      if (counts) {
        ctx.log.info(ctx.text('found', { what: description, database, side, started: iso(started.getTime()), finished: iso(finished.getTime()) }));
        return { found: true, skipped: false, startedAt: iso(started.getTime()), finishedAt: iso(finished.getTime()), side };
      }
      if (Date.now() + pollMs > deadline) {
        const last = started ? ` (the last one started ${iso(started.getTime())}, server time)` : '';
        const waited = waitMs > 0 ? ` after waiting ${durationText(args.wait, ctx.defaults.wait)}` : '';
        throw ctx.refuse('missing', { what: description, database, side, window: window + last, waited, reason: reason || 'take the backup, then run again' });
      }
      if (!announced) {
        ctx.log.progress(ctx.text('waiting', { what: description, database, side, window, wait: durationText(args.wait, ctx.defaults.wait) }));
        announced = true;
      }
      await sleep(pollMs, ctx.signal);
    }
  },

  // plan --probe: the same reads as a run, without the wait; the outputs (and any refusal) are what a run would see now.
  probe(ctx, args: AssertBackupArgs) {
    return this.run(ctx, { ...args, wait: '0s' });
  },
});

/** The server's clock when msdb has no row to carry it (no backup of that kind at all). */
async function serverClock(ctx: StepRunContext, side: ReplicaSide): Promise<number> {
  const result = await runSql(await ctx.sql(side), 'SELECT SYSDATETIME() AS server_now;', {}, ctx.signal);
  const now = asDate((result.recordset ?? [])[0]?.server_now);
  return now ? now.getTime() : Date.now();
}
