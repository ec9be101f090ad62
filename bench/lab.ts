// The lab as a runbook meets it: median queries/s of the procedure's LSN query over one warm
// mssql connection, and median TLS connect + login time against a started lab. Prints numbers;
// asserts nothing (a benchmark informs, tests never time things).
// Run: npx tsc -p tsconfig.json && node dist/bench/lab.js
import sql from 'mssql';
import { startLab } from '../lab/index.js';
import { labPoolConfig } from '../test/helpers/lab.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const QUERIES_PER_ROUND = Number(process.env.BENCH_QUERIES ?? 300);
const CONNECTS = Number(process.env.BENCH_CONNECTS ?? 21);

const LSN_QUERY = `
SELECT ag.name AS [Replication group], db.name AS [Database name], drs.database_id AS [Database ID],
       drs.group_id, drs.replica_id, drs.synchronization_state_desc AS [Sync state],
       CAST(drs.end_of_log_lsn AS varchar(30)) AS [End of log LSN],
       CAST(drs.last_hardened_lsn AS varchar(30)) AS [Last hardened LSN]
FROM sys.dm_hadr_database_replica_states drs
     INNER JOIN sys.databases db ON db.database_id = drs.database_id
     INNER JOIN sys.availability_groups ag ON drs.group_id = ag.group_id
WHERE ag.is_distributed = 1 AND db.name = @db`;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  // A running workload, so the tables really change between queries (the refresh path is timed too).
  const lab = await startLab({ scenario: process.env.BENCH_SCENARIO ?? 'workload-running' });
  try {
    const pool = await new sql.ConnectionPool(labPoolConfig(lab, 'sqlServer')).connect();
    for (let i = 0; i < 50; i++) await pool.request().input('db', sql.NVarChar, 'SalesDb').query(LSN_QUERY);
    const rates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < QUERIES_PER_ROUND; i++) await pool.request().input('db', sql.NVarChar, 'SalesDb').query(LSN_QUERY);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      rates.push(QUERIES_PER_ROUND / s);
    }
    await pool.close();
    const connects: number[] = [];
    for (let i = 0; i < CONNECTS; i++) {
      const t0 = process.hrtime.bigint();
      const p = await new sql.ConnectionPool(labPoolConfig(lab, 'managedInstance')).connect();
      connects.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await p.close();
    }
    process.stdout.write(`lab: LSN DMV query over one warm connection: ${median(rates).toFixed(0)} queries/s (median of ${ROUNDS} x ${QUERIES_PER_ROUND})\n`);
    process.stdout.write(`lab: TLS connect + login: ${median(connects).toFixed(1)} ms (median of ${CONNECTS})\n`);
  } finally {
    await lab.stop();
  }
}

void main();
