// The lab's tables: their real T-SQL names, columns and types, and their SQLite storage.
// Each table lives in SQLite's main schema under a mangled name (`sys__databases`), so an
// unqualified or wrongly qualified name fails as it does on SQL Server instead of being found
// by SQLite's search through attached databases.
import type Database from 'better-sqlite3';
import type { CellValue, TablePart, TableRows } from './contract.js';

export interface ColumnDef {
  name: string;
  /** T-SQL type as SQL Server declares it: `nvarchar(128)`, `numeric(25,0)`, `datetime2(3)`, ... */
  type: string;
  nullable: boolean;
}

const c = (spec: string): ColumnDef[] =>
  spec
    .trim()
    .split(/\s*;\s*/)
    .filter(Boolean)
    .map((part) => {
      const [name, type, nulls] = part.split(/\s+/);
      return { name, type, nullable: nulls !== 'notnull' };
    });

const LSN = 'numeric(25,0)';
const GUID = 'uniqueidentifier';
const NAME = 'nvarchar(128)';
const DESC = 'nvarchar(60)';

/** Every table the lab serves, keyed by its T-SQL name as a DBA writes it. */
export const TABLES = {
  'sys.databases': c(`
    name ${NAME} notnull; database_id int notnull; source_database_id int; create_date datetime notnull;
    compatibility_level tinyint notnull; collation_name ${NAME}; user_access tinyint; user_access_desc ${DESC};
    is_read_only bit; state tinyint; state_desc ${DESC}; recovery_model tinyint; recovery_model_desc ${DESC};
    is_encrypted bit; replica_id ${GUID}; group_database_id ${GUID}; log_reuse_wait_desc ${DESC}`),
  'sys.availability_groups': c(`
    group_id ${GUID} notnull; name ${NAME}; resource_id nvarchar(40); resource_group_id nvarchar(40);
    failure_condition_level int; health_check_timeout int; automated_backup_preference tinyint;
    automated_backup_preference_desc ${DESC}; version smallint; basic_features bit; dtc_support bit;
    db_failover bit; is_distributed bit; cluster_type tinyint; cluster_type_desc ${DESC};
    required_synchronized_secondaries_to_commit int; sequence_number bigint; is_contained bit`),
  'sys.availability_replicas': c(`
    replica_id ${GUID} notnull; group_id ${GUID}; replica_metadata_id int; replica_server_name nvarchar(256);
    endpoint_url nvarchar(128); availability_mode tinyint; availability_mode_desc ${DESC};
    failover_mode tinyint; failover_mode_desc ${DESC}; session_timeout int;
    primary_role_allow_connections tinyint; primary_role_allow_connections_desc ${DESC};
    secondary_role_allow_connections tinyint; secondary_role_allow_connections_desc ${DESC};
    create_date datetime; modify_date datetime; backup_priority int; read_only_routing_url nvarchar(256);
    seeding_mode tinyint; seeding_mode_desc ${DESC}`),
  'sys.dm_hadr_availability_replica_states': c(`
    replica_id ${GUID} notnull; group_id ${GUID} notnull; is_local bit; role tinyint; role_desc ${DESC};
    operational_state tinyint; operational_state_desc ${DESC}; connected_state tinyint;
    connected_state_desc ${DESC}; recovery_health tinyint; recovery_health_desc ${DESC};
    synchronization_health tinyint; synchronization_health_desc ${DESC}; last_connect_error_number int;
    last_connect_error_description nvarchar(1024); last_connect_error_timestamp datetime`),
  'sys.dm_hadr_database_replica_states': c(`
    database_id int notnull; group_id ${GUID} notnull; replica_id ${GUID} notnull; group_database_id ${GUID} notnull;
    is_local bit; is_primary_replica bit; synchronization_state tinyint; synchronization_state_desc ${DESC};
    is_commit_participant bit; synchronization_health tinyint; synchronization_health_desc ${DESC};
    database_state tinyint; database_state_desc ${DESC}; is_suspended bit; suspend_reason tinyint;
    suspend_reason_desc ${DESC}; recovery_lsn ${LSN}; truncation_lsn ${LSN}; last_sent_lsn ${LSN};
    last_sent_time datetime; last_received_lsn ${LSN}; last_received_time datetime; last_hardened_lsn ${LSN};
    last_hardened_time datetime; last_redone_lsn ${LSN}; last_redone_time datetime; log_send_queue_size bigint;
    log_send_rate bigint; redo_queue_size bigint; redo_rate bigint; filestream_send_rate bigint;
    end_of_log_lsn ${LSN}; last_commit_lsn ${LSN}; last_commit_time datetime; low_water_mark_for_ghosts bigint;
    secondary_lag_seconds bigint`),
  'msdb.dbo.backupset': c(`
    backup_set_id int notnull; media_set_id int; name ${NAME}; description nvarchar(255); user_name ${NAME};
    database_name ${NAME}; server_name ${NAME}; machine_name ${NAME}; type nvarchar(1); is_copy_only bit;
    backup_start_date datetime; backup_finish_date datetime; first_lsn ${LSN}; last_lsn ${LSN};
    checkpoint_lsn ${LSN}; database_backup_lsn ${LSN}; backup_size numeric(20,0); recovery_model ${DESC};
    database_guid ${GUID}`),
  // Where a backup went is not in backupset: it joins on media_set_id, as on SQL Server.
  'msdb.dbo.backupmediafamily': c(`
    media_set_id int notnull; family_sequence_number tinyint notnull; media_family_id ${GUID};
    physical_device_name nvarchar(260); device_type tinyint; physical_block_size int`),
  // Server-wide: every connection and lock of the server, whatever link (lab/model/server-state.ts).
  'sys.dm_exec_connections': c(`
    session_id int; most_recent_session_id int; connect_time datetime notnull; net_transport nvarchar(40) notnull;
    protocol_type nvarchar(40); encrypt_option nvarchar(40) notnull; auth_scheme nvarchar(40) notnull;
    client_net_address varchar(48); connection_id ${GUID} notnull; parent_connection_id ${GUID}`),
  'sys.dm_tran_locks': c(`
    resource_type ${DESC}; resource_subtype ${DESC}; resource_database_id int; resource_description nvarchar(256);
    resource_associated_entity_id bigint; resource_lock_partition int; request_mode ${DESC}; request_type ${DESC};
    request_status ${DESC}; request_reference_count smallint; request_session_id int; request_owner_type ${DESC}`),
  'lab.statement_log': c(`
    seq bigint notnull; at datetime2(3) notnull; replica ${NAME} notnull; login ${NAME}; session_id int;
    statement nvarchar(max); error_number int`),
  'lab.applocks': c(`
    replica ${NAME} notnull; database_name ${NAME}; resource nvarchar(255) notnull; lock_mode ${DESC};
    session_id int; login ${NAME}; host_name ${NAME}; program_name ${NAME}; description nvarchar(4000);
    lock_count int; acquired_at datetime2(3)`),
  'lab.ledger': c(`
    link_name ${NAME} notnull; database_name ${NAME}; committed bigint notnull; lost bigint notnull;
    last_committed_lsn ${LSN}; primary_replica ${NAME}; updated_at datetime2(3)`),
} as const satisfies Record<string, ColumnDef[]>;

