// `npm run mutate`: StrykerJS over the safety core. Each group is one compiled file (or the part of
// it that is pure logic) and the fast tests that own it: Stryker mutates the JavaScript under dist/
// (after `npm run build:unlinked`: in the linked build those files are facades), so a mutant costs one `node dist/test/...test.js` and no TypeScript build,
// with its command runner (uvu has no Stryker plugin). One Stryker run per group; at the end a
// table of the mutation score per file, a total, and every survivor, to compare with README's list
// ("Mutation testing"). Not part of npm test: it takes minutes.
//
// MUTATE_CONCURRENCY (default 2: on 2 shared cores the whole run took 18 min with 2 and about
// 24 min with 1, the endless-loop mutants' waits overlapping) sets Stryker's test processes per run;
// MUTATE_ONLY=<part of a file name> runs only the matching groups.
import { Stryker } from '@stryker-mutator/core';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

type StrykerOptions = ConstructorParameters<typeof Stryker>[0];
type MutantResult = Awaited<ReturnType<Stryker['runMutationTest']>>[number];

interface Group {
  /** The compiled file, relative to the repository. */
  mutate: string;
  /**
   * Only these top-level functions of it are mutated: the pure logic. The rest of the file talks
   * to the replicas, and its tests are lab tests, seconds per mutant.
   */
  functions?: string[];
  /**
   * Or: everything but these top-level functions, which talk to the replicas and are covered by
   * lab tests (seconds per mutant).
   */
  except?: string[];
  /** Or: these methods of the file's `defineStep({...})` literal (a step type's `run`, say). */
  methods?: string[];
  /** Run only when MUTATE_ONLY names it: its tests are lab tests, and it would double the whole run. */
  optIn?: true;
  /** The compiled tests that own it (run as `node <test>`, one after the other). */
  tests: string[];
  /** Why this file belongs to the safety core. */
  why: string;
}

export const GROUPS: Group[] = [
  { mutate: 'dist/engine/core/lsn.js', tests: ['dist/test/engine/core/lsn.test.js'], why: 'LSN parsing and the stability window' },
  { mutate: 'dist/engine/drivers/sql/lsn-queries.js', except: ['readSideLsn'], tests: ['dist/test/engine/core/lsn.test.js'], why: 'which LSN of which row is compared, and when a pair is ready' },
  { mutate: 'dist/engine/apply/guards.js', functions: ['checkDataLossAcknowledged', 'confirmFirstChange'], tests: ['dist/test/engine/apply/guards.test.js'], why: 'the data-loss acknowledgement and the first-change confirmation' },
  { mutate: 'dist/engine/drivers/sql/roles.js', functions: ['otherSide', 'roleFromRows', 'judgeRoles', 'describeObservations', 'loneSecondary'], tests: ['dist/test/engine/drivers/sql-roles.test.js'], why: 'the role verdicts (split-brain, no primary, lone secondary)' },
  { mutate: 'dist/engine/apply/outcome.js', tests: ['dist/test/engine/apply/outcome.test.js'], why: 'verify until known; an error is never "not done"' },
  { mutate: 'dist/engine/apply/resume-reads.js', tests: ['dist/test/engine/apply/resume-reads.test.js'], why: 'what a resume verifies and reads again' },
  { mutate: 'dist/engine/apply/journal/run-lock.js', tests: ['dist/test/engine/apply/run-lock.test.js'], why: 'the run lock on the host' },
  { mutate: 'dist/engine/core/redact.js', tests: ['dist/test/engine/core/redact.test.js'], why: 'secrets masked in every sink' },
  { mutate: 'dist/engine/core/sql-literal.js', tests: ['dist/test/engine/core/redact.test.js', 'dist/test/engine/template/helpers.test.js'], why: 'T-SQL string literals (str, the redactor)' },
  { mutate: 'dist/engine/template/helpers.js', tests: ['dist/test/engine/template/helpers.test.js'], why: 'the quoting helpers ident and str' },
  { mutate: 'dist/engine/drivers/sql/scanner.js', tests: ['dist/test/engine/drivers/sql-scanner.test.js'], why: 'the one T-SQL scanner' },
  // Lab tests (about 20 s a mutant; 102 mutants took 23 minutes on the shared 2 cores): the wait
  // loop's deadline, window and retries (attack16 F1). MUTATE_ONLY=waitLsnStable runs it.
  { mutate: 'dist/steps/waitLsnStable.js', methods: ['run'], tests: ['dist/test/steps/waitLsnStable.test.js'], why: 'the LSN wait: its deadline, stability window and retries', optIn: true },
];

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const reports = join(root, 'reports', 'mutation');

const killedStatuses = new Set(['Killed', 'Timeout']);
const counted = (r: MutantResult) => r.status !== 'CompileError' && r.status !== 'RuntimeError' && r.status !== 'Ignored';

/** `start-end` (1-based lines) of a top-level function: from `export function name` to its closing `}` in column 0. */
function functionLines(group: Group, lines: string[], name: string): [number, number] {
  const start = lines.findIndex((l) => new RegExp(`^export (async )?function ${name}\\(`).test(l));
  const end = lines.findIndex((l, i) => i > start && l === '}');
  if (start < 0 || end < 0) throw new Error(`${group.mutate}: no top-level function ${name}`);
  return [start + 1, end + 1];
}

