// Each test file's wall and CPU time in an earlier full run, kept in test/runner/timings.json (in
// the repository, so that a fresh checkout and CI schedule by it too). `node dist/test/run.js
// --record-timings` writes what the run measured into it, with the load it was measured at.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileTiming } from './schedule.js';

/** test/runner/timings.json in the checkout (this module runs from dist/test/runner/). */
export const TIMINGS_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'runner', 'timings.json');

interface TimingsDocument {
  /** Why the numbers are what they are: when, and how busy the machine was. */
  measured: string;
  files: Record<string, FileTiming>;
}

export function readTimings(file = TIMINGS_FILE): Record<string, FileTiming> {
  if (!existsSync(file)) return {};
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as TimingsDocument).files ?? {};
  } catch {
    // A damaged hint file only costs the order: the run still runs every file.
    return {};
  }
}

/** Merges `measured` into the file (files not run keep their old timing), sorted by path. */
export function recordTimings(measured: Record<string, FileTiming>, concurrency: number, file = TIMINGS_FILE): void {
  const files = { ...readTimings(file), ...measured };
  const sorted = Object.fromEntries(Object.keys(files).sort().map((k) => [k, files[k]!]));
  const load = loadavg().map((l) => l.toFixed(1)).join(' ');
  const doc: TimingsDocument = { measured: `${new Date().toISOString()}, ${concurrency} files at once, load average at the end ${load}`, files: sorted };
  writeFileSync(file, JSON.stringify(doc, null, 1) + '\n');
}
