// Rough numbers for the lab's TDS server on loopback: connect time (plain and TLS) and warm
// `SELECT 1` throughput over one connection. Prints; asserts nothing.
// Run: npx tsc -p tsconfig.json && node dist/bench/tds.js
import sql from 'mssql';
import { Connection, Request } from 'tedious';
import { startTdsServer } from '../lab/tds/server.js';
import { TestBackend, poolConfig, tediousConfig, testCertificates } from '../test/helpers/tds-backend.js';

const CONNECTS = Number(process.env.BENCH_CONNECTS ?? 20);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 2000);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (n: number) => `${n.toFixed(2)} ms`;

function tediousConnect(port: number, ca: string, encrypt: boolean): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const c = new Connection(tediousConfig(port, ca, { encrypt }) as never);
    c.connect((err) => (err ? reject(err) : resolve(c)));
  });
}

function tediousClose(c: Connection): Promise<void> {
  return new Promise((resolve) => {
    c.on('end', () => resolve());
    c.close();
  });
}

function tediousQuery(c: Connection, text: string): Promise<void> {
  return new Promise((resolve, reject) => c.execSql(new Request(text, (err) => (err ? reject(err) : resolve()))));
}

async function main(): Promise<void> {
  const certs = await testCertificates();
  const backend = new TestBackend();
  const server = await startTdsServer({ backend, tls: { key: certs.key, cert: certs.cert } });
  try {
    console.log(`lab TDS server on 127.0.0.1:${server.port} (Node ${process.version})`);
    for (const encrypt of [false, true]) {
      const label = encrypt ? 'TLS  ' : 'plain';
      const raw: number[] = [];
      const pooled: number[] = [];
      for (let i = 0; i < CONNECTS; i++) {
        let t = performance.now();
        const c = await tediousConnect(server.port, certs.ca, encrypt);
        raw.push(performance.now() - t);
        await tediousClose(c);
        t = performance.now();
        const pool = await new sql.ConnectionPool(poolConfig(server.port, certs.ca, { options: { encrypt } })).connect();
        pooled.push(performance.now() - t);
        await pool.close();
      }
      console.log(`${label} connect, median of ${CONNECTS}: tedious ${ms(median(raw))}, mssql pool ${ms(median(pooled))}`);
    }

    for (const encrypt of [false, true]) {
      const label = encrypt ? 'TLS  ' : 'plain';
      const c = await tediousConnect(server.port, certs.ca, encrypt);
      for (let i = 0; i < 50; i++) await tediousQuery(c, 'SELECT 1');
      let t = performance.now();
      for (let i = 0; i < QUERIES; i++) await tediousQuery(c, 'SELECT 1');
      const rawQps = QUERIES / ((performance.now() - t) / 1000);
      await tediousClose(c);

      const pool = await new sql.ConnectionPool(
        poolConfig(server.port, certs.ca, { options: { encrypt }, pool: { max: 1, min: 1 } }),
      ).connect();
      for (let i = 0; i < 50; i++) await pool.request().query('SELECT 1');
      t = performance.now();
      for (let i = 0; i < QUERIES; i++) await pool.request().query('SELECT 1');
      const poolQps = QUERIES / ((performance.now() - t) / 1000);
      await pool.close();
      console.log(
        `${label} warm SELECT 1 over one connection (${QUERIES}): tedious ${rawQps.toFixed(0)} q/s, ` +
          `mssql ${poolQps.toFixed(0)} q/s (mssql validates each acquire: 2 round trips)`,
      );
    }
  } finally {
    await server.close();
  }
}

await main();
