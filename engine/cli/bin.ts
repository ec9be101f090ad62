#!/usr/bin/env node
// Entry point of the `runbook` command. Kept tiny: startup time is part of the budget.
import type { main as Main } from './main.js';

// main.js and what it imports are the linked engine (engine/build/link/). A build stopped half-way
// or a damaged install fails to load here, before anything ran: said in one line naming the file,
// with an exit code of its own (README "Exit codes"), not a Node stack trace exiting 1, which a
// wrapper would read as a run that failed before any change. (The code is written out: the module
// that names exit codes is part of what failed to load.)
const ENGINE_DAMAGED = 6;
let main: typeof Main;
try {
  ({ main } = await import('./main.js'));
} catch (error) {
  const e = error as Error;
  // A syntax error's message lacks the file; ESM puts it on the stack's first line.
  const where = /^(file:\/\/\S+)\n/.exec(e.stack ?? '')?.[1];
  const detail = `${where ? `${where}: ` : ''}${String(e.message).split('\n')[0]}`;
  process.stderr.write(`runbook: the installed engine is incomplete or damaged (${detail}): rebuild it (npm run build) or reinstall runbook\n`);
  process.exit(ENGINE_DAMAGED);
}

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
// Exit once stdout is flushed (a pipe may still hold output); lingering handles must not keep us.
process.stdout.write('', () => process.exit(code));
