// The built CLI on a real pseudo-terminal, from util-linux `script` (tests skip when it is not
// installed): what only a terminal shows (colour, the listr2 renderer, the confirmation prompt).
import { spawn } from 'node:child_process';
import { bin, FIXTURE_PASSWORDS } from './cli.js';

export const script = '/usr/bin/script';

export interface TerminalOptions {
  cwd: string;
  /** Laid over this process's environment and the fixture passwords; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Typed (with Enter) once the confirmation question is on screen; without it (and `keys`), standard input is closed. */
  answer?: string;
  /**
   * Typed in turn, each once the question is on screen again (the n-th answer at the n-th question):
   * a string is typed key by key and then Enter; `'\u0003'` alone is Ctrl-C, `'\u0004'` alone Ctrl-D (no Enter after either).
   */
  answers?: string[];
  /**
   * Typed in turn, each once the output since the one before matches `when`, whatever is on screen
   * then (keys typed ahead of a question, Ctrl-C during a step), as `answers` are typed.
   */
  typeWhen?: Array<{ when: RegExp; keys: string }>;
  /**
   * The terminal's width; 120 when not given. It has 50 rows: `script` starts with none, and
   * listr2's log-update then draws nothing between frames (it cuts a frame to the terminal's height).
   */
  columns?: number;
}

/** How many times the prompt has been written so far. */
const PROMPT = 'Type "yes" to go on';
const prompts = (output: string) => output.split(PROMPT).length - 1;

/** Runs `runbook <args>` on a pseudo-terminal (120 columns unless told); the output is everything the terminal showed. */
export function onTerminal(args: string[], o: TerminalOptions): Promise<{ code: number | null; output: string }> {
  const quoted = [process.execPath, bin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, ...FIXTURE_PASSWORDS };
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const answers = o.answers ?? (o.answer !== undefined ? [o.answer] : undefined);
  const child = spawn(script, ['-qec', `stty cols ${o.columns ?? 120} rows 50; ${quoted}`, '/dev/null'], {
    cwd: o.cwd,
    env,
    stdio: [answers === undefined && o.typeWhen === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let answered = 0;
  let typedWhen = 0;
  let typedAt = 0;
  const type = async (keys: string) => {
    // Key by key, as a person types: each keypress is its own read on the terminal.
    for (const key of keys) {
      child.stdin!.write(key);
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (keys !== '\u0003' && keys !== '\u0004') child.stdin!.write('\r');
  };
  child.stdout!.on('data', (d) => {
    output += d;
    const next = o.typeWhen?.[typedWhen];
    if (next && next.when.test(output.slice(typedAt))) {
      typedWhen++;
      typedAt = output.length;
      void type(next.keys);
    }
    if (answers && answered < answers.length && prompts(output) > answered) {
      void type(answers[answered++]!);
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