export type TableName = keyof typeof TABLES;

/** SQLite table name for a T-SQL name: `msdb.dbo.backupset` -> `msdb__backupset`. */
export function storageName(tsqlName: string): string {
  const parts = tsqlName.toLowerCase().split('.');
  if (parts.length === 3) return `${parts[0]}__${parts[2]}`;
  return `${parts[0]}__${parts[1]}`;
}

const byStorage = new Map<string, { name: TableName; columns: Map<string, ColumnDef> }>(
  (Object.keys(TABLES) as TableName[]).map((name) => [
    storageName(name),
    { name, columns: new Map(TABLES[name].map((col) => [col.name.toLowerCase(), col])) },
  ]),
);

/** The column definition behind a result column SQLite traced to a table, if any. */
export function columnDef(storageTable: string | null, column: string | null): ColumnDef | undefined {
  if (!storageTable || !column) return undefined;
  return byStorage.get(storageTable.toLowerCase())?.columns.get(column.toLowerCase());
}

export function tsqlNameOf(storageTable: string): string | undefined {
  return byStorage.get(storageTable.toLowerCase())?.name;
}

const TEXT_TYPE = /char|text|sysname/i;

/** A value as SQLite stores it: dates as sortable text, bits as 0/1. */
export function toSqlite(value: CellValue | undefined): null | number | bigint | string | Buffer {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return formatDateTime(value);
  return value;
}

/** `YYYY-MM-DD HH:MM:SS.mmm` (UTC): sorts as text and SQLite's date functions read it. */
export function formatDateTime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

export interface Catalog {
  /**
   * Brings the tables a statement reads (and sys.databases, which its functions read) up to the
   * model's version. Only those: a server holding many links' replicas would otherwise reload
   * every table of every link for each query, and the lab's cost would grow with links x queries.
   */
  refresh(wanted: Iterable<string>): void;
  /** The rows of the tables as last loaded (a JS copy the UDFs may read during a statement). */
  rows(): TableRows;
}

/** Rowids of one part of a table: part n holds [n * PART_SPAN, (n + 1) * PART_SPAN), so a table scan returns the parts in order. */
const PART_SPAN = 1_000_000_000;

