// Queries through the real mssql client against the lab's TDS server: typed parameters, batches,
// result sets and types, errors, messages, database changes, exact numerics, big results.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sql from 'mssql';
import { Connection, Request } from 'tedious';
import type { LabCertificates } from '../../lab/certs.js';
import type { Column, ReplyItem } from '../../lab/tds/contract.js';
import type { TdsServer } from '../../lab/tds/server.js';
import { SERVER_NAME, TestBackend, intRows, poolConfig, tediousConfig, startTestTdsServer } from '../helpers/tds-backend.js';

let certs: LabCertificates;
let backend: TestBackend;
let server: TdsServer;
let pool: sql.ConnectionPool;

test.before(async () => {
  ({ certs, backend, server } = await startTestTdsServer());
  pool = await new sql.ConnectionPool(poolConfig(server.port, certs.ca)).connect();
});

test.after(async () => {
  await pool.close();
  await server.close();
});

const last = () => backend.requests[backend.requests.length - 1]!;

test('typed parameters arrive decoded: unicode, int, bigint, bit, datetime2, nvarchar(max), decimal, guid...', async () => {
  backend.on('SELECT @s', [{ kind: 'done' }]);
  const when = new Date('2024-05-06T07:08:09.123Z');
  const long = 'ü'.repeat(4500);
  await pool
    .request()
    .input('s', sql.NVarChar, 'Zürich 東京 😀')
    .input('i', sql.Int, -42)
    .input('b', sql.BigInt, '9007199254740993')
    .input('bit', sql.Bit, true)
    .input('d2', sql.DateTime2(7), when)
    .input('dt', sql.DateTime, when)
    .input('big', sql.NVarChar(sql.MAX), long)
    .input('dec', sql.Decimal(25, 0), 71000009408100)
    .input('num', sql.Numeric(10, 2), 123.45)
    .input('g', sql.UniqueIdentifier, '6f9619ff-8b86-d011-b42d-00c04fc964ff')
    .input('f', sql.Float, 1.5)
    .input('vb', sql.VarBinary, Buffer.from([1, 2, 255]))
    .input('vc', sql.VarChar(10), 'abc')
    .input('n', sql.Int, null)
    .query('SELECT @s');
  const r = last();
  assert.is(r.kind, 'rpc');
  assert.is(r.sql, 'SELECT @s');
  const byName = Object.fromEntries(r.params.map((p) => [p.name, p]));
  assert.equal(Object.keys(byName), ['s', 'i', 'b', 'bit', 'd2', 'dt', 'big', 'dec', 'num', 'g', 'f', 'vb', 'vc', 'n']);
  assert.equal(byName.s, { name: 's', typeName: 'nvarchar', value: 'Zürich 東京 😀' });
  assert.is(byName.i!.value, -42);
  assert.is(byName.b!.value, 9007199254740993n);
  assert.is(byName.b!.typeName, 'bigint');
  assert.is(byName.bit!.value, true);
  assert.equal(byName.d2!.value, when);
  assert.equal(byName.dt!.value, when);
  assert.is(byName.big!.value, long);
  assert.is(byName.dec!.value, 71000009408100n);
  assert.is(byName.num!.value, '123.45');
  assert.is(byName.g!.value, '6F9619FF-8B86-D011-B42D-00C04FC964FF');
  assert.is(byName.f!.value, 1.5);
  assert.equal(byName.vb!.value, Buffer.from([1, 2, 255]));
  assert.equal(byName.vc, { name: 'vc', typeName: 'varchar', value: 'abc' });
  assert.equal(byName.n, { name: 'n', typeName: 'int', value: null });
});

test('request.batch() sends SQL_BATCH; several result sets come back as recordsets', async () => {
  backend.on('two sets', [intRows('a', 1, 2), { kind: 'done', rowCount: 4 }, intRows('b', 3)]);
  const r = await pool.request().batch('two sets');
  assert.is(last().kind, 'batch');
  assert.equal(r.recordsets as unknown, [[{ a: 1 }, { a: 2 }], [{ b: 3 }]]);
  assert.equal(r.rowsAffected, [2, 4, 1]);
});

