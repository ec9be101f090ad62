// The confirmation before the first change step (apply's `Confirm`). It reads the terminal only:
// without a TTY apply has no one to ask and refuses instead (the caller passes no confirm function).
import { createInterface } from 'node:readline';
import type { Confirm } from '../apply/types.js';

export function ttyConfirm(input: NodeJS.ReadStream, output: NodeJS.WritableStream, signal?: AbortSignal): Confirm | undefined {
  if (!input.isTTY) return undefined;
  return (question) =>
    new Promise<boolean>((resolve) => {
      const rl = createInterface({ input, output, terminal: true });
      const onAbort = () => {
        rl.close();
        resolve(false);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      rl.question(`${question} Type "yes" to go on: `, (answer) => {
        signal?.removeEventListener('abort', onAbort);
        rl.close();
        resolve(/^\s*yes\s*$/i.test(answer));
      });
    });
}
