// runCase (engine/drill/run-case.ts) with a stand-in lab and process: a run whose process never
// began it (a drill worker that died loading) stops the drill as the drill's own failure, never a
// run judged on its exit code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { ChildResult, StartRun } from '../../../engine/drill/child.js';
import { filesDigest, runCase, type DrillLab, type RunSettings } from '../../../engine/drill/run-case.js';
import { notRunLines } from '../../../engine/drill/report.js';
import { runDrill } from '../../../engine/drill/runner.js';
import { BUILT_ENGINE, ENGINE_CHANGED, engineState } from '../../../engine/drill/engine-build.js';
import { watchForStops } from '../../../engine/drill/stops.js';
import { tempDir } from '../../helpers/cli.js';
import { standIn } from '../../helpers/drill-stand-in.js';

const standInLab = (): DrillLab => ({
  inventory: { link: { name: 'dag1' } },
  env: {},
  statements: () => [],
  armRequests: () => [],
  ledger: () => ({ committed: 0, lost: 0 }),
  roles: () => ({ sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' }),
  setDown: () => undefined,
  stop: async () => undefined,
});

/**
 * A run without a fault with `settings` as they are (judged: one invocation), then one during which
 * `file` gets the text `next` (once its process has started, and imported whichever version it
 * found): what that second runCase threw, if it threw.
 */
async function changedMidRun(file: string, next: string, settings: RunSettings): Promise<Error | undefined> {
  const noFault = { id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' as const } };
  const unchanged = await runCase(noFault, 3, { ...settings, start: standIn([{ kind: 'run-finished' }], [], { exitsWith: 0 }) }, async () => standInLab());
  assert.is(unchanged.record.invocations.length, 1);
  const inner = standIn([{ kind: 'run-finished' }], [], { exitsWith: 0 });
  const changes: StartRun = (args, opts) => {
    writeFileSync(file, next);
    return inner(args, opts);
  };
  return runCase(noFault, 3, { ...settings, start: changes }, async () => standInLab()).then(() => undefined, (e: unknown) => e as Error);
}

const SETTINGS: RunSettings = { runbookFile: 'x.yml', facts: { name: 'x', dataLossSteps: [], declaresSplitBrain: false }, sets: [], deadlineMs: 5000, requestTimeoutMs: 1000 };

test('a kill at the last step that lands after the run journaled its end is not fired; one that lands before is (attack r5drill #2)', async () => {
  const killAtLast = { id: 'healthy/kill-at-1-last', scenario: 'healthy', fault: { kind: 'kill-at-step' as const, boundary: 1, step: 'last' } };
  const last = [{ kind: 'step-started', step: 'last' }];
  const late = await runCase(killAtLast, 1, { ...SETTINGS, start: standIn([...last, { kind: 'step-finished', step: 'last' }, { kind: 'run-finished' }], []) }, async () => standInLab());
  assert.is(late.fired, false);
  assert.equal(late.record.invocations.map((i) => [i.role, i.code, i.signal]), [['first', null, 'SIGKILL'], ['resume', 0, null]]);
  const inStep = await runCase(killAtLast, 1, { ...SETTINGS, start: standIn(last, []) }, async () => standInLab());
  assert.is(inStep.fired, true);
});

test('a run whose journal names another version of the runbook stops the drill as bad input: the runbook changed while the drill ran', async () => {
  const started = [{ kind: 'step-started', step: 'a' }, { kind: 'run-finished' }];
  const start = (sha256: string) => {
    const inner = standIn(started, [], { exitsWith: 0 });
    // The stand-in's run-started, with the runbook's digest as apply journals it.
    return ((args, opts) => {
      const run = inner(args, opts);
      const dir = String(opts.env.RUNBOOK_JOURNAL_DIR);
      const file = join(dir, readdirSync(dir).find((n) => n.endsWith(`-${run.pid}.jsonl`))!);
      writeFileSync(file, readFileSync(file, 'utf8').replace('"kind":"run-started"', `"kind":"run-started","runbook":{"sha256":"${sha256}"}`));
      return run;
    }) as StartRun;
  };
  const noFault = { id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' as const } };
  const settings = { ...SETTINGS, runbookSha256: 'a'.repeat(64) };
  const same = await runCase(noFault, 1, { ...settings, start: start('a'.repeat(64)) }, async () => standInLab());
  assert.is(same.record.invocations.length, 1);
  const error = await runCase(noFault, 1, { ...settings, start: start('b'.repeat(64)) }, async () => standInLab()).then(() => undefined, (e: unknown) => e as Error);
  assert.is(error?.name, 'DrillSetupError');
  assert.is(error?.message, 'the runbook x.yml changed while the drill ran (sha256 aaaaaaaaaaaa -> bbbbbbbbbbbb); a drill rehearses one version: run it again');
});

test('a run whose worker died before it began is the drill\'s failure, with what the worker said (attack r5drill #4: "exit 7, ok")', async () => {
  const died: ChildResult = { code: 7, signal: null, stdout: '', stderr: '', startedAt: 0, endedAt: 0, timedOut: false, harnessFailure: 'a drill worker (pid 1) ended before its run began (exit 7): boom' };
  const start: StartRun = () => ({ pid: undefined, kill: () => undefined, done: Promise.resolve(died), stderrSoFar: () => '' });
  const settings = { ...SETTINGS, start };
  const error = await runCase({ id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' } }, 1, settings, async () => standInLab()).then(() => undefined, (e: unknown) => e as Error);
  assert.ok(error, 'runCase gave a record of a run that never began');
  assert.is(error!.name, 'DrillHarnessError');
  assert.is(error!.message, 'a drill worker (pid 1) ended before its run began (exit 7): boom');
});

test('a run killed by a signal the drill did not send is the drill\'s failure, never "exit killed, ok" (attack r6drill #2)', async () => {
  // The process dies of SIGKILL while the drill waits on it: the OOM killer, an operator, a stray kill.
  const killedElsewhere: ChildResult = { code: null, signal: 'SIGKILL', stdout: '', stderr: 'step 3/9 waitLsnStable\n', startedAt: 0, endedAt: 0, timedOut: false, pid: 4321 };
  const start: StartRun = () => ({ pid: 4321, kill: () => undefined, done: Promise.resolve(killedElsewhere), stderrSoFar: () => '' });
  const error = await runCase({ id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' } }, 9, { ...SETTINGS, start }, async () => standInLab()).then(() => undefined, (e: unknown) => e as Error);
  assert.ok(error, 'runCase judged a run someone else killed');
  assert.is(error!.name, 'DrillHarnessError');
  assert.is(error!.message, 'healthy/no-fault seed 9: the process of its `runbook apply x.yml` (pid 4321) was killed by SIGKILL, not by the drill (its last line: step 3/9 waitLsnStable)');
  // The drill's own SIGKILL (a kill fault) is still a judged run.
  const killAt = { id: 'healthy/kill-at-1-a', scenario: 'healthy', fault: { kind: 'kill-at-step' as const, boundary: 1, step: 'a' } };
  const own = await runCase(killAt, 1, { ...SETTINGS, start: standIn([{ kind: 'step-started', step: 'a' }], []) }, async () => standInLab());
  assert.equal(own.record.invocations.map((i) => [i.role, i.signal, i.killedByDrill]), [['first', 'SIGKILL', true], ['resume', null, undefined]]);
});

test('a run that exits 130 (interrupted) when the drill sent it no SIGINT or SIGTERM is the drill\'s failure, never "exit 130, ok" (attack r7fix #2)', async () => {
  // `kill <pid>` or a supervisor's SIGTERM: the engine stops at its next safe point and exits 130.
  const start = standIn([{ kind: 'step-started', step: 'a' }], [], { exitsWith: 130, stderr: 'runbook: SIGTERM: stopping at the next safe point\n' });
  const error = await runCase({ id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' } }, 9, { ...SETTINGS, start }, async () => standInLab()).then(() => undefined, (e: unknown) => e as Error);
  assert.ok(error, 'runCase judged a run something else interrupted');
  assert.is(error!.name, 'DrillHarnessError');
  assert.is(error!.message, 'healthy/no-fault seed 9: the process of its `runbook apply x.yml` (pid 4001) exited 130 (interrupted), but the drill sent it no SIGINT or SIGTERM: something else stopped it (its last line: runbook: SIGTERM: stopping at the next safe point)');
  // The drill's own Ctrl-C at a hung change (exit 130, then the resume) is a judged run.
  const lab = { ...standInLab(), statements: () => [{ side: 'sqlServer' as const, statement: 'ALTER DATABASE x SET y', errorNumber: null, notCarriedOut: 'hung' as const, at: new Date() }] };
  const hang = { id: 'healthy/hang-change-1', scenario: 'healthy', fault: { kind: 'hang' as const, nth: 1 } };
  const own = await runCase(hang, 9, { ...SETTINGS, start: standIn([{ kind: 'step-started', step: 'a' }], [], { interruptExits: 130 }) }, async () => lab);
  assert.equal(own.record.invocations.map((i) => [i.role, i.code, i.abandonedByDrill]), [['first', 130, true], ['resume', 0, undefined]]);
});

test('a run without a fault that did not end on its own never decides which cases run; one that did is named beside the cases it left unrun (attack r7fix #2)', async () => {
  const noFault = { id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' as const } };
  const killAt3 = { id: 'healthy/kill-at-3-c', scenario: 'healthy', fault: { kind: 'kill-at-step' as const, boundary: 3, step: 'c' } };
  const runs = [{ case: noFault, seed: 1 }, { case: killAt3, seed: 2 }];
  const threeSteps = ['a', 'b', 'c'].map((step) => ({ kind: 'step-started', step }));
  // The baseline (the first start: one job, the run without a fault goes first) reaches step 1 and
  // is then stopped by the drill's deadline; the kill case's run reaches step 3.
  const startWith = (baseline: StartRun): StartRun => {
    const rest = standIn(threeSteps, []);
    let first = true;
    return (args, opts) => (first ? ((first = false), baseline(args, opts)) : rest(args, opts));
  };
  const timedOut: StartRun = (args, opts) => {
    const run = standIn([{ kind: 'step-started', step: 'a' }], [])(args, opts);
    return { ...run, done: Promise.resolve({ code: null, signal: 'SIGKILL', stdout: '', stderr: '', startedAt: 0, endedAt: 0, timedOut: true, pid: run.pid! }) };
  };
  const cut = await runDrill(runs, 1, { ...SETTINGS, start: startWith(timedOut) }, async () => standInLab(), () => undefined);
  assert.equal(cut.map((r) => [r.case.id, r.unreachable, r.codes, r.baseline]), [['healthy/no-fault', undefined, [null], undefined], ['healthy/kill-at-3-c', undefined, [null, 0], undefined]]);
  assert.equal(cut[0]!.violations.map((v) => v.invariant), ['run-hung']);
  assert.equal(notRunLines({ results: cut }), []);
  // A baseline that ended by itself after step 1 (exit 1): the kill at step 3 cannot strike, and the verdict says where it ended.
  const failed = await runDrill(runs, 1, { ...SETTINGS, start: startWith(standIn([{ kind: 'step-started', step: 'a' }], [], { exitsWith: 1 })) }, async () => standInLab(), () => undefined);
  assert.equal(failed.map((r) => [r.case.id, r.unreachable, r.baseline]), [['healthy/no-fault', undefined, true], ['healthy/kill-at-3-c', 'the run without a fault reaches 1 step(s)', undefined]]);
  assert.equal(notRunLines({ results: failed }), ['NOT RUN: 1 case(s) of healthy, whose fault strikes past where its run without a fault (seed 1) ended: exit 1. They were not rehearsed; a run that goes further (other --set values or scenario) would rehearse them.']);
});

test('a run that met another build of the engine (rebuilt or upgraded mid-drill) is the drill\'s failure, never a verdict on the runbook (attack r7fix #8)', async () => {
  // What a warm worker loaded before the rebuild says when it meets a new facade (engine/build/link/runtime.ts), exit 1.
  const refusal = 'runbook was rebuilt or upgraded while this process ran: /x/dist/engine/core/sentence.js belongs to build 0123456789abcdef, this process runs build 99cd3840a0bf606a; start the command again (a run resumes from its journal)';
  const noFault = { id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' as const } };
  const start = standIn([{ kind: 'step-started', step: 'a' }], [], { exitsWith: 1, stderr: `step 1/3 a\nrunbook: ${refusal}\n` });
  const error = await runCase(noFault, 5, { ...SETTINGS, start }, async () => standInLab()).then(() => undefined, (e: unknown) => e as Error);
  assert.ok(error, 'runCase judged a run that refused another build of the engine');
  assert.is(error!.name, 'DrillHarnessError');
  assert.is(error!.message, `healthy/no-fault seed 5: a run met another build of the engine than the one it started with (runbook: ${refusal}); run the drill again once the build is done`);
  // ...and inside a killed run's resume, where only the journal's step-failed may say it.
  const killAt = { id: 'healthy/kill-at-1-a', scenario: 'healthy', fault: { kind: 'kill-at-step' as const, boundary: 1, step: 'a' } };
  const journaled = standIn([{ kind: 'step-started', step: 'a' }, { kind: 'step-failed', step: 'b', error: refusal }], []);
  const killed = await runCase(killAt, 5, { ...SETTINGS, start: journaled }, async () => standInLab()).then(() => undefined, (e: unknown) => e as Error);
  assert.match(killed?.message ?? '', /^healthy\/kill-at-1-a seed 5: a run met another build of the engine than the one it started with \(its journal says so\)/);
});

test('the engine rebuilt while a run goes on (its linked file names another build, or a file it loads was rewritten) stops the drill before anything is judged (attack r7fix #8)', async () => {
  const dist = tempDir('runbook-drill-engine-');
  mkdirSync(join(dist, 'engine', 'apply'), { recursive: true });
  const linked = join(dist, 'engine', 'linked.js');
  writeFileSync(linked, 'const __linked$build = "aaaaaaaaaaaaaaaa";\n');
  writeFileSync(join(dist, 'engine', 'apply', 'run.js'), 'export {};\n');
  const settings = () => ({ ...SETTINGS, engine: { dist, at: engineState(dist) } });
  const rebuilt = await changedMidRun(linked, 'const __linked$build = "bbbbbbbbbbbbbbbb";\n', settings());
  assert.is(rebuilt?.name, 'DrillHarnessError');
  assert.is(rebuilt?.message, 'the engine was rebuilt or upgraded while the drill ran (build aaaaaaaaaaaaaaaa -> bbbbbbbbbbbbbbbb); run the drill again once the build is done');
  // A build compiles before it links: a module rewritten, the build id not yet.
  const compiled = await changedMidRun(join(dist, 'engine', 'apply', 'run.js'), 'export const changed = 1;\n', settings());
  assert.is(compiled?.message, `the engine was rebuilt or upgraded while the drill ran (${join('engine', 'apply', 'run.js')} rewritten); run the drill again once the build is done`);
  // The lab's code (its model makes the record every run is judged on) is part of it (attack r7drill #2).
  mkdirSync(join(dist, 'lab'), { recursive: true });
  writeFileSync(join(dist, 'lab', 'index.js'), 'export {};\n');
  const lab = await changedMidRun(join(dist, 'lab', 'index.js'), 'export const changed = 1;\n', settings());
  assert.is(lab?.message, `the engine was rebuilt or upgraded while the drill ran (${join('lab', 'index.js')} rewritten); run the drill again once the build is done`);
});

test('a scenario file edited while the drill runs stops the drill (exit 2 in the CLI): one verdict over two worlds would be neither\'s (attack r7drill #2)', async () => {
  const scenario = join(tempDir('runbook-drill-scenario-'), 'my.yml');
  writeFileSync(scenario, 'name: my\nworkload: { running: false }\n');
  const settings = { ...SETTINGS, scenarios: { files: [scenario], sha256: filesDigest([scenario]) } };
  const error = await changedMidRun(scenario, 'name: my\nworkload: { running: true }\n', settings);
  assert.ok(error, 'runCase judged a run of a scenario the drill did not start with');
  assert.is(error!.name, 'DrillSetupError');
  assert.match(error!.message, `the scenario changed while the drill ran (${scenario}: sha256 `);
  // And the next case starts no lab.
  let labs = 0;
  const noFault = { id: './my.yml/no-fault', scenario: './my.yml', fault: { kind: 'none' as const } };
  await runCase(noFault, 3, { ...settings, start: standIn([], [], { exitsWith: 0 }) }, async () => (labs++, standInLab())).catch(() => undefined);
  assert.is(labs, 0);
});

test('an engine rebuilt before a case began, whose worker then died loading, is said to be the rebuild (the build is checked after a case, not before it)', async () => {
  const dist = tempDir('runbook-drill-engine-');
  mkdirSync(join(dist, 'engine'), { recursive: true });
  const linked = join(dist, 'engine', 'linked.js');
  writeFileSync(linked, 'const __linked$build = "aaaaaaaaaaaaaaaa";\n');
  const settings = { ...SETTINGS, engine: { dist, at: engineState(dist) } };
  writeFileSync(linked, 'const __linked$build = "cccccccccccccccc";\n');
  const died: ChildResult = { code: 1, signal: null, stdout: '', stderr: '', startedAt: 0, endedAt: 0, timedOut: false, harnessFailure: 'a drill worker (pid 1) ended before its run began (exit 1): runbook was rebuilt' };
  const start: StartRun = () => ({ pid: undefined, kill: () => undefined, done: Promise.resolve(died), stderrSoFar: () => '' });
  const error = await runCase({ id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' } }, 1, { ...settings, start }, async () => standInLab()).then(() => undefined, (e: unknown) => e as Error);
  assert.is(error?.name, 'DrillHarnessError');
  assert.is(error?.message, 'the engine was rebuilt or upgraded while the drill ran (build aaaaaaaaaaaaaaaa -> cccccccccccccccc); run the drill again once the build is done');
});

test('the engine-change words the drill looks for are the engine\'s own, and the built engine names its build where the drill reads it', () => {
  const built = engineState();
  assert.match(built.build ?? '', /^[0-9a-f]{16}$/);
  assert.ok(built.files.has(join('engine', 'cli', 'bin.js')) && built.files.has(join('steps', 'sqlExec.js')), 'the files a run loads are not where the drill looks');
  assert.ok(built.files.has(join('lab', 'index.js')), 'the lab the drill loads is not in the engine state');
  // The refusal's sentence as the linker writes it into linked.js, and bin.ts's damaged-engine line.
  const linked = readFileSync(join(BUILT_ENGINE, 'engine', 'linked.js'), 'utf8');
  assert.ok(ENGINE_CHANGED.test(linked.replace(/\\?`/g, '')), 'linked.js no longer says "runbook was rebuilt or upgraded while this process ran"');
  assert.ok(ENGINE_CHANGED.test(readFileSync(join(BUILT_ENGINE, 'engine', 'cli', 'bin.js'), 'utf8')), 'bin.js no longer says "runbook: the installed engine is incomplete or damaged"');
});

test('a fault case whose run exits 2 (a set-up error) is the drill\'s failure, never "ok, fault did not fire" (attack r6drill #3)', async () => {
  const loginTimedOut: ChildResult = { code: 2, signal: null, stdout: '', stderr: 'runbook: set-up error on sqlServer: login timed out\n', startedAt: 0, endedAt: 0, timedOut: false, pid: 4400 };
  const start: StartRun = () => ({ pid: 4400, kill: () => undefined, done: Promise.resolve(loginTimedOut), stderrSoFar: () => '' });
  const hang = { id: 'healthy/hang-change-1', scenario: 'healthy', fault: { kind: 'hang' as const, nth: 1 } };
  const error = await runCase(hang, 424242, { ...SETTINGS, start }, async () => standInLab()).then(() => undefined, (e: unknown) => e as Error);
  assert.ok(error, 'runCase passed a hang case whose run never got past its set-up');
  assert.is(error!.name, 'DrillHarnessError');
  assert.is(error!.message, 'healthy/hang-change-1 seed 424242: its first run exited 2 (a set-up error, which its fault cannot cause), so the case never rehearsed its fault: runbook: set-up error on sqlServer: login timed out');
  // A replica taken down mid-login is judged: the engine calls that a set-up error too.
  // Past any instant the case can draw (cases.ts instantOf: up to 150), so the replica goes down.
  const lab = { ...standInLab(), statements: () => Array.from({ length: 150 }, () => ({ side: 'sqlServer' as const, statement: 'SELECT 1', errorNumber: null, at: new Date() })) };
  const down = { id: 'healthy/managedInstance-down', scenario: 'healthy', fault: { kind: 'replica-down' as const, side: 'managedInstance' as const } };
  const judged = await runCase(down, 7, { ...SETTINGS, start }, async () => lab);
  assert.is(judged.fired, true);
  assert.equal(judged.record.invocations.map((i) => i.code), [2]);
});

test('a plugin file edited while the drill runs stops the drill, as an edited YAML does (attack r6drill #6)', async () => {
  const plugin = join(tempDir('runbook-drill-plugin-'), 'note.mjs');
  writeFileSync(plugin, 'export default {}; // v1\n');
  const settings = { ...SETTINGS, plugins: { files: [plugin], sha256: filesDigest([plugin]) } };
  const noFault = { id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' as const } };
  const error = await changedMidRun(plugin, 'export default {}; // v2\n', settings);
  assert.ok(error, 'runCase judged a run of a plugin the drill did not plan with');
  assert.is(error!.name, 'DrillSetupError');
  assert.match(error!.message, `the plugins of x.yml (${plugin}) changed while the drill ran (sha256 `);
  // And the next case stops before it starts anything.
  const starts: string[][] = [];
  await runCase(noFault, 3, { ...settings, start: standIn([], starts, { exitsWith: 0 }) }, async () => standInLab()).catch(() => undefined);
  assert.equal(starts, []);
});

test('every apply the drill starts (a run, a resume after a kill) checks an unknown outcome for a quarter of its deadline at most: the engine\'s default two minutes outlasted the 90 s deadline and a replica down after a change was judged run-hung', async () => {
  const starts: string[][] = [];
  const killAt = { id: 'healthy/kill-at-1-a', scenario: 'healthy', fault: { kind: 'kill-at-step' as const, boundary: 1, step: 'a' } };
  await runCase(killAt, 1, { ...SETTINGS, deadlineMs: 8000, start: standIn([{ kind: 'step-started', step: 'a' }], starts) }, async () => standInLab());
  await runCase({ id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' } }, 1, { ...SETTINGS, deadlineMs: 8000, start: standIn([{ kind: 'run-finished' }], starts, { exitsWith: 0 }) }, async () => standInLab());
  assert.equal(starts.map((a) => a.slice(0, 2).join(' ')), ['apply x.yml', 'apply --resume', 'apply x.yml']);
  for (const a of starts) assert.is(a[a.indexOf('--outcome-timeout') + 1], '2000ms', a.join(' '));
});

test('a run held at its step boundary by its worker is killed there: runCase passes the hold through to stopThenResume', async () => {
  // The stand-in journals no step at all: only its hold says the boundary is reached, so a poll of the journal would never fire.
  const inner = standIn([], []);
  const start: StartRun = (args, opts) => {
    const run = inner(args, opts);
    if (args[1] === '--resume' || opts.holdAt === undefined) return run;
    // Were the hold lost, nothing would stop this run: it ends on its own, killed by no one the drill knows.
    const timer = setTimeout(() => run.kill('SIGTERM'), 1000);
    void run.done.then(() => clearTimeout(timer));
    return { ...run, held: Promise.resolve(true) };
  };
  const killAt = { id: 'healthy/kill-at-1-a', scenario: 'healthy', fault: { kind: 'kill-at-step' as const, boundary: 1, step: 'a' } };
  const r = await runCase(killAt, 1, { ...SETTINGS, deadlineMs: 500, start }, async () => standInLab());
  assert.is(r.fired, true);
  assert.equal(r.record.invocations.map((i) => [i.role, i.signal, i.killedByDrill]), [['first', 'SIGKILL', true], ['resume', null, undefined]]);
});

test('a run killed at its deadline after the drill itself was stopped (Ctrl-Z, SIGSTOP, a paused machine) is the drill\'s failure, never judged run-hung (attack r7drill #4)', async () => {
  const stops = watchForStops({ tickMs: 50, minStopMs: 1000 });
  // Another process that stops this one when told, for 3 s, as a shell's Ctrl-Z and `fg` stop a job.
  const stopper = spawn(process.execPath, ['-e', `process.stdin.once('data', () => { process.kill(${process.pid}, 'SIGSTOP'); setTimeout(() => process.kill(${process.pid}, 'SIGCONT'), 3000); })`], { stdio: ['pipe', 'ignore', 'inherit'] });
  try {
    let stopDuring = false;
    // A run that does not end by itself, killed at its deadline as child.ts and workers.ts kill theirs.
    const hangs: StartRun = (args, opts) => {
      const startedAt = Date.now();
      const done = new Promise<ChildResult>((resolve) => setTimeout(() => resolve({ code: null, signal: 'SIGKILL', stdout: '', stderr: '', startedAt, endedAt: Date.now(), timedOut: true, pid: 4500 }), opts.deadlineMs));
      if (stopDuring) stopper.stdin!.write('stop\n');
      return { pid: 4500, kill: () => undefined, done, stderrSoFar: () => '' };
    };
    const noFault = { id: 'healthy/no-fault', scenario: 'healthy', fault: { kind: 'none' as const } };
    const settings = { ...SETTINGS, deadlineMs: 2000, stops, start: hangs };
    // Not stopped: the run is judged, killed at its deadline (the judge calls it run-hung).
    const judged = await runCase(noFault, 8, settings, async () => standInLab());
    assert.equal(judged.record.invocations.map((i) => i.timedOut), [true]);
    stopDuring = true;
    const error = await runCase(noFault, 8, settings, async () => standInLab()).then(() => undefined, (e: unknown) => e as Error);
    assert.ok(error, 'runCase judged a run whose deadline counted the 3 s the drill stood stopped');
    assert.is(error!.name, 'DrillHarnessError');
    assert.match(error!.message, /^healthy\/no-fault seed 8: the drill was stopped for [2-4] s \(Ctrl-Z, SIGSTOP, a paused machine\) while a run went on, and its deadline counted that time: no run of it can be judged hung; run it again$/);
  } finally {
    stops.close();
    stopper.stdin!.end();
    if (stopper.exitCode === null) await once(stopper, 'exit');
  }
});

test.run();
