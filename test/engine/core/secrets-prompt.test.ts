// Ctrl-C at the hidden password prompt is an interrupt (exit 130), typed as one: an ExitError the
// CLI reports with its code, not a usage error with an exit code glued on (which the CLI read as 2).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { ExitError, errorExitCode } from '../../../engine/core/errors.js';
import { ExitCode } from '../../../engine/core/exit-codes.js';
import { readStdinPasswords } from '../../../engine/core/secrets.js';
import type { Inventory } from '../../../engine/core/types.js';
import { labInventory } from '../../../lab/inventory.js';
import { waitFor } from '../../helpers/cli.js';

test('Ctrl-C while a password is typed: exit 130, interrupted', async () => {
  const inventory: Inventory = labInventory();
  delete inventory.link.sqlServer.connection.passwordEnv;
  inventory.link.sqlServer.connection.passwordStdin = true;
  const tty = Object.assign(new EventEmitter(), { isTTY: true, setRawMode: () => undefined, resume: () => undefined, pause: () => undefined });
  const prompt = new PassThrough();
  let shown = '';
  prompt.on('data', (d) => (shown += d));
  const reading = readStdinPasswords(inventory, tty, prompt).catch((e: unknown) => e);
  await waitFor(() => /Password for sqlServer/.test(shown), 5000);
  tty.emit('data', 'half-typed\u0003');
  const error = await reading;
  assert.instance(error, ExitError);
  assert.is((error as ExitError).exitCode, ExitCode.interrupted);
  assert.is(errorExitCode(error), ExitCode.interrupted);
  assert.is((error as Error).message, 'interrupted while reading a password');
});

test.run();
