// What a wave confirmed is what its links run: the runbook (its sha256 pinned in the record) and
// each link's inventory (its sha256 in the record, matched by name); a resume refuses what changed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetLab, fleetRoles } from '../../helpers/fleet-run.js';
import { FAST_PLANNED as FAST, runbookFile } from '../../helpers/lab-run.js';

const sets = FAST.flatMap((s) => ['--set', s]);

interface Rec {
  waveId: string;
  runbook: { file: string; sha256: string };
  links: Array<{ name: string; state: string; exitCode?: number; runId?: string; inventory: string; inventorySha256?: string }>;
}

function recordFile(journalDir: string): string {
  const dir = join(journalDir, 'waves');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.is(files.length, 1, 'one wave record');
  return join(dir, files[0]!);
}
const readRecord = (journalDir: string): Rec => JSON.parse(readFileSync(recordFile(journalDir), 'utf8'));

test('F16: a runbook edited while the wave runs is not run on the links not started yet: refused, exit 3, nothing sent', async () => {
  const f = await fleetLab({ links: 2 });
  try {
    const rb = join(f.dir, 'rb.yml');
    copyFileSync(runbookFile('planned-failover'), rb);
    const running = f.run(['apply', rb, '-i', f.fleetFile, '--links', 'dag1,dag2', '--parallel', '1', '--yes', ...sets]);
    // Edit the file once dag1 has started (a git pull in the runbook repo during the wave).
    for (let i = 0; i < 500; i++) {
      await new Promise((r) => setTimeout(r, 10));
      if (!existsSync(join(f.journalDir, 'waves'))) continue;
      if (readRecord(f.journalDir).links[0]?.state === 'running') break;
    }
    appendFileSync(rb, '\n# edited during the wave\n');
    const r = await running;
    assert.is(r.code, 3, r.stdout + r.stderr);
    const record = readRecord(f.journalDir);
    assert.equal(record.links.map((l) => `${l.name}:${l.state}:${l.exitCode}`), ['dag1:done:0', 'dag2:failed:3']);
    assert.is(record.links[1]!.runId, undefined, 'no run for dag2');
    assert.match(r.stderr, /\[dag2\] runbook: refusing link dag2: the runbook .*rb\.yml changed \(sha256 [0-9a-f]{12} -> [0-9a-f]{12}\) since the wave was confirmed/);
    assert.equal(fleetRoles(f.lab), { dag1: 'SP', dag2: 'PS' });
    // dag1 ran the confirmed text: its journal's runbook sha256 is the wave's.
    const journal = readFileSync(join(f.journalDir, `${record.links[0]!.runId}.jsonl`), 'utf8');
    assert.ok(journal.includes(record.runbook.sha256), 'dag1 journal pins the confirmed sha256');
  } finally {
    await f.stop();
  }
});

test.run();
