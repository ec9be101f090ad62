// The built CLI on a real pseudo-terminal, from util-linux `script` (tests skip when it is not
// installed): what only a terminal shows (colour, the listr2 renderer, the confirmation prompt).
import { spawn } from 'node:child_process';
import { bin, FIXTURE_PASSWORDS } from './cli.js';

export const script = '/usr/bin/script';

export interface TerminalOptions {
  cwd: string;
  /** Laid over this process's environment and the fixture passwords; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Typed (with Enter) once the confirmation question is on screen; without it, standard input is closed. */
  answer?: string;
}

/** Runs `runbook <args>` on a 120-column terminal; the output is everything the terminal showed. */
export function onTerminal(args: string[], o: TerminalOptions): Promise<{ code: number | null; output: string }> {
  const quoted = [process.execPath, bin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, ...FIXTURE_PASSWORDS };
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(script, ['-qec', `stty cols 120; ${quoted}`, '/dev/null'], {
    cwd: o.cwd,
    env,
    stdio: [o.answer === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let answered = false;
  child.stdout!.on('data', (d) => {
    output += d;
    if (o.answer !== undefined && !answered && output.includes('Type "yes" to go on')) {
      answered = true;
      child.stdin!.write(`${o.answer}\r`);
    }
  });
  child.stderr!.on('data', (d) => (output += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
