#!/usr/bin/env node
// Entry point of the `runbook` command. Kept tiny: startup time is part of the budget.
import type { main as Main } from './main.js';

// main.js and what it imports are the linked engine (engine/build/link/). A build stopped half-way
// or a damaged install fails to load here, before anything ran: said in one line naming the file
// and what to do, not a Node stack trace. Its exit code is DESIGN.md's 1, "failed before any change
// was made", which is exactly true here; a code of its own would be a new promise every wrapper,
// wave and drill would have to learn. (Written out: the module naming exit codes failed to load.)
const ENGINE_DAMAGED = 1;
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
