// `runbook validate` and `runbook plan` must load neither mssql nor any @azure package: they
// run in a child with a preload that records every module it resolves (ESM hooks) or requires
// (CommonJS), and the test asserts none of them is a driver.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fixture, root, runCli, tempDir } from '../../helpers/cli.js';

const dir = tempDir('runbook-no-drivers-');
const log = join(dir, 'loaded.txt');
const hooks = join(dir, 'hooks.mjs');
const preload = join(dir, 'preload.mjs');
writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.LOADED_LOG, result.url + '\\n');
  return result;
}
`);
// The modules linked into dist/engine/linked.js (engine/build/link-hot-path.ts) are not resolved
// one by one: the linked file lists those whose code ran, recorded at exit like the others, and
// the Node built-ins they use are required (recorded with the require: mark and, to be found as
// the built-ins they are, by name as well).
writeFileSync(preload, `import { register } from 'node:module';
import Module from 'node:module';
import { appendFileSync } from 'node:fs';
const linked = await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'engine', 'linked.js')).href)});
register(${JSON.stringify(pathToFileURL(hooks).href)});
const load = Module._load;
Module._load = function (request, parent, isMain) {
  appendFileSync(process.env.LOADED_LOG, 'require:' + request + '\\n' + (request.startsWith('node:') ? request + '\\n' : ''));
  return load.call(this, request, parent, isMain);
};
process.on('exit', () => appendFileSync(process.env.LOADED_LOG, linked.linkedModulesRun().map((url) => url + '\\n').join('')));
`);

const driver = /(\/node_modules\/(mssql|tedious|@azure\/)|require:(mssql|tedious|@azure\/))/;

async function loadedBy(args: string[]): Promise<string[]> {
  writeFileSync(log, '');
  const r = await runCli(args, { nodeArgs: ['--import', pathToFileURL(preload).href], env: { LOADED_LOG: log } });
  assert.is(r.code, 0, r.stderr + r.stdout);
  return readFileSync(log, 'utf8').trim().split('\n');
}

test('the recorder sees what it should (it would notice a driver)', async () => {
  const loaded = await loadedBy(['validate', fixture('builtins.yml')]);
  assert.ok(loaded.some((l) => l.includes('/engine/cli/main.js')), 'the recorder saw the CLI load');
  assert.ok(loaded.some((l) => l.includes('/steps/sqlExec.js')), 'the step modules the runbook uses were loaded');
  // js-yaml and Handlebars run from the build's code cache (engine/core/code-cache.ts), through
  // neither channel; the precompiled validators require ajv's runtime by name.
  // Nothing of node_modules is required by name any more (ajv's character count is not needed,
  // engine/build/length-counting.ts): the channel is proven by the built-ins the linked modules require.
  assert.ok(loaded.some((l) => l === 'require:node:fs'), 'what is required is recorded');
});

test('runbook validate loads no driver', async () => {
  const loaded = await loadedBy(['validate', fixture('builtins.yml'), fixture('inventory.yml')]);
  assert.equal(loaded.filter((l) => driver.test(l)), []);
});

test('runbook plan -i loads no driver (text, json and sql)', async () => {
  for (const format of ['text', 'json', 'sql']) {
    const loaded = await loadedBy(['plan', fixture('builtins.yml'), '-i', fixture('inventory.yml'), '--format', format, ...(format === 'sql' ? ['--replica', 'sqlServer'] : [])]);
    assert.equal(loaded.filter((l) => driver.test(l)), [], format);
  }
});

// The lab is loaded only when asked for: not at all without --lab, and for plan --lab only its
// static inventory (lab/inventory.ts), never its entry point and the servers behind it.
const labModule = /\/dist\/lab\//;

test('runbook validate and plan -i load nothing of the lab', async () => {
  for (const args of [['validate', fixture('builtins.yml'), fixture('inventory.yml')], ['plan', fixture('builtins.yml'), '-i', fixture('inventory.yml')]]) {
    const loaded = await loadedBy(args);
    assert.equal(loaded.filter((l) => labModule.test(l)), [], args[0]);
  }
});

test('runbook plan --lab loads no driver and starts nothing', async () => {
  const loaded = await loadedBy(['plan', fixture('builtins.yml'), '--lab']);
  assert.equal(loaded.filter((l) => driver.test(l)), []);
  assert.ok(loaded.some((l) => l.endsWith('/dist/lab/inventory.js')), 'the recorder saw the lab inventory load');
  assert.equal(loaded.filter((l) => /\/dist\/lab\/(index\.js|tds\/|arm\/|sql\/|backend-)|better-sqlite3/.test(l)), [], 'no lab servers loaded');
});

// What validate and plan import but never use costs start-up time (bench/startup): the help texts
// (read only for --help and usage errors) and node:net (only a connection probe opens a socket).
const unused = /(\/dist\/engine\/cli\/help\.js$|^node:net$)/;

test('runbook validate and plan load neither the help texts nor node:net', async () => {
  for (const args of [
    ['validate', 'planned-failover.yml', fixture('inventory.yml')],
    ['plan', 'planned-failover.yml', '--lab'],
    ['plan', fixture('builtins.yml'), '-i', fixture('inventory.yml')],
  ]) {
    const loaded = await loadedBy(args);
    assert.ok(loaded.some((l) => l === 'node:fs'), `the recorder sees built-in modules (${args.join(' ')})`);
    assert.equal(loaded.filter((l) => unused.test(l)), [], args.join(' '));
  }
});

// The step modules are loaded by validate and plan, and reach the drivers' request and connection
// code only through drivers/on-demand.ts, on a run's first call:
// loaded with them are the drivers' pure parts (link ids, error classes, SQL texts, scanners).
const driverWrapper = /\/dist\/engine\/drivers\/(run-resources|sql\/(pool|lock|lock-[a-z-]+|link-state|shared-lock-sessions)|arm\/(client|lro|link-operation|link-action|resend))\.js$/;

test('runbook validate and plan load no driver wrapper module, and validate no node:crypto', async () => {
  for (const args of [
    ['validate', 'planned-failover.yml', fixture('builtins.yml'), fixture('inventory.yml')],
    ['plan', 'planned-failover.yml', '--lab'],
    ['plan', fixture('builtins.yml'), '-i', fixture('inventory.yml')],
  ]) {
    const loaded = await loadedBy(args);
    assert.ok(loaded.some((l) => l.endsWith('/dist/steps/sqlExec.js')), `the step modules were loaded (${args.join(' ')})`);
    if (args[1] === 'planned-failover.yml') assert.ok(loaded.some((l) => l.endsWith('/dist/steps/armDeleteLink.js')), `and the ARM ones (${args.join(' ')})`);
    assert.ok(loaded.some((l) => l.endsWith('/dist/engine/drivers/sql/scanner.js')), `the recorder sees the drivers' pure parts (${args.join(' ')})`);
    assert.equal(loaded.filter((l) => driverWrapper.test(l)), [], args.join(' '));
    if (args[0] === 'validate') assert.equal(loaded.filter((l) => l === 'node:crypto'), [], 'validate hashes nothing');
  }
});

