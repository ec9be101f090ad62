// A logged-in TDS session: requests run one at a time in arrival order; ATTENTION cancels the
// one in flight. Fault actions from the backend (drop, hang) are carried out here.
import { ByteWriter, ProtocolError } from './bytes.js';
import { AbortedBy, type FaultAction, type ReplyItem, type Session, type SqlMessage, type SqlRequest } from './contract.js';
import { PacketType, Status, type Message } from './framing.js';
import { buildReply, errorReply, type ReplyContext } from './reply.js';
import { parseRpc, parseSqlBatch, parseTransactionManager, rpcToRequest, TransactionOp } from './requests.js';
import { DoneStatus, EnvType, Token, done, envChangeBytes } from './tokens.js';

export interface Outbox {
  /** Sends one whole response message (type TABULAR_RESULT). */
  reply(payload: Buffer): void;
  /** Destroys the connection without a word (a dropped connection). */
  drop(): void;
}

interface InFlight {
  controller: AbortController;
  kind: 'batch' | 'rpc';
  cancelled: boolean;
  /** Resolves a 'hang' fault when ATTENTION or close arrives. */
  release?: () => void;
  /** Set by the backend for a request that cannot stop part-way: ATTENTION is acknowledged when `finished` settles. */
  uninterruptible?: boolean;
  finished?: Promise<unknown>;
}

/** The reply to a message whose last packet had IGNORE set: nothing ran, so just DONE. */
function ignoredReply(): Buffer {
  return done(new ByteWriter(), Token.Done, DoneStatus.Final).toBuffer();
}

function attentionAck(): Buffer {
  return done(new ByteWriter(), Token.Done, DoneStatus.Attention).toBuffer();
}

/** How SQL Server answers an RPC stream it cannot parse (error 8016-style, class 16). */
function malformedRequest(err: unknown): SqlMessage {
  const detail = err instanceof Error ? err.message : String(err);
  return {
    number: 8016,
    state: 1,
    class: 16,
    message: `The incoming tabular data stream (TDS) protocol stream is incorrect: ${detail}.`,
    line: 1,
  };
}

/** Errors thrown by a backend become an ERROR token; SqlError-like objects keep their numbers. */
function thrownToItems(err: unknown): ReplyItem[] {
  const e = (err ?? {}) as { number?: unknown; state?: unknown; severity?: unknown; class?: unknown; line?: unknown; message?: unknown };
  const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
  const error: SqlMessage = {
    number: num(e.number, 50000),
    state: num(e.state, 1),
    class: num(e.severity, num(e.class, 16)),
    message: typeof e.message === 'string' ? e.message : String(err),
    line: num(e.line, 1),
  };
  return [{ kind: 'error', error, abortsBatch: true }];
}

function isFault(r: ReplyItem[] | FaultAction): r is FaultAction {
  return !Array.isArray(r);
}

export class RequestProcessor {
  private queue: Message[] = [];
  private running = false;
  private current: InFlight | undefined;
  private closed = false;
  private transaction: Buffer | undefined;
  private transactionCounter = 0n;
  /** False from a reset until its acknowledgement went out with the next reply. */
  private resetAcknowledged = true;
  /** Where the login put the session, and where a reset puts it back. */
  private readonly loginDatabase: string;

  constructor(
    private readonly session: Session,
    private readonly out: Outbox,
    private readonly ctx: ReplyContext,
  ) {
    this.loginDatabase = ctx.database;
  }

  onMessage(m: Message): void {
    if (this.closed) return;
    if (m.type === PacketType.Attention) {
      this.attention();
      return;
    }
    this.queue.push(m);
    void this.pump();
  }

  /** The socket is gone: abort what runs and never answer again. */
  close(): void {
    this.closed = true;
    this.queue = [];
    if (this.current) {
      this.current.controller.abort(AbortedBy.ConnectionClosed);
      this.current.release?.();
    }
  }

  private attention(): void {
    const c = this.current;
    if (c && !c.cancelled) {
      // The cancelled request gets its own (empty) response, then the ack in a second message:
      // tedious reads exactly one message after the cancelled request's response.
      c.cancelled = true;
      c.controller.abort(AbortedBy.Attention);
      c.release?.();
      const acknowledge = () => {
        this.out.reply(done(new ByteWriter(), c.kind === 'rpc' ? Token.DoneProc : Token.Done, DoneStatus.Final).toBuffer());
        this.out.reply(attentionAck());
      };
      if (c.uninterruptible && c.finished) void c.finished.then(acknowledge, acknowledge);
      else acknowledge();
      return;
    } else if (this.queue.length) {
      this.cancelledBeforeItBegan(this.queue.pop()!);
      this.out.reply(done(new ByteWriter(), Token.Done, DoneStatus.Final).toBuffer());
    }
    this.out.reply(attentionAck());
  }