test('result column types as mssql reads them', async () => {
  const cols: Column[] = [
    { name: 'i', sqlType: { type: 'int' }, nullable: false },
    { name: 'si', sqlType: { type: 'smallint' }, nullable: false },
    { name: 'ti', sqlType: { type: 'tinyint' }, nullable: false },
    { name: 'bi', sqlType: { type: 'bigint' }, nullable: false },
    { name: 'b', sqlType: { type: 'bit' }, nullable: false },
    { name: 'f', sqlType: { type: 'float' }, nullable: false },
    { name: 's', sqlType: { type: 'nvarchar', length: 128 }, nullable: true },
    { name: 'm', sqlType: { type: 'nvarchar', length: 'max' }, nullable: true },
    { name: 'vb', sqlType: { type: 'varbinary', length: 16 }, nullable: true },
    { name: 'g', sqlType: { type: 'uniqueidentifier' }, nullable: true },
    { name: 'dt', sqlType: { type: 'datetime' }, nullable: true },
    { name: 'd2', sqlType: { type: 'datetime2', scale: 3 }, nullable: true },
    { name: 'lsn', sqlType: { type: 'numeric', precision: 25, scale: 0 }, nullable: true },
    { name: 'nul', sqlType: { type: 'int' }, nullable: true },
  ];
  const when = new Date('2023-11-12T13:14:15.167Z');
  const big = 'é'.repeat(9000);
  backend.on('all types', [
    {
      kind: 'rows',
      columns: cols,
      rows: [[7, -3, 255, 71000009408100001n, true, 2.5, 'Straße', big, Buffer.from('cafe', 'hex'),
        '6F9619FF-8B86-D011-B42D-00C04FC964FF', when, when, 71000009408100001n, null]],
    },
  ]);
  const r = await pool.request().query('all types');
  const row = r.recordset[0];
  assert.equal(row, {
    i: 7, si: -3, ti: 255,
    bi: '71000009408100001', // tedious reads bigint as an exact string
    b: true, f: 2.5, s: 'Straße', m: big, vb: Buffer.from('cafe', 'hex'),
    g: '6F9619FF-8B86-D011-B42D-00C04FC964FF',
    dt: when, d2: when,
    // tedious turns NUMERIC into a JS number, so a 17-digit LSN arrives as the nearest double,
    // exactly as it does from a real SQL Server; the wire bytes are exact (see tds-codecs).
    lsn: 71000009408100000,
    nul: null,
  });
  assert.is(r.recordset.columns.lsn!.precision, 25);
  assert.is(r.recordset.columns.lsn!.scale, 0);
});

test('an ERROR token becomes a RequestError with number, state, class, line, server and proc', async () => {
  backend.on('boom', [
    { kind: 'error', error: { number: 41142, state: 3, class: 16, message: 'The availability replica is not synchronized.', line: 2, procName: 'p1' }, abortsBatch: true },
  ]);
  try {
    await pool.request().query('boom');
    assert.unreachable('query should fail');
  } catch (err) {
    const e = err as sql.RequestError & { originalError?: { serverName?: string; procName?: string } };
    assert.instance(e, sql.RequestError);
    assert.equal(
      { number: e.number, state: e.state, class: e.class, lineNumber: e.lineNumber, message: e.message },
      { number: 41142, state: 3, class: 16, lineNumber: 2, message: 'The availability replica is not synchronized.' },
    );
    assert.is(e.serverName, SERVER_NAME);
    assert.is(e.procName, 'p1');
  }
  // Unknown statement: the test backend answers 102 like a real server.
  await pool.request().batch('FROBNICATE now').then(
    () => assert.unreachable(),
    (e: sql.RequestError) => assert.equal([e.number, e.class, e.message], [102, 15, "Incorrect syntax near 'FROBNICATE'."]),
  );
});

