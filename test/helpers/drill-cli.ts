// `runbook drill` as the drill tests run it: the built CLI with --format json, and shipped
// runbooks edited in a temporary folder (test/safety/drill.test.ts, drill-judge.test.ts).
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, runCli, tempDir } from './cli.js';

export const runbook = (name: string) => join(root, 'runbooks', `${name}.yml`);
export const stalled = join(root, 'test', 'fixtures', 'drill', 'stalled.yml');
export const FAST = ['--set', 'stableFor=300ms', '--set', 'pollInterval=50ms', '--set', 'lsnTimeout=3s'];
/** planned-failover.yml's first wait has its own window (stoppedFor): short too, or every run stops there. */
export const FAST_PLANNED = [...FAST, '--set', 'stoppedFor=200ms'];
/** forced-failover.yml refuses when SQL Server is down and its version was not given. */
export const FORCED_VERSION = ['--set', 'sqlServerVersion=16.0.4125.3'];

export interface DrillJson {
  ok: boolean;
  runs: number;
  runsPerSecond: number;
  exercised: boolean;
  changedRuns: number;
  cases: Array<{ scenario: string; fault: string; runs: number; violations: number; notFired: number; exits: string[]; stoppedAt: string[] }>;
  violations: Array<{ case: string; seed: number; invariant: string; message: string; replay: string }>;
}

export async function drill(args: string[], cwd?: string): Promise<{ code: number | null; json: DrillJson; stderr: string }> {
  const r = await runCli(['drill', ...args, '--format', 'json'], { timeoutMs: 170_000, ...(cwd ? { cwd } : {}) });
  let json: DrillJson;
  try {
    json = JSON.parse(r.stdout) as DrillJson;
  } catch {
    throw new Error(`no JSON verdict (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, json, stderr: r.stderr };
}

/** A copy of a shipped runbook with `edit` applied to its text, in a temporary folder. */
export function edited(name: string, edit: (text: string) => string): string {
  const text = readFileSync(runbook(name), 'utf8');
  const out = edit(text);
  assert.is.not(out, text, 'the edit changed the runbook');
  const file = join(tempDir('runbook-drill-'), `${name}-edited.yml`);
  writeFileSync(file, out.replace('$schema=../schemas/', `$schema=${root}/schemas/`));
  return file;
}

export const withoutStep = (text: string, id: string) => {
  const start = text.indexOf(`  - id: ${id}\n`);
  const next = text.indexOf('\n  - id: ', start + 1);
  return text.slice(0, start) + text.slice(next + 1);
};
