// Client request payloads: SQL_BATCH, RPC and TRANSACTION_MANAGER, each after ALL_HEADERS.
import { ByteReader, ProtocolError } from './bytes.js';
import type { ParamValue, SqlRequest } from './contract.js';
import { readParam } from './params.js';

/** Special procedure ids tedious sends instead of a name (`FF FF <id>`). */
const PROC_BY_ID: Record<number, string> = {
  1: 'sp_cursor',
  2: 'sp_cursoropen',
  3: 'sp_cursorprepare',
  4: 'sp_cursorexecute',
  5: 'sp_cursorprepexec',
  6: 'sp_cursorunprepare',
  7: 'sp_cursorfetch',
  8: 'sp_cursoroption',
  9: 'sp_cursorclose',
  10: 'sp_executesql',
  11: 'sp_prepare',
  12: 'sp_execute',
  13: 'sp_prepexec',
  14: 'sp_prepexecrpc',
  15: 'sp_unprepare',
};

/** Skips ALL_HEADERS (u32 total length, itself included) and returns where the body starts. */
function skipAllHeaders(payload: Buffer): number {
  if (payload.length < 4) throw new ProtocolError('request without ALL_HEADERS');
  const total = payload.readUInt32LE(0);
  if (total < 4 || total > payload.length) throw new ProtocolError(`bad ALL_HEADERS length ${total}`);
  return total;
}

export function parseSqlBatch(payload: Buffer): SqlRequest {
  const text = payload.subarray(skipAllHeaders(payload));
  if (text.length % 2) throw new ProtocolError('SQL_BATCH text has an odd byte count');
  return { kind: 'batch', sql: text.toString('utf16le'), params: [] };
}

export interface RpcCall {
  procName: string;
  params: Array<ParamValue & { output: boolean }>;
}

export function parseRpc(payload: Buffer): RpcCall {
  const r = new ByteReader(payload, skipAllHeaders(payload));
  const nameLength = r.u16();
  const procName = nameLength === 0xffff ? (PROC_BY_ID[r.u16()] ?? 'sp_unknown') : r.ucs2(nameLength);
  r.u16(); // option flags (WITH RECOMPILE, no metadata): nothing for the lab to do
  const params: RpcCall['params'] = [];
  while (r.remaining > 0) {
    const b = r.buf[r.pos]!;
    // 0x80 / 0xFF separate batched RPCs; tedious sends one RPC per message.
    if (b === 0x80 || b === 0xff) throw new ProtocolError('batched RPC calls are not supported');
    params.push(readParam(r));
  }
  return { procName, params };
}

/**
 * What the backend sees for an RPC. sp_executesql becomes its statement with the user
 * parameters (the first two are @statement and @params). Any other procedure becomes
 * `EXEC name @p = @p, ...` with the parameters bound, so a T-SQL engine can handle both alike.
 */
export function rpcToRequest(call: RpcCall): SqlRequest {
  const strip = ({ output: _output, ...p }: ParamValue & { output: boolean }): ParamValue => p;
  if (call.procName.toLowerCase().replace(/^(\[?dbo\]?\.|\[?sys\]?\.)/, '') === 'sp_executesql') {
    const [statement, declarations, ...rest] = call.params;
    if (!statement) throw new ProtocolError('sp_executesql without @statement');
    void declarations;
    return { kind: 'rpc', sql: String(statement.value ?? ''), params: rest.map(strip) };
  }
  const named = call.params.map((p, i) => ({ ...strip(p), name: p.name || `p${i + 1}` }));
  const args = named.map((p) => `@${p.name} = @${p.name}`).join(', ');
  return { kind: 'rpc', sql: `EXEC ${call.procName}${args ? ' ' + args : ''}`, params: named };
}

export const TransactionOp = { Begin: 5, Commit: 7, Rollback: 8, Save: 9 } as const;

export function parseTransactionManager(payload: Buffer): { op: number } {
  const at = skipAllHeaders(payload);
  if (payload.length < at + 2) throw new ProtocolError('TRANSACTION_MANAGER without a request type');
  return { op: payload.readUInt16LE(at) };
}