test('INFO tokens surface as info events; the batch still succeeds', async () => {
  backend.on("print 'hi'", [{ kind: 'info', info: { number: 0, state: 1, class: 0, message: 'hi', line: 1 } }, { kind: 'done' }]);
  const infos: Array<{ message: string; number: number }> = [];
  const req = pool.request();
  req.on('info', (i: { message: string; number: number }) => infos.push(i));
  await req.batch("print 'hi'");
  assert.equal(infos.map((i) => [i.number, i.message]), [[0, 'hi']]);
});

test('a database change sends ENVCHANGE + INFO 5701 and is remembered for the next one', async () => {
  backend.on('USE Other', [{ kind: 'database', name: 'Other' }, { kind: 'done' }]);
  backend.on('USE Third', [{ kind: 'database', name: 'Third' }, { kind: 'done' }]);
  const c = await new Promise<Connection>((resolve, reject) => {
    const conn = new Connection(tediousConfig(server.port, certs.ca) as never);
    conn.connect((err) => (err ? reject(err) : resolve(conn)));
  });
  const changes: string[] = [];
  const infos: string[] = [];
  c.on('databaseChange', (name: string) => changes.push(name));
  c.on('infoMessage', (i: { number: number; message: string }) => infos.push(`${i.number} ${i.message}`));
  for (const text of ['USE Other', 'USE Third']) {
    await new Promise<void>((resolve, reject) => c.execSqlBatch(new Request(text, (err) => (err ? reject(err) : resolve()))));
  }
  await new Promise<void>((resolve) => {
    c.on('end', () => resolve());
    c.close();
  });
  assert.equal(changes, ['Other', 'Third']);
  assert.equal(infos, ["5701 Changed database context to 'Other'.", "5701 Changed database context to 'Third'."]);
});

test('20,000 rows arrive complete and in order', async () => {
  const rows = Array.from({ length: 20_000 }, (_, i) => [i, `row ${i}`]);
  backend.on('select many', [
    {
      kind: 'rows',
      columns: [
        { name: 'n', sqlType: { type: 'int' }, nullable: false },
        { name: 's', sqlType: { type: 'nvarchar', length: 20 }, nullable: false },
      ],
      rows,
    },
  ]);
  const r = await pool.request().query('select many');
  assert.is(r.recordset.length, 20_000);
  assert.equal(r.recordset[19_999], { n: 19_999, s: 'row 19999' });
  assert.ok(r.recordset.every((row: { n: number }, i: number) => row.n === i));
});

test('a 6,000-character statement is reassembled from several packets', async () => {
  const text = `select '${'a'.repeat(6000)}'`;
  backend.on(text, [{ kind: 'done' }]);
  await pool.request().query(text);
  assert.is(last().sql, text);
  await pool.request().batch(text);
  assert.equal([last().kind, last().sql], ['batch', text]);
});

test('transactions: begin, commit and rollback are answered by the TDS layer', async () => {
  backend.on('in tx', [intRows('x', 1)]);
  const before = backend.requests.length;
  const tx = new sql.Transaction(pool);
  await tx.begin();
  assert.equal((await new sql.Request(tx).query('in tx')).recordset, [{ x: 1 }]);
  await tx.commit();
  const tx2 = new sql.Transaction(pool);
  await tx2.begin();
  await tx2.rollback();
  // Only the statement reached the backend (and any pool validation); begin/commit did not.
  assert.ok(backend.requests.slice(before).every((r) => r.sql === 'in tx' || r.sql === 'SELECT 1;'));
});

test('a value its column cannot hold becomes an error, and the connection keeps working', async () => {
  backend.on('bad value', [
    { kind: 'rows', columns: [{ name: 't', sqlType: { type: 'numeric', precision: 3, scale: 0 }, nullable: false }], rows: [[10n ** 30n]] },
  ] as ReplyItem[]);
  await pool.request().query('bad value').then(
    () => assert.unreachable(),
    (e: sql.RequestError) => assert.instance(e, sql.RequestError),
  );
  assert.equal((await pool.request().query('select 1')).recordset, [{ '': 1 }]);
});

test.run();
