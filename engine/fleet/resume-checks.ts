// What `apply --resume <wave-id>` checks before it runs anything, and what each link checks
// before it starts: the wave runs what its operator confirmed (the runbook and fleet inventory by
// sha256, each link's inventory by name, path and text), and a link the record says started is
// resumed from its journal, never started afresh.
import { existsSync, lstatSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readJournal } from '../apply/journal/read.js';
import { runInfo } from '../apply/journal/runs.js';
import { sha256 } from '../plan/build.js';
import { readRegularFile } from '../load/bounded-file.js';
import { MAX_FILE_BYTES } from '../load/yaml.js';
import { linkInventoryText, writeLinkInventory, type PlannedLink } from './link-inventory.js';
import type { WaveRecord } from './record.js';

/** The wave as loaded again from the record's files. */
export interface ReloadedWave {
  fleetFile: string;
  fleetSha: string;
  runbookSha: string;
  links: PlannedLink[];
}

/**
 * The record names its links as the fleet spells them, each once: a name matched only by folding
 * case (or not at all) is a hand-edited record, refused as damaged rather than guessed.
 */
export function recordLinksProblem(record: WaveRecord, fleetNames: readonly string[]): string | undefined {
  for (const entry of record.links) {
    if (fleetNames.includes(entry.name)) continue;
    const folded = fleetNames.find((n) => n.toLowerCase() === entry.name.toLowerCase());
    return `link ${entry.name} is not a link of the fleet as spelled there${folded ? ` (${folded})` : ''}`;
  }
  return undefined;
}

/**
 * Each link's run is a run of that link, and of no other link: a record whose run id names another
 * link's journal (a hand edit, a copy) would have the wave take that run's outcome as this link's
 * (a success: "done", never run). Refused as a damaged record.
 */
export function recordRunsProblem(record: WaveRecord, journalDir: string): string | undefined {
  const runIds = record.links.flatMap((l) => (l.runId !== undefined ? [l.runId] : []));
  const twice = runIds.find((id, i) => runIds.indexOf(id) !== i);
  if (twice !== undefined) return `run ${twice} is named for more than one link`;
  for (const l of record.links) {
    const link = l.runId === undefined ? undefined : journalLink(journalDir, l.runId);
    if (link !== undefined && link !== l.name) return `link ${l.name}: its run ${l.runId} is a run of link ${link}`;
  }
  return undefined;
}

/** The link a run's journal says it ran on; undefined when there is no journal or it cannot be read (the run's resume says why). */
function journalLink(journalDir: string, runId: string): string | undefined {
  const path = join(journalDir, `${runId}.jsonl`);
  if (!existsSync(path)) return undefined;
  try {
    return runInfo(path, readJournal(path, runId).records, hostname())?.link;
  } catch {
    return undefined;
  }
}

/** Every reason the recorded wave cannot be resumed as it is; empty when it can. */
export function resumeProblems(wave: ReloadedWave, record: WaveRecord, journalDir: string): string[] {
  const changed = [
    ...(wave.fleetSha !== record.inventory.sha256 ? [`the fleet inventory ${record.inventory.file} changed (sha256 ${record.inventory.sha256.slice(0, 12)} -> ${wave.fleetSha.slice(0, 12)})`] : []),
    ...(wave.runbookSha !== record.runbook.sha256 ? [`the runbook ${record.runbook.file} changed`] : []),
  ];
  return changed.length ? changed : [...linkInventoryProblems(wave, record), ...lostJournals(record, journalDir)];
}

/**
 * On resume, each unfinished link runs on the inventory file the wave wrote for it: matched by
 * name, at the path the wave derives (not one the record points elsewhere), with the text the
 * checked fleet gives (and the sha256 the record kept). A missing file is written again, as it
 * was; a changed one, or a symbolic link in its place, refuses the resume.
 */
