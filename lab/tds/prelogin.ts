// PRELOGIN: a table of (token, offset, length) options ended by 0xFF, then their data. The
// only option that changes what happens next is ENCRYPTION.
import { ByteReader, ByteWriter, ProtocolError } from './bytes.js';

export const Encryption = { Off: 0x00, On: 0x01, NotSupported: 0x02, Required: 0x03 } as const;

const Option = { Version: 0x00, Encryption: 0x01, InstOpt: 0x02, ThreadId: 0x03, Mars: 0x04, Terminator: 0xff } as const;

export interface PreloginRequest {
  /** The client's ENCRYPTION byte; NotSupported when it sent none. */
  encryption: number;
  options: Map<number, Buffer>;
}

export function parsePrelogin(payload: Buffer): PreloginRequest {
  const r = new ByteReader(payload);
  const options = new Map<number, Buffer>();
  for (;;) {
    const token = r.u8();
    if (token === Option.Terminator) break;
    const offset = r.buf.readUInt16BE(r.pos);
    const length = r.buf.readUInt16BE(r.pos + 2);
    r.bytes(4);
    if (offset + length > payload.length) throw new ProtocolError('PRELOGIN option out of bounds');
    options.set(token, payload.subarray(offset, offset + length));
  }
  const enc = options.get(Option.Encryption);
  return { encryption: enc && enc.length ? enc[0]! : Encryption.NotSupported, options };
}

/**
 * What the server answers and whether TLS follows. With a certificate every client that can
 * encrypt gets full encryption (OFF, i.e. login-only, is upgraded to ON: tedious does not
 * implement login-only and the spec lets the server choose ON). Without one, NOT_SUP.
 */
export function decideEncryption(clientValue: number, haveCertificate: boolean): { answer: number; tls: boolean } {
  if (!haveCertificate || clientValue === Encryption.NotSupported) {
    return { answer: Encryption.NotSupported, tls: false };
  }
  return { answer: Encryption.On, tls: true };
}

/** Server version reported in PRELOGIN (16.0.4096 = SQL Server 2022). */
export function buildPreloginResponse(encryption: number): Buffer {
  const data: Array<[number, Buffer]> = [
    [Option.Version, Buffer.from([16, 0, 0x10, 0x00, 0x00, 0x00])],
    [Option.Encryption, Buffer.from([encryption])],
    [Option.InstOpt, Buffer.from([0])],
    [Option.ThreadId, Buffer.alloc(0)],
    [Option.Mars, Buffer.from([0])],
  ];
  const w = new ByteWriter();
  let offset = data.length * 5 + 1;
  for (const [token, value] of data) {
    w.u8(token).u16be(offset).u16be(value.length);
    offset += value.length;
  }
  w.u8(Option.Terminator);
  for (const [, value] of data) w.bytes(value);
  return w.toBuffer();
}
