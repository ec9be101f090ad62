// Every statement every replica received, in arrival order: what `lab.statement_log` shows and
// what tests assert on ("FAILOVER was sent to the primary, once"). Statements carry no
// passwords (logins are not statements), so nothing here needs redacting.

export interface StatementLogEntry {
  id: number;
  at: Date;
  link: string;
  replica: string;
  side: 'sqlServer' | 'managedInstance';
  login: string;
  sessionId: number;
  statement: string;
  /** The first SQL error the statement raised, if any. */
  errorNumber: number | null;
  /**
   * Set when the statement reached the replica and was not carried out, so changed nothing: a fault
   * ended its request first (the connection was dropped, or the request hung), the client
   * cancelled the request (ATTENTION) before the statement began (`cancelled`, also for a request
   * still waiting behind another), or the client's connection closed while an earlier statement of
   * the batch was under way (`connectionClosed`: that statement ran to its end, as a begun change
   * may; the ones after it did not). A drill tells a statement re-sent after such a fault from one
   * applied twice by this.
   */
  notCarriedOut?: NotCarriedOut;
}

export type NotCarriedOut = 'dropped' | 'hung' | 'cancelled' | 'connectionClosed';

/** Keeps the newest entries only, so a lab left running for days stays small. */
const MAX_ENTRIES = 50_000;

export class StatementLog {
  private entries: StatementLogEntry[] = [];
  private nextId = 1;

  constructor(private readonly changed: () => void) {}

  append(e: Omit<StatementLogEntry, 'id'>): StatementLogEntry {
    const entry = { id: this.nextId++, ...e };
    this.entries.push(entry);
    if (this.entries.length > MAX_ENTRIES) this.entries = this.entries.slice(-MAX_ENTRIES / 2);
    this.changed();
    return entry;
  }

  setError(entry: StatementLogEntry, errorNumber: number): void {
    entry.errorNumber = errorNumber;
    this.changed();
  }

  all(): StatementLogEntry[] {
    return [...this.entries];
  }
}
