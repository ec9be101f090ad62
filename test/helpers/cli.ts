// Runs the built CLI (`node dist/engine/cli/bin.js`) in a child process with no TTY and captures
// stdout, stderr and the exit code. Also: temp dirs and a bounded poll for events on disk.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';

/** The package root (this file runs from dist/test/helpers/). */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const bin = join(root, 'dist', 'engine', 'cli', 'bin.js');
export const engineBackFixtures = join(root, 'test', 'fixtures', 'runbooks', 'engine-back');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  /** Extra node flags before the script, e.g. `--import` for a preload. */
  nodeArgs?: string[];
  /** What the command reads on standard input (then it ends); nothing by default. */
  stdin?: string;
}

/**
 * The password variables of the engine-back fixture inventory. Nothing listens on its ports, so an
 * apply finds both replicas unreachable and goes on (its test steps need no SQL); without them it
 * would stop at once, as it must, on a password variable that is not set.
 */
export const FIXTURE_PASSWORDS: Record<string, string> = { TEST_SQL_PASSWORD: 'fixture-sql-password', TEST_MI_PASSWORD: 'fixture-mi-password' };

/**
 * Journals of CLI runs go to one temporary folder per test process unless a test names its own:
 * a test never writes into the repository's `.runbook/` (test/run.ts fails the suite if one does).
 */
let defaultJournalDir: string | undefined;

function childEnv(extra: CliOptions['env'], cwd: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...FIXTURE_PASSWORDS, NO_COLOR: '1' };
  // A run in a temporary folder keeps its journal there (tests read it back); one in the repository does not.
  if (resolve(cwd) === root) env.RUNBOOK_JOURNAL_DIR = defaultJournalDir ??= mkdtempSync(join(tmpdir(), 'runbook-journals-'));
  delete env.CI;
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function startCli(args: string[], opts: CliOptions = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), bin, ...args], {
    cwd: opts.cwd ?? root,
    env: childEnv(opts.env, opts.cwd ?? root),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin!.end(opts.stdin ?? '');
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/**
 * `runbook <args>` in this process: the CLI's main() with its own streams, the environment and
 * working directory runCli would give the child. For a test of what a command says, decides and
 * does, not of its process (a signal, a kill, the binary's exit, a terminal, a heap limit): it
 * spares a Node start and a driver load per call (0.1-0.9 s of CPU each, the suite's largest cost).
 * The engine is built for this (a drill worker calls main once per run); what a run registers
 * process-wide (its secrets for the redactor) stays registered, which only masks more.
 */
export async function runInProcess(args: string[], opts: Omit<CliOptions, 'nodeArgs'> = {}): Promise<CliResult> {
  const { main } = await import('../../engine/cli/main.js');
  const cwd = opts.cwd ?? root;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  // As the child's: what the test gives, then the end (no terminal: no isTTY).
  const stdin = Readable.from(opts.stdin ? [opts.stdin] : []) as unknown as NodeJS.ReadStream;
  // Relative paths are the process's (as a drill worker does, engine/cli/worker.ts): in `cwd` for the call; a file's tests run one at a time.
  const before = process.cwd();
  process.chdir(cwd);
  let code: number;
  try {
    code = await within(main(args, { stdout, stderr, stdin, env: childEnv(opts.env, cwd), cwd }), opts.timeoutMs ?? 30_000, `runbook ${args[0] ?? ''} in process`);
  } finally {
    process.chdir(before);
  }
  // Everything written has been read once both streams have ended (as a child's pipes close).
  stdout.end();
  stderr.end();
  await Promise.all([finished(stdout), finished(stderr)]);
  return { code, signal: null, stdout: out, stderr: err };
}

export function tempDir(prefix = 'runbook-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs = 10_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * `promise`, or a failure naming `what` once `ms` have passed without it settling: a test that
 * bounds how long something may take fails by its own name instead of hanging until the runner
 * kills the file.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Bad input is one line per problem: no stack trace (`    at file:line:col`) in what the CLI wrote. */
export const noStack = (s: string) => assert.not.match(s, /\n\s+at .+:\d+:\d+/);

export function fixture(name: string): string {
  return join(engineBackFixtures, name);
}
