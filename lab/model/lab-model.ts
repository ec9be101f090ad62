// The whole lab's state: its links, the statement log, app locks, faults and the version number
// the SQL engines use to know when to refresh their tables.
import type { TablePart, TableRows } from '../sql/contract.js';
import { AppLocks } from './applocks.js';
import { Faults } from './faults.js';
import { LinkModel } from './link.js';
import { fleetLinkNames, LAB_DATABASE, LAB_RESOURCE_GROUP, LAB_SUBSCRIPTION, linkNames, type LinkNames } from './names.js';
import type { ReplicaContext, SessionMeta } from './replica-context.js';
import { Holds } from './holds.js';
import { StatementLog } from './statement-log.js';
import { BACKUP_TABLES, HADR_TABLES, replicaTables, type ReplicaTables } from './tables.js';
import { appLockRows, connectionRows } from './server-state.js';
import { labAppLockRows, ledgerRows, statementLogRows } from './lab-tables.js';
import type { ScenarioSpec, Side } from './types.js';

export interface LabModelOptions {
  scenario: ScenarioSpec;
  links: number;
  clock?: () => number;
  /**
   * Ends the TDS sessions of one replica that `which` picks, by session id (wired to
   * TdsServer.dropSessions by startLab).
   */
  dropSessions?: (linkIndex: number, side: Side, which: (sessionId: number) => boolean) => void;
  /** Delay between a role change's (or KILL's) reply and the dropped sessions, so the reply gets out. */
  dropDelayMs?: number;
  /** Other names for a link's objects than dag1/ag1/... (hostile-name tests). */
  names?: (index: number) => Partial<LinkNames>;
  /**
   * All links on one SQL Server and one managed instance (a fleet): each side's sessions are the
   * server's, not a link's, and its tables show every link (serverTables).
   */
  sharedServers?: boolean;
  /** A link's own scenario (a fleet's link 7 lagging); the lab's scenario otherwise. */
  scenarioOf?: (index: number) => ScenarioSpec | undefined;
}

export class LabModel {
  readonly links: LinkModel[];
  readonly statementLog: StatementLog;
  readonly applocks: AppLocks;
  readonly faults: Faults;
  readonly clock: () => number;
  readonly startedAt: Date;
  private versionNumber = 1;
  private lagSecond = 0;
  /** Changes of each link (its own `changed`), and bumps of everything (bump(), the lag tick): what a link's cached HADR rows were built at. */
  private readonly linkVersions: number[] = [];
  private everything = 0;
  /** Changes of each link's backup history (its msdb rows). */
  private readonly backupVersions: number[] = [];
  /**
   * Each link's HADR view rows as last built, per side: they change only with the link (or with
   * everything), and a fleet's server otherwise rebuilt every link's rows when one link changed.
   */
  private readonly hadrRows = new Map<string, { builtAt: string; rows: Partial<ReplicaTables> }>();
  /** Versions of the parts of the state that only some tables show (versionOf). */
  private readonly partVersions: Record<StatePart, number> = { backups: 0, sessions: 0, applocks: 0, log: 0 };
  private logDirty = false;
  private logWanted = false;
  /** Replicas whose engine tables hold the statement log as of their last refresh. */
  private readonly logLoaded = new Set<string>();
  private readonly sessions = new Map<string, Map<number, SessionMeta>>();
  /** Session ids whose session ended, most recently freed last (a lab that gives them again: lab/backend-sql.ts). */
  private readonly freedSessionIds = new Map<string, number[]>();
  private readonly lingering = new Map<string, Array<() => void>>();
  private readonly deniedViews = new Map<string, string[]>();
  readonly holds = new Holds();
  /** Successful logins per server name: how many sessions clients opened (a fleet's pooling is counted here). */
  readonly logins = new Map<string, number>();
  /** Sessions open now per server name, and the most there were at once. */
  readonly openSessions = new Map<string, number>();
  readonly peakSessions = new Map<string, number>();
  dropSessions: (linkIndex: number, side: Side, which: (sessionId: number) => boolean) => void;