test('a shipped runbook planned by name, shell completion and --version load no driver', async () => {
  for (const args of [
    ['plan', 'planned-failover.yml', '--lab'],
    ['__complete', '4', 'runbook', 'plan', 'planned-failover.yml', '--set', ''],
    ['--version'],
  ]) {
    const loaded = await loadedBy(args);
    assert.ok(loaded.some((l) => l.includes('/engine/cli/main.js')), args.join(' '));
    assert.equal(loaded.filter((l) => driver.test(l)), [], args.join(' '));
  }
});

// When apply does load the drivers, it requires them (engine/drivers/packages.ts), never imports
// them: an ESM import scanned all 2.5 MB of @azure/arm-sql for export names and loaded the ESM
// build of @azure/core-rest-pipeline beside the CommonJS one arm-sql requires (~0.4 s of CPU in
// every process that runs anything; two RestError classes).
// Nor does a run whose SQL logins are SQL Server logins and whose ARM credential is a token (the
// lab's) load @azure/identity's Entra ID client (msal-node, ~70 ms): tedious requires the package
// at load, and gets it lazily (packages.ts mssqlPackage).
test('runbook apply loads the driver packages by require, none through the ESM loader, and no Entra ID client for SQL logins', async () => {
  const loaded = await loadedBy(['apply', 'planned-failover.yml', '--lab', '--yes', '--set', 'stoppedFor=100ms', '--set', 'stableFor=100ms', '--set', 'pollInterval=20ms']);
  for (const name of ['mssql', 'tedious', '@azure/arm-sql', '@azure/core-rest-pipeline']) assert.ok(loaded.includes(`require:${name}`), `the run required ${name}`);
  assert.equal(loaded.filter((l) => l.startsWith('file:') && /\/node_modules\/(mssql|tedious|@azure\/)/.test(l)), []);
  assert.equal(loaded.filter((l) => l === 'require:@azure/msal-node'), []);
});

test.run();
