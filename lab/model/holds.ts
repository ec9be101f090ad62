// Holds: a drill or test pins a client at one exact moment of its run. The next request that
// matches (SQL, or ARM) is held, before it acts or after it acted with its reply kept back, until
// released.
// A second operator can then be started "right when the FAILOVER reached the server" without
// guessing with sleeps. Each hold catches one request.
import type { Side } from './types.js';

export interface HoldSpec {
  /**
   * Case-insensitive match on the request's text: a batch or an sp_executesql statement (or any one
   * statement in it, as SQL faults match), or for `arm`, `<METHOD> <path>` (e.g.
   * `DELETE /subscriptions/.../distributedAvailabilityGroups/dag1`).
   */
  match: RegExp;
  /** Hold an ARM request instead of a SQL one. */
  arm?: boolean;
  /** SQL only: the replica. */
  side?: Side;
  /** SQL only: the link (index). */
  link?: number;
  /** Let the request act first and hold its reply (the server has acted; the client has not heard). */
  after?: boolean;
  /**
   * SQL, before: the request cannot be stopped once it started (a role change under way): a
   * client's ATTENTION does not end the hold; the request acts when released, and only then is the
   * ATTENTION acknowledged.
   */
  throughAttention?: boolean;
}

/** Where a request arrived: a SQL replica of a link, or the ARM endpoint. */
export type HoldTarget = { arm: true } | { arm?: false; link: number; side: Side };

export interface Hold {
  /** Resolves with the request's text once a request is held. */
  readonly reached: Promise<string>;
  /** Lets the held request go on (harmless before it is reached: the hold then lets it pass). */
  release(): void;
}

interface Pending {
  spec: HoldSpec;
  reach(text: string): void;
  released: Promise<void>;
  caught: boolean;
}

export class Holds {
  private readonly pending: Pending[] = [];
  /** The waits of holds made with `throughAttention`. */
  private readonly uninterruptible = new WeakSet<Promise<void>>();

  /** Whether a wait `catch` returned is one that an ATTENTION does not end. */
  throughAttention(wait: Promise<void>): boolean {
    return this.uninterruptible.has(wait);
  }

  add(spec: HoldSpec): Hold {
    let reach!: (text: string) => void;
    let release!: () => void;
    const reached = new Promise<string>((r) => (reach = r));
    const released = new Promise<void>((r) => (release = r));
    const p: Pending = { spec, reach, released, caught: false };
    this.pending.push(p);
    return {
      reached,
      release: () => {
        const i = this.pending.indexOf(p);
        if (i !== -1 && !p.caught) this.pending.splice(i, 1);
        release();
      },
    };
  }

  /** The wait for this request at this phase, or undefined when no hold catches it. */
  catch(target: HoldTarget, text: string, phase: 'before' | 'after', statements: () => string[] = () => []): Promise<void> | undefined {
    const matches = (re: RegExp) => re.test(text) || (target.arm !== true && statements().some((st) => re.test(st)));
    const i = this.pending.findIndex(
      (p) =>
        (p.spec.after === true) === (phase === 'after') &&
        (p.spec.arm === true) === (target.arm === true) &&
        (target.arm === true || ((p.spec.side === undefined || p.spec.side === target.side) && (p.spec.link === undefined || p.spec.link === target.link))) &&
        matches(new RegExp(p.spec.match.source, 'i')),
    );
    if (i === -1) return undefined;
    const [p] = this.pending.splice(i, 1);
    p!.caught = true;
    p!.reach(text);
    if (p!.spec.throughAttention) this.uninterruptible.add(p!.released);
    return p!.released;
  }
}
