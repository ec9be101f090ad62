// The wave's own record, `.runbook/waves/<wave-id>.json` (under RUNBOOK_JOURNAL_DIR/waves when that
// is set): which runbook, which fleet inventory (its sha256), the options, and per link its run id,
// state and exit code. Each link's run keeps its own journal; this says which runs make the wave,
// so `apply --resume <wave-id>` finds the unfinished ones. Rewritten whole (temp file, fsync,
// rename) on every change, so a crash leaves the last complete record. It holds no secret: --set
// values of secret inputs are not kept (a resume asks for them again, as a run's resume does).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isRecord } from '../core/record.js';

export type WaveLinkState = 'pending' | 'running' | 'done' | 'failed' | 'not started';

export interface WaveLinkRecord {
  name: string;
  /** The link's single-link inventory, written by the wave from the fleet's. */
  inventory: string;
  /** sha256 of that file as the wave wrote it: a resume refuses a link whose file says something else. */
  inventorySha256?: string;
  runId?: string;
  state: WaveLinkState;
  exitCode?: number;
  /**
   * What the link's last finished run changed and said to act on (its summary's Attention lines):
   * kept so that a resume's summary, which runs only the unfinished links, still says them.
   */
  changed?: string[];
  attention?: string[];
}

export interface WaveRecord {
  kind: 'runbook-wave';
  version: 1;
  waveId: string;
  started: string;
  updated: string;
  user: string;
  host: string;
  runbook: { file: string; sha256: string };
  inventory: { file: string; sha256: string };
  /** `--set k=v` as given, secret inputs left out. */
  sets: string[];
  options: { parallel: number; canary: number; maxFailures?: number; allowDataLoss: string[] };
  links: WaveLinkRecord[];
  finished?: { exitCode: number; stoppedBy?: string };
}

export const WAVE_ID = /^wave-\d{8}T\d{6}Z-[0-9a-f]{4}$/;

export function newWaveId(now: Date = new Date()): string {
  return `wave-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(2).toString('hex')}`;
}

/**
 * A run id no link of the wave has: run ids carry the second and two random bytes, so 50 links
 * started in one second share one about once in fifty waves, and the second link was then refused
 * (its journal's lock held by the first). `fresh` makes a candidate (newRunId).
 */
export function unusedRunId(record: Pick<WaveRecord, 'links'>, fresh: () => string): string {
  const taken = new Set(record.links.map((l) => l.runId).filter((id): id is string => id !== undefined));
  for (;;) {
    const id = fresh();
    if (!taken.has(id)) return id;
  }
}

export function waveDirOf(env: NodeJS.ProcessEnv, cwd: string, resolveDir: (p: string) => string): string {
  return env.RUNBOOK_JOURNAL_DIR ? join(resolveDir(env.RUNBOOK_JOURNAL_DIR), 'waves') : join(cwd, '.runbook', 'waves');
}

export function waveFile(dir: string, waveId: string): string {
  return join(dir, `${waveId}.json`);
}

/** The record as its file holds it, stamped now. */
const recordText = (record: WaveRecord): string => JSON.stringify({ ...record, updated: new Date().toISOString() }, null, 2) + '\n';

export function writeWaveRecord(dir: string, record: WaveRecord): void {
  mkdirSync(dir, { recursive: true });
  const file = waveFile(dir, record.waveId);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, recordText(record));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export interface WaveRecordSaver {
  /** Resolves once the record, as it is now, is on disk (temp file, fsync, rename, as writeWaveRecord). */
  save(): Promise<void>;
}

/**
 * The record of a running wave, saved as its links start and end. A link's run starts only once
 * the record names its run id on disk (a resume must find that run, not start another), but a
 * synchronous fsync stops the one thread every link's run shares, and 50 links starting at once
 * made 50 rewrites of the whole record in a row (bench/fleet's profile: ~2 s of a 50-link wave
 * under load). Here the fsync runs off the thread, and saves asked while one is being written are
 * written together by the next: each resolves when a write that began after it was asked is done.
 */
