#!/usr/bin/env node
// Entry point of the `runbook` command. Kept tiny: startup time is part of the budget.
import { main } from './main.js';

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
// Exit once stdout is flushed (a pipe may still hold output); lingering handles must not keep us.
process.stdout.write('', () => process.exit(code));
