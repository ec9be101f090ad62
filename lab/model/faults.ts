// Scenario faults, armed at lab start and consumed as requests arrive. SQL faults match the text
// of a request (batch or sp_executesql statement), or the text of any one statement in it, with a
// case-insensitive regular expression: `^\s*BACKUP` finds a BACKUP that a client's own check
// statements go before in the same batch (engine/drivers/sql/lock-guard.ts), as a DBA means it.
import type { ArmFault, ArmOperation } from '../arm/contract.js';
import type { FaultSpec, Side } from './types.js';

export type SqlFaultDecision =
  | { kind: 'none' }
  | { kind: 'drop' }
  /** Carry the request out, then drop the connection instead of replying. */
  | { kind: 'dropAfter' }
  | { kind: 'hang' }
  /** Wait `ms` before the statement `match` finds (the statements before it in the batch run first). */
  | { kind: 'delay'; ms: number; match?: RegExp };

interface Armed {
  spec: FaultSpec;
  regex?: RegExp;
  seen: number;
  remaining: number;
}

export class Faults {
  private readonly armed: Armed[];
  private readonly manualDown = new Map<string, 'refuse' | 'hang' | 'up'>();

  constructor(specs: FaultSpec[], private readonly startedAt: number) {
    this.armed = specs.map(armed);
  }

  /** A fault armed while the lab runs (a test injects it at one exact moment, e.g. while a request is held). */
  add(spec: FaultSpec): void {
    this.armed.push(armed(spec));
  }

  /** Tests and drills can take a replica down or bring it back by hand; this wins over the scenario. */
  setDown(link: number, side: Side, down: boolean | 'refuse' | 'hang'): void {
    this.manualDown.set(`${link}/${side}`, down === false ? 'up' : down === true ? 'refuse' : down);
  }

  /** 'up', or how the listener behaves while the replica is down. */
  downState(link: number, side: Side, now: number): 'up' | 'refuse' | 'hang' {
    const manual = this.manualDown.get(`${link}/${side}`);
    if (manual) return manual;
    const t = now - this.startedAt;
    for (const { spec } of this.armed) {
      if (spec.kind !== 'replicaDown' || spec.replica !== side || !appliesTo(spec, link)) continue;
      if (t >= (spec.fromMs ?? 0) && (spec.untilMs === undefined || t < spec.untilMs)) return spec.mode ?? 'refuse';
    }
    return 'up';
  }

  /** How many times each SQL fault (in scenario order) has fired: lets a test act once a statement has really arrived. */
  fired(): number[] {
    return this.armed.map((a) => (a.remaining === Infinity ? a.seen : ('count' in a.spec && a.spec.count !== undefined ? a.spec.count : 1) - a.remaining));
  }

  /** What to do with a request on this replica; consumes the matching fault's budget. */
  onSqlRequest(link: number, side: Side, text: string, statements: () => string[] = () => []): SqlFaultDecision {
    for (const a of this.armed) {
      const s = a.spec;
      if (s.kind !== 'dropConnection' && s.kind !== 'slow' && s.kind !== 'hang') continue;
      if ((s.replica && s.replica !== side) || !appliesTo(s, link) || a.remaining <= 0) continue;
      if (a.regex && !a.regex.test(text) && !statements().some((st) => a.regex!.test(st))) continue;
      a.seen++;
      const nth = s.kind === 'slow' ? 1 : s.nth ?? 1;
      if (a.seen < nth) continue;
      a.remaining--;
      if (s.kind === 'slow') return { kind: 'delay', ms: s.delayMs, ...(a.regex ? { match: a.regex } : {}) };
      if (s.kind === 'dropConnection') return { kind: s.after ? 'dropAfter' : 'drop' };
      return { kind: 'hang' };
    }
    return { kind: 'none' };
  }

  /** The next ARM fault for `op`, consumed. */
  nextArmFault(op: ArmOperation): ArmFault | undefined {
    for (const a of this.armed) {
      const s = a.spec;
      if ((s.kind !== 'armStatus' && s.kind !== 'armLroFails') || s.op !== op || a.remaining <= 0) continue;
      a.remaining--;
      if (s.kind === 'armStatus') {
        const code = s.code ?? (s.status === 429 ? 'SubscriptionTooManyRequests' : s.status === 503 ? 'ServiceUnavailable' : 'InternalServerError');
        return { kind: 'status', status: s.status, code, retryAfterSeconds: s.retryAfterSeconds };
      }
      return { kind: 'lroFails', code: s.code, message: s.message ?? `The operation failed: ${s.code}.` };
    }
    return undefined;
  }
}

function armed(spec: FaultSpec): Armed {
  return {
    spec,
    regex: 'match' in spec && spec.match ? new RegExp(spec.match, 'i') : undefined,
    seen: 0,
    remaining: 'count' in spec && spec.count !== undefined ? spec.count : spec.kind === 'slow' ? Infinity : 1,
  };
}

function appliesTo(spec: FaultSpec, link: number): boolean {
  const l = (spec as { link?: number }).link;
  return l === undefined || l === link;
}
