// Writers for the server's tokens (all little-endian; strings UCS-2).
import { ByteWriter } from './bytes.js';
import type { SqlMessage } from './contract.js';

export const Token = {
  ColMetadata: 0x81,
  Row: 0xd1,
  Done: 0xfd,
  DoneProc: 0xfe,
  DoneInProc: 0xff,
  ReturnStatus: 0x79,
  Error: 0xaa,
  Info: 0xab,
  EnvChange: 0xe3,
  LoginAck: 0xad,
} as const;

export const DoneStatus = {
  Final: 0x00,
  More: 0x01,
  Error: 0x02,
  InTransaction: 0x04,
  Count: 0x10,
  Attention: 0x20,
  ServerError: 0x100,
} as const;

export const EnvType = {
  Database: 1,
  Language: 2,
  PacketSize: 4,
  Collation: 7,
  BeginTransaction: 8,
  CommitTransaction: 9,
  RollbackTransaction: 10,
  /** Reset completion acknowledgement (MS-TDS 2.2.7.9): both values empty. */
  ResetConnection: 18,
} as const;

/** SQL_Latin1_General_CP1_CI_AS: LCID 0x0409, flags, sort id 52. */
export const DEFAULT_COLLATION = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);

/** TDS 7.4 as LOGINACK states it (read big-endian by the client). */
export const TDS_VERSION_7_4 = 0x74000004;

export const CurCmd = { None: 0x00, Select: 0xc1 } as const;

function withLength(w: ByteWriter, token: number, body: ByteWriter): ByteWriter {
  return w.u8(token).u16(body.length).bytes(body.toBuffer());
}

export function envChangeText(w: ByteWriter, type: number, next: string, previous: string): ByteWriter {
  return withLength(w, Token.EnvChange, new ByteWriter().u8(type).bVarchar(next).bVarchar(previous));
}

export function envChangeBytes(w: ByteWriter, type: number, next: Buffer, previous: Buffer): ByteWriter {
  return withLength(w, Token.EnvChange, new ByteWriter().u8(type).bVarbyte(next).bVarbyte(previous));
}

/** ERROR (class >= 11) or INFO token. */
export function messageToken(w: ByteWriter, token: 'error' | 'info', m: SqlMessage, serverName: string): ByteWriter {
  const body = new ByteWriter()
    .i32(m.number)
    .u8(m.state)
    .u8(m.class)
    .usVarchar(m.message)
    .bVarchar(serverName.slice(0, 255))
    .bVarchar((m.procName ?? '').slice(0, 255))
    .i32(m.line);
  return withLength(w, token === 'error' ? Token.Error : Token.Info, body);
}

export function loginAck(w: ByteWriter, programName: string, version: [number, number, number]): ByteWriter {
  const [major, minor, build] = version;
  const body = new ByteWriter()
    .u8(1) // interface: SQL
    .u32be(TDS_VERSION_7_4)
    .bVarchar(programName)
    .u8(major)
    .u8(minor)
    .u8(build >> 8)
    .u8(build & 0xff);
  return withLength(w, Token.LoginAck, body);
}

export function done(
  w: ByteWriter,
  token: number,
  status: number,
  rowCount = 0,
  curCmd: number = CurCmd.None,
): ByteWriter {
  return w.u8(token).u16(status).u16(curCmd).u64(rowCount);
}

export function returnStatus(w: ByteWriter, value: number): ByteWriter {
  return w.u8(Token.ReturnStatus).i32(value);
}
