// Holds: a drill or test pins a client at one exact moment of its run. The next request that
// matches is held, before it runs or after it ran with its reply kept back, until released.
// A second operator can then be started "right when the FAILOVER reached the server" without
// guessing with sleeps. Each hold catches one request.
import type { Side } from './types.js';

export interface HoldSpec {
  /** Case-insensitive match on the request's text (a batch or an sp_executesql statement). */
  match: RegExp;
  side?: Side;
  link?: number;
  /** Run the request first and hold its reply (the server has acted; the client has not heard). */
  after?: boolean;
}

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
  catch(link: number, side: Side, text: string, phase: 'before' | 'after'): Promise<void> | undefined {
    const i = this.pending.findIndex(
      (p) =>
        (p.spec.after === true) === (phase === 'after') &&
        (p.spec.side === undefined || p.spec.side === side) &&
        (p.spec.link === undefined || p.spec.link === link) &&
        new RegExp(p.spec.match.source, 'i').test(text),
    );
    if (i === -1) return undefined;
    const [p] = this.pending.splice(i, 1);
    p!.caught = true;
    p!.reach(text);
    return p!.released;
  }
}