/** `start-end` (1-based lines) of a method of the step literal: from `    [async ]name(` to its `    },`. */
function methodLines(group: Group, lines: string[], name: string): [number, number] {
  const start = lines.findIndex((l) => new RegExp(`^    (async )?${name}\\(`).test(l));
  const end = lines.findIndex((l, i) => i > start && l === '    },');
  if (start < 0 || end < 0) throw new Error(`${group.mutate}: no method ${name} in the step literal`);
  return [start + 1, end + 1];
}

/** What Stryker mutates: the file, the named functions or methods, or the file but the excepted functions. */
function ranges(group: Group): string[] {
  if (!group.functions && !group.except && !group.methods) return [group.mutate];
  const lines = readFileSync(join(root, group.mutate), 'utf8').split('\n');
  if (group.methods) return group.methods.map((name) => methodLines(group, lines, name)).map(([a, b]) => `${group.mutate}:${a}-${b}`);
  if (group.functions) return group.functions.map((name) => functionLines(group, lines, name)).map(([a, b]) => `${group.mutate}:${a}-${b}`);
  const left = group.except!.map((name) => functionLines(group, lines, name)).sort((x, y) => x[0] - y[0]);
  const kept: string[] = [];
  let from = 1;
  for (const [a, b] of left) {
    if (a > from) kept.push(`${group.mutate}:${from}-${a - 1}`);
    from = b + 1;
  }
  if (from <= lines.length) kept.push(`${group.mutate}:${from}-${lines.length}`);
  return kept;
}

function options(group: Group, concurrency: number): StrykerOptions {
  const name = group.mutate.replace(/^dist\//, '').replace(/[/:]/g, '_');
  return {
    mutate: ranges(group),
    testRunner: 'command',
    commandRunner: { command: group.tests.map((t) => `node ${t}`).join(' && ') },
    coverageAnalysis: 'off',
    concurrency,
    // Only what a test run reads goes into the sandbox: the compiled code, the schemas beside it and the lab's scenarios.
    ignorePatterns: ['/*', '!/dist', '!/package.json', '!/runbooks', '!/schemas', '!/test/fixtures', '!/lab/scenarios', '/dist/**/*.map'],
    tempDirName: '.stryker-tmp',
    cleanTempDir: true,
    reporters: ['html', 'json'],
    htmlReporter: { fileName: join(reports, `${name}.html`) },
    jsonReporter: { fileName: join(reports, `${name}.json`) },
    logLevel: 'warn' as NonNullable<StrykerOptions['logLevel']>,
    fileLogLevel: 'off' as NonNullable<StrykerOptions['fileLogLevel']>,
    // A mutant still running this long after its tests' usual time (Stryker adds the dry run's time,
    // times 1.5) is an endless loop; each such mutant costs the whole wait, and the scanner has dozens.
    timeoutMS: 4_000,
  };
}

function lineOf(r: MutantResult): string {
  return `${r.location.start.line}:${r.location.start.column}`;
}

async function main(): Promise<void> {
  const concurrency = Number(process.env.MUTATE_CONCURRENCY ?? 2);
  const only = process.env.MUTATE_ONLY;
  const groups = GROUPS.filter((g) => (only ? g.mutate.includes(only) : !g.optIn));
  mkdirSync(reports, { recursive: true });
  process.chdir(root);
  const rows: Array<{ file: string; killed: number; total: number; seconds: number; failed?: true }> = [];
  const survivors: string[] = [];
  const started = Date.now();
  for (const group of groups) {
    const t0 = Date.now();
    let results: MutantResult[];
    try {
      results = await new Stryker(options(group, concurrency)).runMutationTest();
    } catch (error) {
      // E.g. its tests fail before any mutant: the file has no score, the run fails, the others go on.
      survivors.push(`${group.mutate}: not run (${(error as Error).message})`);
      rows.push({ file: group.mutate, killed: 0, total: 0, seconds: (Date.now() - t0) / 1000, failed: true });
      continue;
    }
    const mine = results.filter(counted);
    const killed = mine.filter((r) => killedStatuses.has(r.status)).length;
    rows.push({ file: group.mutate, killed, total: mine.length, seconds: (Date.now() - t0) / 1000 });
    for (const r of mine.filter((x) => !killedStatuses.has(x.status))) {
      survivors.push(`${group.mutate}:${lineOf(r)} ${r.status} ${r.mutatorName}: ${(r.replacement ?? '').replace(/\s+/g, ' ').slice(0, 100)}`);
    }
  }
  const pct = (k: number, t: number) => (t === 0 ? 'n/a' : `${((100 * k) / t).toFixed(1)}%`);
  const lines = ['', 'Mutation score per file (killed or timed out / mutants):'];
  for (const r of rows) lines.push(`  ${(r.failed ? 'FAILED' : pct(r.killed, r.total)).padStart(6)}  ${String(r.killed).padStart(4)}/${String(r.total).padEnd(4)} ${r.file}  (${r.seconds.toFixed(0)}s)`);
  const k = rows.reduce((s, r) => s + r.killed, 0);
  const t = rows.reduce((s, r) => s + r.total, 0);
  lines.push(`  ${pct(k, t).padStart(6)}  ${String(k).padStart(4)}/${String(t).padEnd(4)} total, in ${((Date.now() - started) / 1000).toFixed(0)}s with concurrency ${concurrency}`);
  lines.push('', `Survivors (${survivors.length}):`, ...survivors.map((s) => `  ${s}`), '');
  lines.push(`Reports: ${relative(root, reports)}/`);
  const text = lines.join('\n');
  console.log(text);
  writeFileSync(join(reports, 'summary.txt'), text + '\n');
  if (rows.some((r) => r.failed || (r.total > 0 && r.killed / r.total < 0.9))) process.exitCode = 1;
}

await main();
