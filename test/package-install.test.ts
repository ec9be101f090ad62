// The package as a user gets it (issue 15, point 3): `npm pack` ships the built engine without its
// tests, the runbooks, the schemas and the lab's scenarios; the tarball installs (npm install -g
// into a temporary prefix, under npm's strict install-script policy with better-sqlite3 allowed,
// as README "Install it for real" says) and works from an empty folder: --version, init, plan and
// apply on the lab, all exit 0, with everything found from the installed package, not from here.
//
// Cost: better-sqlite3's install script (prebuild-install, else node-gyp) compiles SQLite from
// source when no prebuilt binary can be downloaded, one to three minutes on 2 cores. The install
// script still runs, for real, but is offered the binary this checkout's `npm ci` already built
// for this very Node (prebuild-install's local-prebuilds folder, the place it looks before
// downloading); it unpacks it and require()s it to check it loads. RUNBOOK_TEST_INSTALL_FROM_SOURCE=1
// withholds it, so the install compiles as on a machine without network (minutes: not for npm test).
// Packages come from npm's cache (--prefer-offline): CI ran `npm ci` first.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { root, tempDir } from './helpers/cli.js';

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const work = tempDir('runbook-install-');
const prefix = join(work, 'prefix');
const npm = 'npm';

/** The environment of a user's shell: none of the npm_* variables `npm test` sets for its scripts. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_/.test(k) || /^npm_config_(global|prefix|local_prefix|ignore_scripts|dry_run)$/i.test(k)) continue;
    env[k] = v;
  }
  delete env.CI;
  return { ...env, NO_COLOR: '1', ...extra };
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  return r;
}

const shown = (r: SpawnSyncReturns<string>) => `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

let tarball = '';

test('npm pack ships dist/ without tests, runbooks/, schemas/, lab/scenarios/, README and LICENSE only', () => {
  // `npm test` built dist/ already; --ignore-scripts skips prepack's second build.
  const r = run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root, userEnv(), 120_000);
  assert.is(r.status, 0, shown(r));
  const [packed] = JSON.parse(r.stdout) as PackResult[];
  tarball = join(work, packed!.filename);
  const files = packed!.files.map((f) => f.path).sort();
  const outside = files.filter((f) => !/^(dist\/|runbooks\/[^/]+\.yml$|schemas\/[^/]+\.json$|lab\/scenarios\/[^/]+\.yml$|README\.md$|LICENSE$|package\.json$)/.test(f));
  assert.equal(outside, [], 'nothing but the listed folders and files');
  assert.equal(files.filter((f) => /^dist\/(test|bench|examples|scripts)\/|\.map$|\.ts$|^dist\/engine\/build\//.test(f)), [], 'no tests, benchmarks, examples, build scripts, development scripts (mutate), sources or maps');
  for (const needed of ['dist/engine/cli/bin.js', 'dist/lab/index.js', 'dist/schemas/runbook.validate.cjs', 'runbooks/planned-failover.yml', 'schemas/runbook.schema.json', 'schemas/inventory.schema.json', 'lab/scenarios/healthy.yml', 'README.md', 'LICENSE']) {
    assert.ok(files.includes(needed), needed);
  }
  assert.match(pkg.name, /^@[a-z0-9-]+\/runbook$/, 'a scoped name: `npx runbook` outside a clone would fetch someone else\'s package');
});

test('the tarball installs into a temporary prefix and runs from an empty folder: --version, init, plan, apply', () => {
  assert.ok(tarball, 'packed by the test before');
  mkdirSync(join(prefix, 'lib'), { recursive: true });
  const installEnv = userEnv();
  const sqliteModule = join(root, 'node_modules', 'better-sqlite3');
  const builtBinary = join(sqliteModule, 'build', 'Release', 'better_sqlite3.node');
  if (process.env.RUNBOOK_TEST_INSTALL_FROM_SOURCE !== '1' && existsSync(builtBinary)) {
    // prebuild-install's own file name for this package, Node ABI, platform and architecture.
    const version = (JSON.parse(readFileSync(join(sqliteModule, 'package.json'), 'utf8')) as { version: string }).version;
    const prebuilds = join(work, 'prebuilds');
    mkdirSync(prebuilds);
    const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
    const tar = run('tar', ['-czf', join(prebuilds, name), '-C', sqliteModule, 'build/Release/better_sqlite3.node'], work, userEnv());
    assert.is(tar.status, 0, shown(tar));
    installEnv.npm_config_better_sqlite3_local_prebuilds = prebuilds;
  }
  // Compiling SQLite takes minutes on a busy 2-core machine (8 minutes were seen under load):
  // run that mode alone, with TEST_FILE_TIMEOUT_MS raised.
  const fromSource = installEnv.npm_config_better_sqlite3_local_prebuilds === undefined;
  const started = Date.now();
  const install = run(
    npm,
    ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--strict-allow-scripts', '--allow-scripts=better-sqlite3', tarball],
    work,
    installEnv,
    fromSource ? 900_000 : 170_000,
  );
  assert.is(install.status, 0, shown(install));
  console.log(`[package-install] npm install of the tarball: ${Date.now() - started} ms`);

  const installed = join(prefix, 'lib', 'node_modules', ...pkg.name.split('/'));
  assert.ok(existsSync(join(installed, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')), 'better-sqlite3 installed with its native module');
  const env = userEnv({ PATH: `${join(prefix, 'bin')}:${process.env.PATH}` });
  const runbook = (args: string[], cwd: string) => run('runbook', args, cwd, env, 60_000);

  const empty = tempDir('runbook-user-');
  const version = runbook(['--version'], empty);
  assert.is(version.status, 0, shown(version));
  assert.is(version.stdout.split('\n')[0], pkg.version);
  assert.match(version.stdout, new RegExp(`^${pkg.name} ${pkg.version} \\(${realpathSync(installed).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`, 'm'));
  assert.match(version.stdout, /^ {2}mssql +\d+\.\d+\.\d+/m);

  const init = runbook(['init'], empty);
  assert.is(init.status, 0, shown(init));
  const schema = /^# yaml-language-server: \$schema=(.+)$/m.exec(readFileSync(join(empty, 'planned-failover.yml'), 'utf8'))?.[1] ?? '';
  assert.ok(schema.startsWith(join(realpathSync(installed), 'schemas') + '/') && existsSync(schema), `the copy's schema line names the installed package's schema: ${schema}`);

  const plan = runbook(['plan', 'planned-failover.yml', '--lab'], empty);
  assert.is(plan.status, 0, shown(plan));
  assert.match(plan.stdout, /^\w+: planned-failover {2}\(planned-failover\.yml, sha256/m, 'init\'s copy, the local file, wins');

  const apply = runbook(['apply', 'planned-failover.yml', '--lab', '--yes', '--set', 'stoppedFor=1s', '--set', 'stableFor=1s', '--set', 'pollInterval=100ms'], empty);
  assert.is(apply.status, 0, shown(apply));
  assert.match(apply.stdout, /Exit 0: done/);

  // And without init: the installed package's own runbook, found by name.
  const elsewhere = tempDir('runbook-user-');
  const shipped = runbook(['plan', 'planned-failover.yml', '--lab'], elsewhere);
  assert.is(shipped.status, 0, shown(shipped));
  assert.ok(shipped.stderr.includes(`using the shipped runbook ${join(realpathSync(installed), 'runbooks', 'planned-failover.yml')}\n`), shown(shipped));
});

test.run();