  /** A login succeeded on `server`: counted, and the session is open until sessionEnded. */
  sessionStarted(server: string): void {
    this.logins.set(server, (this.logins.get(server) ?? 0) + 1);
    const open = (this.openSessions.get(server) ?? 0) + 1;
    this.openSessions.set(server, open);
    if (open > (this.peakSessions.get(server) ?? 0)) this.peakSessions.set(server, open);
  }

  sessionEnded(server: string): void {
    this.openSessions.set(server, Math.max(0, (this.openSessions.get(server) ?? 0) - 1));
  }

  constructor(readonly options: LabModelOptions) {
    this.clock = options.clock ?? Date.now;
    this.startedAt = new Date(this.clock());
    const bump = () => void this.versionNumber++;
    // The log grows with every statement; reloading it into every engine on every query would make
    // each query slower than the last, so only queries that read it refresh (see logChanged).
    this.statementLog = new StatementLog(() => void (this.logDirty = true));
    this.applocks = new AppLocks(() => void this.partVersions.applocks++);
    this.faults = new Faults(options.scenario.faults, this.clock());
    this.dropSessions = options.dropSessions ?? (() => {});
    this.links = Array.from({ length: options.links }, (_, index) => {
      const names = { ...(options.sharedServers ? fleetLinkNames(index) : linkNames(index)), ...options.names?.(index) };
      // Each link gets its own copy: run-time changes (setWorkload) must not leak across links.
      const scenario = structuredClone(options.scenarioOf?.(index) ?? options.scenario);
      const link = new LinkModel(
        {
          index, name: names.dag, database: names.database ?? LAB_DATABASE, databaseId: options.sharedServers ? 5 + index : 5, sqlServerName: names.sqlServer,
          agName: names.ag, miName: names.mi, miAgName: scenario.managedInstance.availabilityGroupName ?? names.mi, resourceGroup: LAB_RESOURCE_GROUP, subscriptionId: LAB_SUBSCRIPTION,
          sqlVersion: scenario.sqlServer.version, tier: scenario.managedInstance.tier,
        },
        scenario,
        this.clock,
        () => {
          this.linkVersions[index] = (this.linkVersions[index] ?? 0) + 1;
          bump();
        },
        () => {
          this.partVersions.backups++;
          this.backupVersions[index] = (this.backupVersions[index] ?? 0) + 1;
        },
      );
      link.setDownCheck((side, now) => this.faults.downState(index, side, now) !== 'up');
      return link;
    });
  }

  /** Changes whenever anything a table shows may have changed (time passing included). */
  version(): number {
    const now = this.clock();
    for (const link of this.links) link.advance(now);
    // While a link has log unsent, its secondary_lag_seconds grows with time alone: a second later
    // is a change (logins and backups, which no longer reload the HADR views, used to hide this).
    const second = Math.floor(now / 1000);
    if (second !== this.lagSecond && this.links.some((l) => l.pending.length > 0)) {
      this.lagSecond = second;
      this.bump();
    }
    return this.versionNumber + this.partVersions.backups + this.partVersions.sessions + this.partVersions.applocks + this.partVersions.log;
  }

  /**
   * The version of one table's rows: moves with everything (bump) and with the one part of the
   * state it shows. A login, an app lock, a backup or the statement log growing reloads only its
   * own tables; on a fleet's server every other table holds every link's rows, and reloading them
   * all on each of these made each query's cost grow with the fleet.
   */
  versionOf(table: string): number {
    const part = PART_OF_TABLE[table];
    return this.versionNumber + (part ? this.partVersions[part] : 0);
  }

  /** Anything may have changed: every table is reloaded when next read. */
  bump(): void {
    this.versionNumber++;
    this.everything++;
  }

  /** A session began or ended: sys.dm_exec_connections changed. */
  sessionsChanged(): void {
    this.partVersions.sessions++;
  }

  /**
   * Called before each request: the statement log is only loaded into a replica's tables for
   * requests that read it (it grows with every statement; reloading it on every refresh would
   * make each query slower than the last).
   */
  beginRequest(linkIndex: number, side: Side, sql: string): void {
    const key = `${linkIndex}/${side}`;
    this.logWanted = /statement_log/i.test(sql);
    if (this.logWanted && (this.logDirty || !this.logLoaded.has(key))) this.partVersions.log++;
    if (this.logWanted) this.logDirty = false;
  }

