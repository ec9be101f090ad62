// Long-running operations of the lab's ARM endpoint. An accepted operation stays InProgress for
// `durationMs`, then completes: its `perform` (the backend's mutating call) runs exactly once,
// either from a timer or, if a request arrives first, from that request, so clients that poll at
// the due time never see a stale state.
import { randomUUID } from 'node:crypto';
import { ArmError } from './contract.js';
import type { ArmLink } from './contract.js';
import { statusForCode, toArmError } from './errors.js';

export type LroKind = 'update' | 'delete' | 'failover' | 'setRole';

export type LroOutcome =
  | { status: 'Succeeded'; endTime: Date; link: ArmLink | undefined }
  | { status: 'Failed'; endTime: Date; error: ArmError };

export interface LroRecord {
  id: string;
  kind: LroKind;
  subscriptionId: string;
  /** Identifies the link the operation mutates (for the one-operation-per-link rule). */
  linkKey: string;
  startTime: Date;
  dueAt: number;
  outcome?: LroOutcome;
}

export interface LroRequest {
  kind: LroKind;
  subscriptionId: string;
  linkKey: string;
  /** Runs the mutation; returns the link as it is afterwards (undefined when it is gone). */
  perform: () => ArmLink | undefined;
  /** A scenario fault: report Failed with this code instead of performing. */
  injectedFailure?: { code: string; message: string };
}

interface Entry {
  record: LroRecord;
  request: LroRequest;
  timer?: NodeJS.Timeout;
}

const maxSettledKept = 1000;

export class LroStore {
  private readonly entries = new Map<string, Entry>();
  /** While true, no operation completes, however long it has run (drills: meet one in flight). */
  private held = false;

  constructor(private readonly durationMs: number) {}

  /** Holds every operation in progress until released; on release, those due complete at once. */
  hold(on: boolean): void {
    this.held = on;
    if (!on) this.settleDue();
  }

  accept(request: LroRequest): LroRecord {
    const now = Date.now();
    const record: LroRecord = {
      id: randomUUID(),
      kind: request.kind,
      subscriptionId: request.subscriptionId,
      linkKey: request.linkKey,
      startTime: new Date(now),
      dueAt: now + this.durationMs,
    };
    const entry: Entry = { record, request };
    entry.timer = setTimeout(() => this.settle(entry), this.durationMs);
    entry.timer.unref();
    this.entries.set(record.id, entry);
    this.forgetOldest();
    return record;
  }

  /** The operation, completed first if its time has come. */
  find(id: string): LroRecord | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (!this.held && Date.now() >= entry.record.dueAt) this.settle(entry);
    return entry.record;
  }

  /** Completes every operation whose time has come; called before each request is handled. */
  settleDue(): void {
    if (this.held) return;
    const now = Date.now();
    for (const entry of this.entries.values()) {
      if (!entry.record.outcome && now >= entry.record.dueAt) this.settle(entry);
    }
  }

  inProgressFor(linkKey: string): LroRecord | undefined {
    for (const { record } of this.entries.values()) {
      if (!record.outcome && record.linkKey === linkKey) return record;
    }
    return undefined;
  }

  close(): void {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
  }

  private settle(entry: Entry): void {
    const { record, request } = entry;
    if (record.outcome || this.held) return;
    clearTimeout(entry.timer);
    const endTime = new Date();
    if (request.injectedFailure) {
      const { code, message } = request.injectedFailure;
      record.outcome = { status: 'Failed', endTime, error: new ArmError(statusForCode(code), code, message) };
      return;
    }
    try {
      record.outcome = { status: 'Succeeded', endTime, link: request.perform() };
    } catch (err) {
      record.outcome = { status: 'Failed', endTime, error: toArmError(err) };
    }
  }

  private forgetOldest(): void {
    if (this.entries.size <= maxSettledKept) return;
    for (const [id, entry] of this.entries) {
      if (entry.record.outcome) {
        this.entries.delete(id);
        if (this.entries.size <= maxSettledKept) return;
      }
    }
  }
}
