// runbook rebuilt or upgraded while an apply runs: a module the process first loads after that is of
// the new build, which the linked modules the process already runs refuse (engine/build/link/
// runtime.ts). apply loads every driver module it may need before anything is sent
// (engine/drivers/on-demand.ts loadDrivers), so the refusal, if any, comes before any change (exit 1,
// nothing sent), and a rebuild after that is never met mid-run. armDeleteLink used to send the
// DELETE and only then load arm/lro.js to follow it: refused after its change (closing note r6).
//
// The run is a copy of the built package in a temporary folder, so the test can replace its files
// under it; the replaced module is arm/lro.js as a newer build's facade would be (its path, another
// build id), refused by the copy's own linked.js with the real message.
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChildLab } from '../helpers/child-runs.js';
import { root, startCli, tempDir, type CliResult } from '../helpers/cli.js';

/** The package as installed: what `npm pack` ships of dist, package.json, schemas; node_modules shared. */
function installedCopy(): { bin: string; dist: string } {
  const dir = tempDir('runbook-rebuilt-');
  const dist = join(dir, 'dist');
  mkdirSync(dist);
  for (const part of ['engine', 'steps', 'cache']) cpSync(join(root, 'dist', part), join(dist, part), { recursive: true, filter: (f) => !f.endsWith('.map') });
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  cpSync(join(root, 'schemas'), join(dir, 'schemas'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { bin: join(dist, 'engine', 'cli', 'bin.js'), dist };
}

/** Replaces `dist`'s arm/lro.js by a facade of another build, as a rebuild that linked it would leave it. */
async function rebuildLro(dist: string): Promise<void> {
  const names = Object.keys(await import(pathToFileURL(join(root, 'dist', 'engine', 'drivers', 'arm', 'lro.js')).href));
  writeFileSync(
    join(dist, 'engine', 'drivers', 'arm', 'lro.js'),
    [
      '// runbook: linked facade',
      'import { __linked$require } from "../../linked.js";',
      'const __linked$ns = __linked$require("./drivers/arm/lro.js", "0123456789abcdef");',
      `export const { ${names.join(', ')} } = __linked$ns;`,
      '',
    ].join('\n'),
  );
}

/** A read, where the lab can hold the run, then the delete of the link (a change: LSNs not proven equal, so data loss). */
function deleteRunbook(dir: string): string {
  const file = join(dir, 'delete.yml');
  writeFileSync(
    file,
    [
      'name: delete', 'description: A read, then the link deleted.', 'steps:',
      '  - id: look', '    type: sqlExec', '    target: sqlServer', '    with:', '      impact: read', '      sql: "SELECT 1 AS held_here;"',
      '  - id: remove', '    type: armDeleteLink', '    with:', '      pollInterval: 50ms', '',
    ].join('\n'),
  );
  return file;
}

function applyCopy(lab: ChildLab, bin: string, file: string): { done: Promise<CliResult> } {
  const link = lab.lab.inventory.link.name;
  return startCli(['apply', file, '-i', lab.inventory, '--yes', '--allow-data-loss', link], { env: lab.env(), cwd: lab.dir, bin, timeoutMs: 60_000 });
}

const deletes = (lab: ChildLab) => lab.lab.armRequests().filter((r) => r.method === 'DELETE').length;

test('a driver module of another build is refused before anything is sent: exit 1, no DELETE, no journal', async () => {
  const lab = await ChildLab.start();
  try {
    const { bin, dist } = installedCopy();
    await rebuildLro(dist);
    const r = await applyCopy(lab, bin, deleteRunbook(lab.dir)).done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 1, out);
    assert.match(out, /could not load the engine's drivers: runbook was rebuilt or upgraded while this process ran: \S+\/drivers\/arm\/lro\.js belongs to build 0123456789abcdef/);
    assert.match(out, /Nothing was run: no lock, no journal/);
    assert.is(deletes(lab), 0, 'no DELETE went out');
    assert.is(lab.count(/held_here/), 0, 'no step ran');
    assert.equal(lab.runIds(), [], 'no journal');
  } finally {
    await lab.stop();
  }
});

test('rebuilt while the run is held before its change: the run goes on with what it loaded, and the DELETE is followed to its end (exit 0)', async () => {
  const lab = await ChildLab.start();
  try {
    const { bin, dist } = installedCopy();
    const pin = lab.lab.hold({ match: /held_here/, side: 'sqlServer' });
    const run = applyCopy(lab, bin, deleteRunbook(lab.dir));
    await Promise.race([pin.reached, run.done.then((r) => assert.unreachable(`the run ended before the read: ${r.stdout}${r.stderr}`))]);
    await rebuildLro(dist);
    pin.release();
    const r = await run.done;
    const out = r.stdout + r.stderr;
    assert.is(r.code, 0, out);
    assert.not.match(out, /rebuilt or upgraded/);
    assert.is(deletes(lab), 1);
  } finally {
    await lab.stop();
  }
});

test.run();