  link(nameOrIndex: string | number): LinkModel {
    const link = typeof nameOrIndex === 'number'
      ? this.links[nameOrIndex]
      : this.links.find((l) => l.name.toLowerCase() === nameOrIndex.toLowerCase());
    if (!link) throw new Error(`no link ${JSON.stringify(nameOrIndex)} in this lab`);
    return link;
  }

  /** Takes a replica down (its listener refuses) or brings it back, overriding the scenario. */
  setDown(linkIndex: number, side: Side, down: boolean | 'refuse' | 'hang'): void {
    this.faults.setDown(linkIndex, side, down);
    this.links[linkIndex].advance();
    this.bump();
    if (down) this.dropSessions(linkIndex, side, () => true);
  }

  sessionsOf(linkIndex: number, side: Side): Map<number, SessionMeta> {
    const key = this.options.sharedServers ? side : `${linkIndex}/${side}`;
    let m = this.sessions.get(key);
    if (!m) this.sessions.set(key, (m = new Map()));
    return m;
  }

  /**
   * From now on, a session of this server whose connection closes stays, with its locks, until
   * `end()`: a server that has not yet noticed that its client went (a client that closed a silent
   * connection behind a stateful firewall; the server learns it from TCP keepalives, minutes later).
   */
  lingerSessions(linkIndex: number, side: Side): { end(): void } {
    const key = this.options.sharedServers ? side : `${linkIndex}/${side}`;
    const ends: Array<() => void> = [];
    this.lingering.set(key, ends);
    return {
      end: () => {
        if (this.lingering.get(key) === ends) this.lingering.delete(key);
        for (const end of ends.splice(0)) end();
      },
    };
  }

  /** Whether the end of a session whose connection closed waits (lingerSessions); `end` runs then. */
  deferSessionEnd(linkIndex: number, side: Side, end: () => void): boolean {
    const ends = this.lingering.get(this.options.sharedServers ? side : `${linkIndex}/${side}`);
    ends?.push(end);
    return ends !== undefined;
  }

  /**
   * From now on, statements that read one of `views` on this server fail as for a login without
   * VIEW SERVER STATE (error 300, which ends the statement, not the batch). Undone by `allow()`.
   */
  denyViews(linkIndex: number, side: Side, views: string[]): { allow(): void } {
    const key = this.options.sharedServers ? side : `${linkIndex}/${side}`;
    const denied = views.map((v) => v.toLowerCase());
    this.deniedViews.set(key, denied);
    return { allow: () => void (this.deniedViews.get(key) === denied && this.deniedViews.delete(key)) };
  }

  /** The views denied on this server (denyViews), lower case. */
  deniedViewsOf(linkIndex: number, side: Side): readonly string[] {
    return this.deniedViews.get(this.options.sharedServers ? side : `${linkIndex}/${side}`) ?? [];
  }

  /** A session of this server ended: its id may be given again. */
  freeSessionId(linkIndex: number, side: Side, sessionId: number): void {
    const key = this.options.sharedServers ? side : `${linkIndex}/${side}`;
    let ids = this.freedSessionIds.get(key);
    if (!ids) this.freedSessionIds.set(key, (ids = []));
    if (!ids.includes(sessionId)) ids.push(sessionId);
  }

  /** Whether a session id is free to be given again (its session ended and its connection is gone). */
  isSessionIdFree(linkIndex: number, side: Side, sessionId: number): boolean {
    return (this.freedSessionIds.get(this.options.sharedServers ? side : `${linkIndex}/${side}`) ?? []).includes(sessionId);
  }

  /** The most recently freed session id no session has now, taken off the list; undefined if none. */
  reusableSessionId(linkIndex: number, side: Side): number | undefined {
    const ids = this.freedSessionIds.get(this.options.sharedServers ? side : `${linkIndex}/${side}`) ?? [];
    const sessions = this.sessionsOf(linkIndex, side);
    while (ids.length) {
      const id = ids.pop()!;
      if (!sessions.has(id)) return id;
    }
    return undefined;
  }

