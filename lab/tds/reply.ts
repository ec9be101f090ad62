// Turns the backend's ReplyItems into one response message's tokens. A batch ends with a DONE
// without MORE; an RPC ends with RETURNSTATUS + DONEPROC, its statements using DONEINPROC.
import { ByteWriter } from './bytes.js';
import type { ReplyItem, SqlMessage } from './contract.js';
import { colMetadata, row } from './results.js';
import { CurCmd, DoneStatus, EnvType, Token, done, envChangeText, messageToken, returnStatus } from './tokens.js';

export interface ReplyContext {
  serverName: string;
  /** Current database; updated in place by `database` items. */
  database: string;
  inTransaction: boolean;
}

/** SQL Server's return status for a procedure whose statement raised an error. */
const RPC_ERROR_STATUS = -6;

export function databaseChanged(w: ByteWriter, ctx: ReplyContext, name: string, line = 1): void {
  envChangeText(w, EnvType.Database, name, ctx.database);
  messageToken(w, 'info', changedDatabaseInfo(name, line), ctx.serverName);
  ctx.database = name;
}

export function changedDatabaseInfo(name: string, line = 1): SqlMessage {
  return { number: 5701, state: 2, class: 0, message: `Changed database context to '${name}'.`, line };
}

export function buildReply(items: ReplyItem[], kind: 'batch' | 'rpc', ctx: ReplyContext): Buffer {
  const w = new ByteWriter();
  const doneToken = kind === 'batch' ? Token.Done : Token.DoneInProc;
  const tx = () => (ctx.inTransaction ? DoneStatus.InTransaction : 0);
  let lastDoneAt = -1;
  let hadError = false;

  const statementDone = (status: number, rowCount = 0, curCmd: number = CurCmd.None) => {
    lastDoneAt = w.length;
    done(w, doneToken, DoneStatus.More | status | tx(), rowCount, curCmd);
  };

  for (const item of items) {
    switch (item.kind) {
      case 'rows':
        if (item.columns.length) {
          colMetadata(w, item.columns);
          for (const cells of item.rows) row(w, item.columns, cells);
        }
        statementDone(DoneStatus.Count, item.rows.length, CurCmd.Select);
        break;
      case 'done':
        statementDone(item.rowCount === undefined ? 0 : DoneStatus.Count, item.rowCount ?? 0);
        break;
      case 'info':
        messageToken(w, 'info', { ...item.info, class: Math.min(item.info.class, 10) }, ctx.serverName);
        break;
      case 'database':
        databaseChanged(w, ctx, item.name);
        break;
      case 'error':
        hadError = true;
        messageToken(w, 'error', item.error, ctx.serverName);
        statementDone(DoneStatus.Error);
        break;
    }
    if (item.kind === 'error' && item.abortsBatch) break;
  }

  if (kind === 'rpc') {
    returnStatus(w, hadError ? RPC_ERROR_STATUS : 0);
    done(w, Token.DoneProc, (hadError ? DoneStatus.Error : 0) | tx());
    return w.toBuffer();
  }
  if (lastDoneAt >= 0 && lastDoneAt + 13 === w.length) {
    const out = w.toBuffer();
    out.writeUInt16LE(out.readUInt16LE(lastDoneAt + 1) & ~DoneStatus.More, lastDoneAt + 1);
    return out;
  }
  done(w, Token.Done, (hadError ? DoneStatus.Error : 0) | tx());
  return w.toBuffer();
}

/** A whole reply for a request the protocol layer itself refuses (bad parameters, backend crash). */
export function errorReply(kind: 'batch' | 'rpc', error: SqlMessage, ctx: ReplyContext): Buffer {
  return buildReply([{ kind: 'error', error, abortsBatch: true }], kind, ctx);
}
