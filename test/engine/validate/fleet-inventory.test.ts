import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateFiles, validateInventory } from '../../../engine/validate/runbook.js';
import { runCli, noStack } from '../../helpers/cli.js';

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
  const out = await runCli(['validate', file]);
  assert.is(out.code, 2);
  assert.match(out.stderr, `${file}:14:16: error unknown-server:`);
  assert.is(out.stderr.match(/error /g)?.length, 1);
  noStack(out.stderr);
});

test.run();