  replicaContext(linkIndex: number, side: Side): ReplicaContext {
    const link = this.links[linkIndex];
    return {
      link,
      linkIndex,
      side,
      serverName: link.replicas[side].serverName,
      applocks: this.applocks,
      sessions: this.sessionsOf(linkIndex, side),
      clock: this.clock,
      // Which sessions a role change ends. MicrosoftDocs/sql-docs,
      // docs/database-engine/availability-groups/windows/
      //  - about-client-connection-access-to-availability-replicas-sql-server.md: "During the
      //    failover process, all client connections to both the primary replica and secondary
      //    replicas are terminated";
      //  - overview-of-always-on-availability-groups-sql-server.md: "Each availability replica
      //    hosts a copy of the availability databases", its role "is inherited by the availability
      //    databases of that replica", and "The primary replica makes the primary databases
      //    available for read-write connections from clients": a connection to a replica is one to
      //    its availability databases;
      //  - listeners-client-connectivity-application-failover.md ("Bypass listeners"): connecting
      //    to the instance directly, "the instance ... will verify the state of the targeted
      //    database and either allow or disallow connectivity": access is decided per database;
      //  - failover-and-failover-modes-always-on-availability-groups.md: the old primary "changes
      //    the state of the primary databases to DISCONNECTED and disconnects all clients".
      // master, msdb and tempdb are in no availability group (only a contained AG has its own
      // master and msdb, and the link's DAG cannot be contained: contained-availability-groups-
      // overview.md, "Not supported: Distributed availability groups"), so sessions in them stay.
      // The MI link articles (managed-instance-link-failover-how-to.md) say only that applications
      // must be repointed; they are silent on sessions.
      dropLinkDatabaseSessions: (sides) => {
        const database = link.id.database.toLowerCase();
        for (const s of sides) {
          // Chosen now, at the role change: a session that enters the database later is a new
          // connection to the new role and stays; one that left it for master stays too.
          const victims = new Set([...this.sessionsOf(linkIndex, s).values()].filter((m) => m.database.toLowerCase() === database).map((m) => m.sessionId));
          if (victims.size) this.afterReply(() => this.dropSessions(linkIndex, s, (id) => victims.has(id)));
        }
      },
      endSession: (sessionId) => {
        this.sessionsOf(linkIndex, side).delete(sessionId);
        this.sessionsChanged();
        this.applocks.releaseSession(link.replicas[side].serverName, sessionId);
        // The id is free only once its connection is gone: freed at once, a login in between could
        // be given it and then be the connection dropped by id.
        this.afterReply(() => {
          this.dropSessions(linkIndex, side, (id) => id === sessionId);
          this.freeSessionId(linkIndex, side, sessionId);
        });
      },
    };
  }

  private afterReply(drop: () => void): void {
    setTimeout(drop, this.options.dropDelayMs ?? 30).unref();
  }

  /**
   * Everything a server holding `linkIndexes`' replicas serves, or only the tables named in
   * `wanted`: each link's rows of the catalog views and DMVs together (as one server lists all its
   * groups), the system databases once, and the server's own tables (the lab's, the server-wide
   * DMVs) once, not once per link.
   */
  serverTables(linkIndexes: number[], side: Side, wanted?: ReadonlySet<string>): TableRows {
    const now = this.clock();
    const out: TableRows = {};
    for (const index of linkIndexes) {
      const link = this.links[index]!;
      link.advance(now);
      const part = wanted ? this.linkTables(index, side, now, wanted) : replicaTables(link, side, now, this.startedAt);
      for (const [name, rows] of Object.entries(part)) {
        if (wanted && !wanted.has(name)) continue;
        (out[name] ??= []).push(...rows);
      }
    }
    const databases = out['sys.databases'];
    if (databases && linkIndexes.length > 1) {
      const seen = new Set<unknown>();
      out['sys.databases'] = databases.filter((r) => !seen.has(r.name) && (seen.add(r.name), true));
    }
    return Object.assign(out, this.serverOwnTables(linkIndexes[0]!, side, now, wanted));
  }

