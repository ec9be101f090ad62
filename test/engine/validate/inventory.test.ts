import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateInventory } from '../../../engine/validate/runbook.js';
import { renderDiagnosticsJson, renderDiagnosticsText } from '../../../engine/ui/diagnostics.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures', 'inventories');

test('a good inventory validates; relative caFile resolves against the inventory', () => {
  const r = validateInventory(join(dir, 'good.yml'));
  assert.equal(r.diagnostics, []);
  assert.is(r.inventory?.link.sqlServer.connection.caFile, join(dir, 'certs', 'ca.pem'));
  assert.is(r.inventory?.arm.caFile, '/etc/ssl/lab-ca.pem');
  assert.is(r.inventory?.link.managedInstance.tier, 'BusinessCritical');
});

const withPassword = [
  'link:', //                                        1
  '  name: dag1', //                                 2
  '  database: db', //                               3
  '  sqlServer:', //                                 4
  '    name: SQL1', //                               5
  '    agName: ag1', //                              6
  '    connection: { host: h, user: sa, password: "Sup3r$ecret!" }', // 7
  '  managedInstance:', //                           8
  '    name: mi', //                                 9
  '    resourceGroup: rg', //                        10
  '    subscriptionId: sub', //                      11
  '    tier: Premium', //                            12
  '    connection: { host: h2 }', //                 13
  'arm: { endpoint: "https://x", credentail: default }', // 14
].join('\n');

test('a literal password is an error that says what to do and never repeats the password', () => {
  const r = validateInventory('inv.yml', withPassword);
  assert.equal(r.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`), ['inline-password@7:38', 'bad-enum@12:11', 'unknown-key@14:31']);
  const pw = r.diagnostics[0]!;
  assert.match(pw.message, 'passwordEnv');
  const text = renderDiagnosticsText(r.diagnostics, new Map([['inv.yml', withPassword]]), { color: false });
  assert.not.match(text, 'Sup3r');
  assert.not.match(renderDiagnosticsJson(r.diagnostics), 'Sup3r');
  assert.match(r.diagnostics[1]!.message, 'GeneralPurpose, BusinessCritical');
  assert.match(r.diagnostics[2]!.message, 'Did you mean `credential`?');
  assert.is(r.inventory, undefined);
});

test('a secret pasted into passwordEnv is not echoed', () => {
  const text = withPassword.replace('password: "Sup3r$ecret!"', 'passwordEnv: "Sup3r$ecret!"').replace('Premium', 'GeneralPurpose').replace(', credentail: default', '');
  const r = validateInventory('inv.yml', text);
  assert.equal(r.diagnostics.map((d) => d.code), ['bad-value']);
  assert.not.match(renderDiagnosticsText(r.diagnostics, new Map([['inv.yml', text]]), { color: false }), 'Sup3r');
});

test.run();
