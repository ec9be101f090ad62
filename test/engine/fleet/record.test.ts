// The wave record (pure: files in a temporary directory): what a link said to act on is kept, and a
// hand edit that would put control characters (terminal escapes) into the summary is a damaged record.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWaveRecord, recordLine, unusedRunId, waveFile, waveRecordSaver, writeWaveRecord, type WaveRecord } from '../../../engine/fleet/record.js';

const waveId = 'wave-20261206T231500Z-abcd';

function recordWith(attention: string[]): WaveRecord {
  const now = new Date().toISOString();
  return {
    kind: 'runbook-wave', version: 1, waveId, started: now, updated: now, user: 'dba', host: 'vm',
    runbook: { file: '/r/planned-failover.yml', sha256: 'a'.repeat(64) }, inventory: { file: '/r/fleet.yml', sha256: 'b'.repeat(64) },
    sets: [], options: { parallel: 1, canary: 0, allowDataLoss: [] },
    links: [{ name: 'dag1', inventory: '/r/dag1.yml', state: 'done', exitCode: 0, changed: ['sqlServer: FAILOVER'], attention }],
  };
}

test('a link\'s Attention lines and changes are read back as written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-wave-record-'));
  writeWaveRecord(dir, recordWith(['downtime: That was 4.1s (since 2026-12-06 23:15:00 UTC).']));
  const read = readWaveRecord(dir, waveId);
  assert.not.ok('problem' in read, JSON.stringify(read));
  assert.equal((read as WaveRecord).links[0]!.attention, ['downtime: That was 4.1s (since 2026-12-06 23:15:00 UTC).']);
  assert.equal((read as WaveRecord).links[0]!.changed, ['sqlServer: FAILOVER']);
});

test('an Attention line edited to carry a terminal escape, or not a list of lines, is a damaged record', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-wave-record-'));
  writeWaveRecord(dir, recordWith(['fine']));
  const file = waveFile(dir, waveId);
  const edited = JSON.parse(readFileSync(file, 'utf8'));
  edited.links[0].attention = ['\u001b]52;c;ZWNobyBoaQ==\u0007 copied to your clipboard'];
  writeFileSync(file, JSON.stringify(edited));
  assert.equal(readWaveRecord(dir, waveId), { problem: `${file}: link dag1: attention is not a list of lines` });
  edited.links[0].attention = 'one line';
  writeFileSync(file, JSON.stringify(edited));
  assert.equal(readWaveRecord(dir, waveId), { problem: `${file}: link dag1: attention is not a list of lines` });
});

test('a line a server worded with control characters is kept with spaces for them, so the record stays readable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-wave-record-'));
  const worded = 'failover: Msg 41122\nline two\u001b[31m';
  writeWaveRecord(dir, recordWith([recordLine(worded)]));
  const read = readWaveRecord(dir, waveId);
  assert.not.ok('problem' in read, JSON.stringify(read));
  assert.equal((read as WaveRecord).links[0]!.attention, ['failover: Msg 41122 line two [31m']);
});

test('a running wave\'s saves: each resolves with the record as it was when asked on disk; saves asked while one is written share the next write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-wave-record-'));
  const record = recordWith([]);
  record.links = Array.from({ length: 20 }, (_, i) => ({ name: `dag${i + 1}`, inventory: `/r/dag${i + 1}.yml`, state: 'pending' as const }));
  const saver = waveRecordSaver(dir, record);
  const saves: Array<Promise<void>> = [];
  for (const [i, link] of record.links.entries()) {
    Object.assign(link, { state: 'running', runId: `20261206T2315${String(i).padStart(2, '0')}Z-abcd` });
    saves.push(saver.save());
  }
  // Twenty links starting in one turn of the event loop: one write, which begins after them all.
  assert.is(new Set(saves).size, 1, 'twenty saves, one write');
  await new Promise((resolve) => setImmediate(resolve));
  // That write has begun: saves asked now are not in it, and share the one after it.
  record.links[0]!.state = 'done';
  const later = [saver.save(), saver.save()];
  assert.is(later[0], later[1]);
  assert.is.not(later[0], saves[0]);
  await saves[0];
  assert.equal((readWaveRecord(dir, waveId) as WaveRecord).links.map((l) => l.state), record.links.map(() => 'running'));
  await later[0];
  assert.is((readWaveRecord(dir, waveId) as WaveRecord).links[0]!.state, 'done');
});

test("a new link's run id is one no other link of the wave has (two links started in one second drew the same one, and the second was refused)", () => {
  const record = recordWith([]);
  record.links.push({ name: 'dag2', inventory: '/r/dag2.yml', state: 'running', runId: '20261207T060841Z-cfd1' });
  const drawn = ['20261207T060841Z-cfd1', '20261207T060841Z-cfd1', '20261207T060841Z-0a15'];
  assert.is(unusedRunId(record, () => drawn.shift()!), '20261207T060841Z-0a15');
  assert.equal(drawn, []);
});

test.run();