export function waveRecordSaver(dir: string, record: WaveRecord): WaveRecordSaver {
  const file = waveFile(dir, record.waveId);
  const tmp = `${file}.${process.pid}.tmp`;
  let last: Promise<void> = Promise.resolve();
  /** The write queued behind the one in progress, not begun yet: a save asked now rides on it. */
  let queued: Promise<void> | undefined;
  const write = async () => {
    queued = undefined;
    // The text is taken as the write begins: every change made before it is in it.
    const text = recordText(record);
    await mkdir(dir, { recursive: true });
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  };
  return {
    save() {
      if (queued) return queued;
      queued = last.catch(() => undefined).then(write);
      last = queued;
      return queued;
    },
  };
}

/** The record of a wave, checked: a hand-edited or damaged one is a problem, never a guess. */
export function readWaveRecord(dir: string, waveId: string): WaveRecord | { problem: string } {
  if (!WAVE_ID.test(waveId)) return { problem: `"${waveId}" is not a wave id (wave-<time>-<hex>)` };
  const file = waveFile(dir, waveId);
  if (!existsSync(file)) return { problem: `no wave ${waveId} in ${dir}` };
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return { problem: `${file} is not JSON` };
  }
  const problem = recordProblem(value, waveId);
  return problem ? { problem: `${file}: ${problem}` } : (value as WaveRecord);
}

/** Control characters: a record's lines are printed, and a hand-edited record could carry escape sequences to the terminal. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** A line as the record keeps it: control characters made spaces, so that its reader, which refuses them, can read it back. */
export const recordLine = (line: string): string => line.replace(CONTROL, ' ');

const textLines = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string' && recordLine(x) === x);

const STATES: WaveLinkState[] = ['pending', 'running', 'done', 'failed', 'not started'];

function recordProblem(v: unknown, waveId: string): string | undefined {
  if (!isRecord(v) || v.kind !== 'runbook-wave' || v.version !== 1) return 'not a wave record (version 1)';
  if (v.waveId !== waveId) return `it is the record of ${String(v.waveId)}`;
  const str = (x: unknown) => typeof x === 'string' && x !== '';
  if (!isRecord(v.runbook) || !str(v.runbook.file) || !str(v.runbook.sha256)) return 'runbook missing';
  if (!isRecord(v.inventory) || !str(v.inventory.file) || !str(v.inventory.sha256)) return 'inventory missing';
  if (!Array.isArray(v.sets) || !v.sets.every((s) => typeof s === 'string')) return 'sets missing';
  const o = v.options;
  if (!isRecord(o) || !Number.isInteger(o.parallel) || !Number.isInteger(o.canary) || !Array.isArray(o.allowDataLoss)) return 'options missing';
  if (!Array.isArray(v.links) || v.links.length === 0) return 'no links';
  for (const l of v.links) {
    if (!isRecord(l) || !str(l.name) || !str(l.inventory) || !STATES.includes(l.state as WaveLinkState)) return 'a link entry is damaged';
    if (l.inventorySha256 !== undefined && !(typeof l.inventorySha256 === 'string' && /^[0-9a-f]{64}$/.test(l.inventorySha256))) return `link ${String(l.name)}: inventorySha256 is not a sha256`;
    for (const key of ['changed', 'attention'] as const) {
      if (l[key] !== undefined && !textLines(l[key])) return `link ${String(l.name)}: ${key} is not a list of lines`;
    }
    if (l.runId !== undefined && !(typeof l.runId === 'string' && /^[0-9TZ]+-[0-9a-f]{4}$/.test(l.runId))) return `link ${String(l.name)}: run id ${String(l.runId)} is not one`;
  }
  const names = v.links.map((l) => String((l as { name: unknown }).name).toLowerCase());
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) return `link ${twice} is listed twice`;
  return undefined;
}