  /** A queued request the ATTENTION cancelled: the backend hears of it (a request it cannot read is simply gone). */
  private cancelledBeforeItBegan(m: Message): void {
    if (m.status & Status.Ignore) return;
    let req: SqlRequest | undefined;
    try {
      if (m.type === PacketType.SqlBatch) req = parseSqlBatch(m.payload);
      else if (m.type === PacketType.Rpc) req = rpcToRequest(parseRpc(m.payload));
    } catch {
      req = undefined;
    }
    if (req) this.session.cancelledBeforeItBegan?.(req);
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      let m: Message | undefined;
      while (!this.closed && (m = this.queue.shift())) await this.process(m);
    } catch {
      // Only a framing-level surprise gets here (e.g. LOGIN7 twice): end the connection.
      this.out.drop();
    } finally {
      this.running = false;
    }
  }

  private async process(m: Message): Promise<void> {
    if (m.status & Status.Ignore) {
      this.out.reply(ignoredReply());
      return;
    }
    if (m.status & (Status.ResetConnection | Status.ResetConnectionSkipTran)) this.reset((m.status & Status.ResetConnection) === 0);
    switch (m.type) {
      case PacketType.SqlBatch:
        return this.run(() => parseSqlBatch(m.payload), 'batch');
      case PacketType.Rpc:
        return this.run(() => rpcToRequest(parseRpc(m.payload)), 'rpc');
      case PacketType.TransactionManager:
        return this.transactionManager(m.payload);
      default:
        throw new ProtocolError(`unexpected message type 0x${m.type.toString(16)} after login`);
    }
  }

  private async run(parse: () => SqlRequest, kind: 'batch' | 'rpc'): Promise<void> {
    let req: SqlRequest;
    try {
      req = parse();
    } catch (err) {
      this.reply(errorReply(kind, malformedRequest(err), this.ctx));
      return;
    }
    const flight: InFlight = { controller: new AbortController(), kind, cancelled: false };
    this.current = flight;
    try {
      let result: ReplyItem[] | FaultAction;
      try {
        const executing = this.session.execute(req, flight.controller.signal, { uninterruptible: () => void (flight.uninterruptible = true) });
        flight.finished = executing;
        result = await executing;
      } catch (err) {
        result = thrownToItems(err);
      }
      if (flight.cancelled || this.closed) return;
      if (isFault(result)) {
        if (result.kind === 'drop') {
          this.out.drop();
          return;
        }
        await new Promise<void>((resolve) => (flight.release = resolve));
        return;
      }
      let payload: Buffer;
      try {
        payload = buildReply(result, kind, this.ctx);
      } catch (err) {
        // A value the column type cannot hold: the backend's bug, reported as SQL errors are.
        payload = buildReply(thrownToItems(err), kind, this.ctx);
      }
      this.reply(payload);
    } finally {
      this.current = undefined;
    }
  }

  /**
   * The header's RESETCONNECTION (or RESETCONNECTIONSKIPTRAN, which keeps the transaction): "clean
   * up the environment state of the connection back to the default environment setting,
   * effectively simulating a logout and a subsequent login" before the request runs (MS-TDS
   * 2.2.3.1.2, only for batch, RPC and transaction manager requests, the only ones that reach
   * here). The reply opens with ENVCHANGE type 18, the reset's acknowledgement (MS-TDS 2.2.7.9).
   */
  private reset(keepTransaction: boolean): void {
    this.session.reset?.();
    this.ctx.database = this.loginDatabase;
    if (!keepTransaction) {
      this.transaction = undefined;
      this.ctx.inTransaction = false;
    }
    this.resetAcknowledged = false;
  }

  /** One whole response, after the reset's acknowledgement when a reset came with its request. */
  private reply(payload: Buffer): void {
    if (this.resetAcknowledged) {
      this.out.reply(payload);
      return;
    }
    this.resetAcknowledged = true;
    const ack = envChangeBytes(new ByteWriter(), EnvType.ResetConnection, Buffer.alloc(0), Buffer.alloc(0)).toBuffer();
    this.out.reply(Buffer.concat([ack, payload]));
  }

  private transactionManager(payload: Buffer): void {
    const w = new ByteWriter();
    let op: number;
    try {
      op = parseTransactionManager(payload).op;
    } catch (err) {
      this.reply(errorReply('batch', malformedRequest(err), this.ctx));
      return;
    }
    if (op === TransactionOp.Begin) {
      const descriptor = Buffer.alloc(8);
      descriptor.writeBigUInt64LE(++this.transactionCounter);
      this.transaction = descriptor;
      this.ctx.inTransaction = true;
      this.session.transaction?.('begin');
      envChangeBytes(w, EnvType.BeginTransaction, descriptor, Buffer.alloc(0));
    } else if (op === TransactionOp.Commit || op === TransactionOp.Rollback) {
      if (!this.transaction) {
        const verb = op === TransactionOp.Commit ? 'COMMIT' : 'ROLLBACK';
        this.reply(
          errorReply('batch', {
            number: op === TransactionOp.Commit ? 3902 : 3903,
            state: 1,
            class: 16,
            message: `The ${verb} TRANSACTION request has no corresponding BEGIN TRANSACTION.`,
            line: 1,
          }, this.ctx),
        );
        return;
      }
      this.session.transaction?.(op === TransactionOp.Commit ? 'commit' : 'rollback');
      const type = op === TransactionOp.Commit ? EnvType.CommitTransaction : EnvType.RollbackTransaction;
      envChangeBytes(w, type, Buffer.alloc(0), this.transaction);
      this.transaction = undefined;
      this.ctx.inTransaction = false;
    }
    done(w, Token.Done, DoneStatus.Final);
    this.reply(w.toBuffer());
  }
}