function linkInventoryProblems(wave: ReloadedWave, record: WaveRecord): string[] {
  const problems: string[] = [];
  for (const link of wave.links) {
    const entry = record.links.find((r) => r.name === link.name);
    if (!entry) {
      problems.push(`link ${link.name} has no entry in the record`);
      continue;
    }
    if (entry.state === 'done') continue;
    const expected = linkInventoryText(wave.fleetFile, link);
    if (entry.inventory !== link.file) {
      problems.push(`link ${link.name}: the record names ${entry.inventory} as its inventory, but the wave wrote ${link.file}`);
      continue;
    }
    if (entry.inventorySha256 !== undefined && entry.inventorySha256 !== sha256(expected)) {
      problems.push(`link ${link.name}: the fleet now gives it another inventory than the one the wave wrote (sha256 ${entry.inventorySha256.slice(0, 12)} -> ${sha256(expected).slice(0, 12)})`);
      continue;
    }
    // Nothing there at all: not even a link, which writing would follow to wherever it points.
    if (lstatSync(link.file, { throwIfNoEntry: false }) === undefined) {
      writeLinkInventory(wave.fleetFile, link);
      continue;
    }
    const read = readRegularFile(link.file, MAX_FILE_BYTES);
    if ('problem' in read) problems.push(`link ${link.name}: ${link.file} ${read.problem}`);
    else if (read.text !== expected) problems.push(`link ${link.name}: its inventory ${link.file} changed since the wave wrote it (sha256 ${sha256(expected).slice(0, 12)} -> ${sha256(read.text).slice(0, 12)})`);
  }
  return problems;
}

/**
 * A link the record says started (a run id) resumes that run from its journal: a journal not found
 * is refused, as a single-link resume is, never taken for "not started". The one exception is a run
 * killed before its journal existed: its lock file alone is left, and nothing was sent.
 */
function lostJournals(record: WaveRecord, journalDir: string): string[] {
  return record.links
    .filter((l) => l.state !== 'done' && l.runId !== undefined && !existsSync(join(journalDir, `${l.runId}.jsonl`)) && !existsSync(join(journalDir, `${l.runId}.lock`)))
    .map((l) => `link ${l.name}: its run ${l.runId} has no journal in ${journalDir} (${l.runId}.jsonl); a run the record says started is resumed from its journal, never started afresh (resume from the directory the wave ran in, or with its RUNBOOK_JOURNAL_DIR)`);
}

/**
 * Links whose run ended in success although the record does not say done: the process was killed
 * after the run's last journal line and before the wave saved the link's outcome. The journal is
 * the truth about a run; resuming it would only be refused ("it already succeeded") for ever. A
 * journal that cannot be read is left to the run's own resume, which refuses it.
 */
export function runsFinishedUnrecorded(record: WaveRecord, journalDir: string): Array<{ name: string; runId: string }> {
  const finished: Array<{ name: string; runId: string }> = [];
  for (const l of record.links) {
    if (l.state === 'done' || l.runId === undefined) continue;
    const path = join(journalDir, `${l.runId}.jsonl`);
    if (!existsSync(path)) continue;
    try {
      if (runInfo(path, readJournal(path, l.runId).records, hostname())?.state === 'succeeded') finished.push({ name: l.name, runId: l.runId });
    } catch {
      // Damaged: the run's resume says where.
    }
  }
  return finished;
}

/** How the runbook file now differs from the one the wave was confirmed on, if it does. */
export function runbookChange(record: Pick<WaveRecord, 'runbook'>): string | undefined {
  const read = readRegularFile(record.runbook.file, MAX_FILE_BYTES);
  if ('problem' in read) return `the runbook ${record.runbook.file} can no longer be read (${read.problem})`;
  const now = sha256(read.text);
  return now === record.runbook.sha256 ? undefined : `the runbook ${record.runbook.file} changed (sha256 ${record.runbook.sha256.slice(0, 12)} -> ${now.slice(0, 12)})`;
}
