import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateFiles, validateInventory } from '../../../engine/validate/runbook.js';
import { runInProcess, noStack } from '../../helpers/cli.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures', 'inventories');

test('a fleet inventory validates; relative caFiles resolve against it; a single-link inventory still does', () => {
  const r = validateInventory(join(dir, 'fleet.yml'));
  assert.equal(r.diagnostics, []);
  assert.is(r.inventory, undefined);
  assert.is(r.fleet?.links.length, 3);
  assert.is(r.fleet?.sqlServers.sql01?.connection.caFile, join(dir, 'certs', 'ca.pem'));
  const single = validateInventory(join(dir, 'good.yml'));
  assert.equal(single.diagnostics, []);
  assert.ok(single.inventory);
  assert.is(single.fleet, undefined);
});

const bad = [
  'sqlServers:', //                                                          1
  '  sql01: { connection: { host: h, user: u, passwordEnv: P } }', //        2
  'managedInstances:', //                                                    3
  '  mi1: { resourceGroup: rg, subscriptionId: s, tier: GeneralPurpose, connection: { host: m } }', // 4
  'links:', //                                                               5
  '  - name: dag1', //                                                       6
  '    database: Db1', //                                                    7
  '    agName: ag1', //                                                      8
  '    sqlServer: sql01', //                                                 9
  '    managedInstance: mi1', //                                             10
  '  - name: dag2', //                                                       11
  '    database: Db2', //                                                    12
  '    agName: ag2', //                                                      13
  '    sqlServer: sql09', //                                                 14
  '    managedInstance: mi1', //                                             15
  '  - name: DAG1', //                                                       16
  '    database: Db3', //                                                    17
  '    agName: ag3', //                                                      18
  '    sqlServer: sql01', //                                                 19
  '    managedInstance: mi2', //                                             20
  '  - name: dag4', //                                                       21
  '    database: db1', //                                                    22
  '    agName: ag4', //                                                      23
  '    sqlServer: sql01', //                                                 24
  '    managedInstance: mi1', //                                             25
  '    extra: 1', //                                                         26
  'arm: { endpoint: "https://x" }', //                                       27
].join('\n');

test('an unknown server reference, a link twice, a database twice: one diagnostic each, at file:line:col', () => {
  const schemaOnly = validateInventory('fleet.yml', bad);
  assert.equal(schemaOnly.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`), ['unknown-key@26:5']);
  const r = validateInventory('fleet.yml', bad.replace('    extra: 1\n', ''));
  assert.equal(r.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`), ['unknown-server@14:16', 'unknown-server@20:22', 'duplicate-link@16:11', 'duplicate-database@22:15']);
  assert.match(r.diagnostics[0]!.message, 'SQL Server `sql09`, which `sqlServers:` does not declare (declared: sql01)');
  assert.is(r.fleet, undefined);
});

test('a database or availability group named again with trailing spaces is the same one (the server pads before it compares names)', () => {
  const good = bad.replace('    extra: 1\n', '').replace('sqlServer: sql09', 'sqlServer: sql01').replace('DAG1', 'dag3').replace('mi2', 'mi1').replace('database: db1', 'database: Db4');
  assert.equal(validateInventory('fleet.yml', good).diagnostics, []);
  const database = validateInventory('fleet.yml', good.replace('database: Db4', 'database: "DB1  "'));
  assert.equal(database.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`), ['duplicate-database@22:15']);
  const group = validateInventory('fleet.yml', good.replace('agName: ag4', 'agName: "ag1 "'));
  assert.equal(group.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`), ['duplicate-ag@23:13']);
});

