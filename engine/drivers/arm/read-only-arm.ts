// The ARM client a step declared `impact: read` may use (a run's read step, every probe of `plan
// --probe` and of apply before its question): GET only. A plugin that declares a read and sends a
// PATCH, POST, PUT or DELETE through `ctx.arm()` is refused before the request leaves the process,
// as its T-SQL is (engine/drivers/sql/read-only-pool.ts; attack r7fix finding 7: a "read" plugin
// failed the link over from `plan --probe`). The SDK's own operations send through the client's
// pipeline too, so the refusal is a pipeline policy. A run's read and change steps share one client:
// the policy reads the mode the step that last asked for the client set (steps run one at a time).
// A plugin that builds a client of its own is trusted code (README, "Writing a step type").
import type { SqlManagementClient } from '@azure/arm-sql';
import { GuardRefusal } from '../../core/errors.js';

interface Mode {
  readOnly: boolean;
  step: string;
}

const modes = new WeakMap<object, Mode>();

/** `client`, from now on refusing anything but GET while `readOnly` (until the next step asks for it). */
export function armFor(client: SqlManagementClient, step: string, readOnly: boolean): SqlManagementClient {
  const known = modes.get(client);
  if (known) {
    known.readOnly = readOnly;
    known.step = step;
    return client;
  }
  const mode: Mode = { readOnly, step };
  modes.set(client, mode);
  // Added before any other policy of ours, so a refused request is neither journaled nor sent.
  client.pipeline.addPolicy({
    name: 'runbook-read-only',
    sendRequest: (request, next) => {
      if (mode.readOnly && request.method !== 'GET') {
        throw new GuardRefusal(
          'notARead',
          { step: mode.step, side: 'arm', why: request.method },
          `Step ${mode.step} is declared impact: read, but it sent ${request.method} ${request.url.split('?')[0]} to ARM; it was not sent. A step that changes anything must declare impact: change.`,
        );
      }
      return next(request);
    },
  });
  return client;
}
