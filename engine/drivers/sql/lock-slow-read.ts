// A read with no answer is silent until its request timeout (30 s by default): an operator watching
// the lock being taken saw nothing for that long (attack r4apply A6). This says what the run waits
// for once the read has had no answer for a moment, and says nothing when the answer comes first.
import { formatDuration } from '../../core/duration.js';

export interface SlowReadNotice {
  /** Where the line goes; without it, nothing is said. */
  waiting?(line: string): void;
  /** How long to wait for the answer before saying so (default 5 s). */
  afterMs?: number;
  /** What is awaited, e.g. `sqlServer to answer the read of link dag1 on the lock's session`. */
  what: string;
  /** The connection's request timeout, after which the read is given up (default 30 s). */
  requestTimeoutMs?: number | undefined;
}

export async function saidIfSlow<T>(read: Promise<T>, notice: SlowReadNotice): Promise<T> {
  const { waiting } = notice;
  if (!waiting) return read;
  const ms = notice.afterMs ?? 5000;
  const limit = formatDuration(notice.requestTimeoutMs ?? 30_000);
  const timer = setTimeout(() => waiting(`waiting for ${notice.what} (no answer for ${formatDuration(ms)}; the request is given up after ${limit}, the connection's requestTimeoutMs)`), ms);
  try {
    return await read;
  } finally {
    clearTimeout(timer);
  }
}