  /**
   * `table` as a server holding `linkIndexes`' replicas shows it, in parts that change apart: a
   * table of each link's own rows (the HADR views, msdb's backup history) has a part per link,
   * whose version moves only with that link (or with everything: the lag tick, a replica taken
   * down), so a fleet's server reloads the links that changed, not every link on each query; the
   * other tables (sys.databases, which lists the system databases once, and the server's own) are
   * one part, at their versionOf. Asked right after version(), which brought every link to now.
   */
  tableParts(linkIndexes: number[], side: Side, table: string): TablePart[] {
    const wanted = new Set([table]);
    if (!PER_LINK_TABLES.has(table)) {
      return [{ key: 'server', version: String(this.versionOf(table)), rows: () => this.serverTables(linkIndexes, side, wanted)[table] ?? [] }];
    }
    const now = this.clock();
    const backups = BACKUP_SET.has(table);
    return linkIndexes.map((index) => ({
      key: String(index),
      version: `${this.linkVersions[index] ?? 0}/${this.everything}${backups ? `/${this.backupVersions[index] ?? 0}` : ''}`,
      rows: () => (this.linkTables(index, side, now, wanted) as TableRows)[table] ?? [],
    }));
  }

  /** The tables of `wanted` one link shows; its HADR views from the cache while the link did not change. */
  private linkTables(index: number, side: Side, now: number, wanted: ReadonlySet<string>): Partial<ReplicaTables> {
    const link = this.links[index]!;
    if (!HADR_TABLES.some((name) => wanted.has(name))) return replicaTables(link, side, now, this.startedAt, wanted);
    const key = `${index}/${side}`;
    const builtAt = `${this.linkVersions[index] ?? 0}/${this.everything}`;
    let hadr = this.hadrRows.get(key);
    if (hadr?.builtAt !== builtAt) this.hadrRows.set(key, (hadr = { builtAt, rows: replicaTables(link, side, now, this.startedAt, HADR_SET) }));
    const others = [...wanted].filter((name) => !HADR_SET.has(name));
    return { ...(others.length ? replicaTables(link, side, now, this.startedAt, new Set(others)) : {}), ...hadr.rows };
  }

  /** The lab's own tables and the server-wide DMVs of the server holding `linkIndex`'s `side`. */
  private serverOwnTables(linkIndex: number, side: Side, now: number, wanted?: ReadonlySet<string>): TableRows {
    const rows: TableRows = {};
    const want = (name: string) => !wanted || wanted.has(name);
    if (want('lab.statement_log')) {
      const key = `${linkIndex}/${side}`;
      if (this.logWanted) this.logLoaded.add(key);
      else this.logLoaded.delete(key);
      rows['lab.statement_log'] = statementLogRows(this.logWanted ? this.statementLog.all() : []);
    }
    if (want('lab.ledger')) rows['lab.ledger'] = ledgerRows(this.links, now);
    const serverName = this.links[linkIndex]!.replicas[side].serverName;
    if (want('sys.dm_exec_connections')) rows['sys.dm_exec_connections'] = connectionRows(this.sessionsOf(linkIndex, side).values());
    if (want('sys.dm_tran_locks')) {
      rows['sys.dm_tran_locks'] = appLockRows(this.applocks.rows(), serverName, (name) =>
        this.links.find((l) => l.replicas[side].serverName === serverName && l.id.database.toLowerCase() === name.toLowerCase())?.id.databaseId ?? null);
    }
    if (want('lab.applocks')) rows['lab.applocks'] = labAppLockRows(this.applocks.rows());
    return rows;
  }
}

const HADR_SET: ReadonlySet<string> = new Set(HADR_TABLES);
const BACKUP_SET: ReadonlySet<string> = new Set(BACKUP_TABLES);
/** The tables whose rows are each link's own, built from that link alone (replicaTables). */
const PER_LINK_TABLES: ReadonlySet<string> = new Set([...HADR_TABLES, ...BACKUP_TABLES]);

type StatePart = 'backups' | 'sessions' | 'applocks' | 'log';

/** The tables that show only one part of the state (the rest show the links, and follow bump()). */
const PART_OF_TABLE: Record<string, StatePart> = {
  'msdb.dbo.backupset': 'backups', 'msdb.dbo.backupmediafamily': 'backups',
  'sys.dm_exec_connections': 'sessions',
  'sys.dm_tran_locks': 'applocks', 'lab.applocks': 'applocks',
  'lab.statement_log': 'log',
};
