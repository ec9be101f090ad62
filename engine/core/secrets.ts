// Where secrets come from: environment variables (passwordEnv, arm.tokenEnv) or standard input
// (passwordStdin: true), never the inventory or the command line. Passwords read from standard
// input live in the run's env under keys no real environment variable can have, so the
// connection code reads them the way it reads passwordEnv, and they are never exported to
// child processes.
//
// The standard-input rule: piped (not a terminal), one line per connection that sets
// passwordStdin, SQL Server's first; a terminal gets a prompt on stderr with echo off. A piped
// stdin means no terminal to confirm on, so apply then needs --yes (as it does in CI anyway).
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { Inventory, ReplicaSide, Runbook } from './types.js';
import { ExitError, UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { registerSecret } from './redact.js';

/** The run-env key of a password read from standard input. */
export function stdinPasswordKey(side: ReplicaSide): string {
  return `runbook:stdin-password:${side}`;
}

/** Longest stdin we read while looking for passwords (a password line is far shorter). */
const MAX_STDIN_BYTES = 64 * 1024;

function sidesWanting(inventory: Inventory): ReplicaSide[] {
  const sides: ReplicaSide[] = [];
  for (const side of ['sqlServer', 'managedInstance'] as const) {
    const conn = inventory.link[side].connection;
    if (conn.passwordStdin !== true) continue;
    if (conn.passwordEnv !== undefined) {
      throw new UsageError(`inventory: the ${side} connection sets both passwordEnv and passwordStdin; keep one`);
    }
    if (conn.auth === 'entra') throw new UsageError(`inventory: the ${side} connection uses auth: entra, which takes no password; remove passwordStdin`);
    sides.push(side);
  }
  return sides;
}

export interface StdinLike {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  on(event: string, listener: (...a: any[]) => void): unknown;
  off(event: string, listener: (...a: any[]) => void): unknown;
  resume(): unknown;
  pause(): unknown;
  setEncoding?(enc: BufferEncoding): unknown;
}

/** Reads `count` lines from a pipe; stops reading once it has them (the rest stays unread). */
function readLines(stdin: StdinLike, count: number, what: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      stdin.pause();
      if (error) reject(error);
    };
    const lines = (): string[] => text.split('\n').map((l) => l.replace(/\r$/, ''));
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      if (text.length > MAX_STDIN_BYTES) return finish(new UsageError(`standard input: no password line within the first ${MAX_STDIN_BYTES} bytes`));
      const all = lines();
      if (all.length > count) {
        finish();
        resolve(all.slice(0, count));
      }
    };
    const onEnd = () => {
      const all = lines();
      if (all[all.length - 1] === '') all.pop();
      if (all.length < count) return finish(new UsageError(`standard input ended before the password for the ${what[all.length]} connection (passwordStdin: one line per connection, SQL Server's first)`));
      finish();
      resolve(all.slice(0, count));
    };
    const onError = (e: Error) => finish(new UsageError(`standard input cannot be read (${e.message})`));
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onError);
    stdin.resume();
  });
}

/** Prompts on the terminal with echo off; Ctrl-C or Ctrl-D give up (exit 130 / 2). */
function promptHidden(stdin: StdinLike, prompt: NodeJS.WritableStream, question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let typed = '';
    prompt.write(question);
    stdin.setRawMode?.(true);
    const done = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      prompt.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new ExitError(ExitCode.interrupted, 'interrupted while reading a password'));
        if (ch === '\u0004') return done(new UsageError('no password given'));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/**
 * Reads the passwords of connections that set passwordStdin, registers them with the redactor
 * and returns them as run-env entries. Reads nothing when no connection asks.
 */
export async function readStdinPasswords(inventory: Inventory, stdin: StdinLike, prompt: NodeJS.WritableStream): Promise<Record<string, string>> {
  const sides = sidesWanting(inventory);
  if (sides.length === 0) return {};
  const label = (side: ReplicaSide) => {
    const c = inventory.link[side].connection;
    return `${side} (${c.user ?? '?'}@${c.host}:${c.port ?? 1433})`;
  };
  let values: string[];
  if (stdin.isTTY) {
    values = [];
    for (const side of sides) values.push(await promptHidden(stdin, prompt, `Password for ${label(side)}: `));
  } else {
    values = await readLines(stdin, sides.length, sides);
  }
  const env: Record<string, string> = {};
  sides.forEach((side, i) => {
    const value = values[i]!;
    if (value === '') throw new UsageError(`standard input: the password line for the ${side} connection is empty`);
    registerSecret(value);
    env[stdinPasswordKey(side)] = value;
  });
  return env;
}

/** Registers every secret this run can know up front: the inventory's password and token variables, secret inputs. */
export function registerRunSecrets(inventory: Inventory | undefined, env: NodeJS.ProcessEnv, runbook?: Runbook, inputs?: Record<string, unknown>): void {
  if (inventory) {
    for (const side of ['sqlServer', 'managedInstance'] as const) {
      const conn = inventory.link[side].connection;
      if (conn.passwordEnv) registerSecret(env[conn.passwordEnv]);
      if (conn.passwordStdin) registerSecret(env[stdinPasswordKey(side)]);
    }
    if (inventory.arm.tokenEnv) registerSecret(env[inventory.arm.tokenEnv]);
  }
  if (runbook && inputs) registerSecretInputs(runbook, inputs);
}

export function registerSecretInputs(runbook: Runbook, inputs: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(inputs)) {
    const spec = runbook.inputs?.[name] as { secret?: boolean } | undefined;
    if (spec?.secret && typeof value === 'string') registerSecret(value);
  }
}

/** argv with the values of `--set name=value` for secret inputs replaced, whatever their length. */
export function maskSecretSets(argv: string[], runbook: Runbook): string[] {
  const secret = (name: string) => (runbook.inputs?.[name] as { secret?: boolean } | undefined)?.secret === true;
  const maskOne = (arg: string) => {
    const eq = arg.indexOf('=');
    return eq > 0 && secret(arg.slice(0, eq)) ? `${arg.slice(0, eq)}=***` : arg;
  };
  return argv.map((arg, i) => {
    if (arg.startsWith('--set=')) return `--set=${maskOne(arg.slice(6))}`;
    if (argv[i - 1] === '--set') return maskOne(arg);
    return arg;
  });
}

function isSecretInput(runbook: Runbook, name: string): boolean {
  return (runbook.inputs?.[name] as { secret?: boolean } | undefined)?.secret === true;
}

/**
 * A salted fingerprint of a secret input's value, kept in the journal so that a resume can check
 * the operator gave the same value again without the journal ever holding it. scrypt rather than
 * one SHA-256 round: a leaked journal should not make a short secret cheap to guess.
 */
export function secretFingerprint(value: unknown, salt: string = randomBytes(16).toString('hex')): string {
  return `scrypt:${salt}:${scryptSync(JSON.stringify(value ?? null), salt, 32).toString('hex')}`;
}

export function fingerprintMatches(value: unknown, fingerprint: string): boolean {
  const [kind, salt, hash] = fingerprint.split(':');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'hex');
  const actual = scryptSync(JSON.stringify(value ?? null), salt, 32);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Fingerprints of the run's secret inputs, by name; undefined when the runbook has none. */
export function secretInputFingerprints(runbook: Runbook, inputs: Record<string, unknown>): Record<string, string> | undefined {
  const names = Object.keys(inputs).filter((name) => isSecretInput(runbook, name));
  if (names.length === 0) return undefined;
  return Object.fromEntries(names.map((name) => [name, secretFingerprint(inputs[name])]));
}