export function createCatalog(
  db: Database.Database,
  tables: (wanted: ReadonlySet<string>) => TableRows,
  version: () => number,
  versionOf?: (table: string) => number,
  tableParts?: (table: string) => TablePart[],
): Catalog {
  const inserts = new Map<TableName, { sql: Database.Statement; atRow: Database.Statement; dropPart: Database.Statement; columns: ColumnDef[] }>();
  for (const name of Object.keys(TABLES) as TableName[]) {
    const columns: ColumnDef[] = TABLES[name];
    const store = storageName(name);
    const ddl = columns
      .map((col) => `"${col.name}" ${col.type.toUpperCase().replace("(MAX)", "")}${TEXT_TYPE.test(col.type) ? ' COLLATE NOCASE' : ''}`)
      .join(', ');
    db.exec(`CREATE TABLE ${store} (${ddl})`);
    const sql = db.prepare(`INSERT INTO ${store} VALUES (${columns.map(() => '?').join(', ')})`);
    const atRow = db.prepare(`INSERT INTO ${store} (rowid, ${columns.map((col) => `"${col.name}"`).join(', ')}) VALUES (?, ${columns.map(() => '?').join(', ')})`);
    const dropPart = db.prepare(`DELETE FROM ${store} WHERE rowid >= ? AND rowid < ?`);
    inserts.set(name, { sql, atRow, dropPart, columns });
  }
  const checkColumns = (name: TableName, rows: Array<Record<string, CellValue>>) => {
    const known = new Set(inserts.get(name)!.columns.map((col) => col.name));
    for (const row of rows) {
      for (const key of Object.keys(row)) {
        if (!known.has(key)) throw new Error(`lab/sql: table '${name}' has no column '${key}'`);
      }
    }
  };
  // The model's version each table was last loaded at: a table is reloaded only when read after a change.
  const loadedAt = new Map<TableName, number>();
  const current: TableRows = {};
  const load = db.transaction((names: ReadonlySet<TableName>, data: TableRows) => {
    for (const name of names) {
      const target = inserts.get(name)!;
      db.exec(`DELETE FROM ${storageName(name)}`);
      const rows = data[name] ?? [];
      checkColumns(name, rows);
      for (const row of rows) target.sql.run(target.columns.map((col) => toSqlite(row[col.name])));
      current[name] = rows;
    }
  });
  /** Each table's parts as last loaded: where its rows sit (slot), the version they were built at, the rows. */
  const loadedParts = new Map<TableName, Map<string, { slot: number; version: string; rows: Array<Record<string, CellValue>> }>>();
  const loadParts = db.transaction((name: TableName, parts: TablePart[]) => {
    const target = inserts.get(name)!;
    let loaded = loadedParts.get(name);
    if (!loaded) loadedParts.set(name, (loaded = new Map()));
    let changed = false;
    for (const part of parts) {
      const was = loaded.get(part.key);
      if (was?.version === part.version) continue;
      const slot = was?.slot ?? Math.max(-1, ...[...loaded.values()].map((p) => p.slot)) + 1;
      const rows = part.rows();
      checkColumns(name, rows);
      if (was) target.dropPart.run(slot * PART_SPAN, (slot + 1) * PART_SPAN);
      rows.forEach((row, k) => target.atRow.run(slot * PART_SPAN + k, ...target.columns.map((col) => toSqlite(row[col.name]))));
      loaded.set(part.key, { slot, version: part.version, rows });
      changed = true;
    }
    const keys = new Set(parts.map((p) => p.key));
    for (const [key, was] of loaded) {
      if (keys.has(key)) continue;
      target.dropPart.run(was.slot * PART_SPAN, (was.slot + 1) * PART_SPAN);
      loaded.delete(key);
      changed = true;
    }
    if (changed || current[name] === undefined) current[name] = [...loaded.values()].sort((a, b) => a.slot - b.slot).flatMap((p) => p.rows);
  });
  return {
    refresh(wanted) {
      const v = version();
      const stale = new Map<TableName, number>();
      for (const name of ['sys.databases', ...wanted]) {
        const known = tableNamed(name);
        const current = known && (versionOf ? versionOf(known) : v);
        if (known && tableParts) {
          // The table's own version first: nothing moved, no part is asked (a fleet's server has one per link).
          if (loadedAt.get(known) === current) continue;
          loadParts(known, tableParts(known));
          loadedAt.set(known, current!);
          continue;
        }
        if (known && loadedAt.get(known) !== current) stale.set(known, current!);
      }
      if (stale.size === 0) return;
      const names = new Set(stale.keys());
      const data = tables(names);
      for (const name of Object.keys(data)) {
        if (!tableNamed(name)) throw new Error(`lab/sql: unknown table '${name}' (known: ${[...inserts.keys()].join(', ')})`);
      }
      load(names, data);
      for (const [name, at] of stale) loadedAt.set(name, at);
    },
    rows: () => current,
  };
}

const tableNames = new Map((Object.keys(TABLES) as TableName[]).map((name) => [name.toLowerCase(), name]));

function tableNamed(name: string): TableName | undefined {
  return tableNames.get(name.toLowerCase());
}