test('a server declared twice (same host and port, other case, other TLS settings) is refused at its host: its links would slip past the per-server checks and share sessions', () => {
  const good = bad.replace('    extra: 1\n', '').replace('DAG1', 'dag3').replace('mi2', 'mi1').replace('database: db1', 'database: Db4');
  const twice = good.replace(
    '  sql01: { connection: { host: h, user: u, passwordEnv: P } }',
    '  sql01: { connection: { host: h, user: u, passwordEnv: P } }\n  sql09: { connection: { host: H, port: 1433, user: u, passwordEnv: P, trustServerCertificate: true } }',
  );
  const r = validateInventory('fleet.yml', twice);
  assert.equal(r.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`), ['duplicate-server@3:32']);
  assert.match(r.diagnostics[0]!.message, '`sqlServers:` entry `sql09` connects to h:1433, as entry `sql01` does');
  const otherPort = twice.replace('port: 1433', 'port: 1434');
  assert.equal(validateInventory('fleet.yml', otherPort).diagnostics, []);
});

test('a fleet with a literal password or a name with a line break is refused like a single link', () => {
  const good = bad.replace('    extra: 1\n', '').replace('sqlServer: sql09', 'sqlServer: sql01').replace('DAG1', 'dag3').replace('mi2', 'mi1').replace('database: db1', 'database: Db4');
  assert.equal(validateInventory('fleet.yml', good).diagnostics, []);
  const withPassword = validateInventory('fleet.yml', good.replace('passwordEnv: P', 'password: "Hunter2!"'));
  assert.equal(withPassword.diagnostics.map((d) => `${d.code}@${d.line}`), ['inline-password@2']);
  assert.not.match(JSON.stringify(withPassword.diagnostics), 'Hunter2');
  const lineBreak = validateInventory('fleet.yml', good.replace('agName: ag2', 'agName: "ag\\n2"'));
  assert.equal(lineBreak.diagnostics.map((d) => `${d.code}@${d.line}`), ['bad-value@13']);
});

test('validate names a fleet file an inventory', async () => {
  const r = await validateFiles([join(dir, 'fleet.yml')], { steps: {} });
  assert.equal([...r.kinds.values()], ['inventory']);
  assert.equal(r.diagnostics, []);
});

test('runbook validate on a fleet with an unknown server: one file:line:col line, exit 2', async () => {
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const file = join(mkdtempSync(join(tmpdir(), 'runbook-fleet-')), 'fleet.yml');
  writeFileSync(file, bad.replace('    extra: 1\n', '').replace('DAG1', 'dag3').replace('mi2', 'mi1').replace('database: db1', 'database: Db4'));
  const out = await runInProcess(['validate', file]);
  assert.is(out.code, 2);
  assert.match(out.stderr, `${file}:14:16: error unknown-server:`);
  assert.is(out.stderr.match(/error /g)?.length, 1);
  noStack(out.stderr);
});

test('F2/F3: NUL, tab, bidi override, a comma or over 128 characters in a link\'s names, and one AG in two links of a server (case-folded): file:line:col, exit 2', async () => {
  const good = bad.replace('    extra: 1\n', '').replace('sqlServer: sql09', 'sqlServer: sql01').replace('DAG1', 'dag3').replace('mi2', 'mi1').replace('database: db1', 'database: Db4');
  const codes = (text: string) => validateInventory('fleet.yml', text).diagnostics.map((d) => `${d.code}@${d.line}:${d.column}: ${d.message}`);
  const nul = codes(good.replace('name: dag2', 'name: "dag\\u00002"'));
  assert.equal(nul.length, 1);
  assert.match(nul[0]!, /^bad-value@11:11: `name` holds the control or format character U\+0000/);
  assert.match(codes(good.replace('name: dag2', 'name: "dag2\\t"'))[0]!, /^bad-value@11:11: .*U\+0009/);
  assert.match(codes(good.replace('name: dag2', 'name: "x\\u202eevil"'))[0]!, /^bad-value@11:11: .*U\+202E/);
  assert.match(codes(good.replace('database: Db2', 'database: "Db\\u200b2"'))[0]!, /^bad-value@12:15: `database` holds .*U\+200B/);
  assert.match(codes(good.replace('name: dag2', 'name: "dag,2"'))[0]!, /^bad-value@11:11: Link name `dag,2` holds a comma/);
  const long = codes(good.replace('name: dag2', `name: ${'d'.repeat(300)}`));
  assert.equal(long, ['bad-value@11:11: `name` is 300 characters long: a SQL Server identifier (sysname) is at most 128.']);
  assert.equal(codes(good.replace('name: dag2', `name: ${'d'.repeat(128)}`)), [], '128 is a sysname');
  const sharedAg = codes(good.replace('agName: ag2', 'agName: AG1'));
  assert.equal(sharedAg, ['duplicate-ag@13:13: Availability group `AG1` on SQL Server `sql01` is already in link 1: each link has its own local availability group.']);
  // Through the CLI: one line per problem, exit 2, no stack; and a single-link inventory says the same of its names.
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const file = join(mkdtempSync(join(tmpdir(), 'runbook-fleet-')), 'fleet.yml');
  writeFileSync(file, good.replace('name: dag2', 'name: "a\\u0000b"'));
  const out = await runInProcess(['validate', file]);
  assert.is(out.code, 2);
  assert.match(out.stderr, `${file}:11:11: error bad-value: \`name\` holds the control or format character U+0000`);
  noStack(out.stderr);
  const { readFileSync } = await import('node:fs');
  const single = readFileSync(join(dir, 'good.yml'), 'utf8');
  assert.equal(validateInventory('good.yml', single).diagnostics, []);
  const spoofed = validateInventory('good.yml', single.replace('agName: ag1', 'agName: "ag\\u202e1"')).diagnostics;
  assert.equal(spoofed.map((d) => `${d.code}@${d.line}:${d.column}`), ['bad-value@7:13']);
});

test.run();
