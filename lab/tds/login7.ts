// LOGIN7: a fixed little-endian header of offsets and character counts into the message,
// followed by the UCS-2 strings. The password is obfuscated (nibbles swapped, then XOR 0xA5).
import { ByteReader, ProtocolError } from './bytes.js';

export interface Login7 {
  tdsVersion: number;
  packetSize: number;
  readOnlyIntent: boolean;
  hostName: string;
  user: string;
  password: string;
  appName: string;
  serverName: string;
  libraryName: string;
  language: string;
  database: string;
}

const TYPE_FLAG_READ_ONLY_INTENT = 0x20;

/** Reverses the client's obfuscation: XOR 0xA5, then swap the two nibbles of each byte. */
export function decodePassword(bytes: Buffer): string {
  const plain = Buffer.allocUnsafe(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const x = bytes[i]! ^ 0xa5;
    plain[i] = ((x & 0x0f) << 4) | (x >> 4);
  }
  return plain.toString('utf16le');
}

/** The client side of the obfuscation; the inverse of decodePassword (used by tests). */
export function encodePassword(password: string): Buffer {
  const bytes = Buffer.from(password, 'utf16le');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    bytes[i] = (((b & 0x0f) << 4) | (b >> 4)) ^ 0xa5;
  }
  return bytes;
}

export function parseLogin7(payload: Buffer): Login7 {
  if (payload.length < 94) throw new ProtocolError('LOGIN7 shorter than its fixed header');
  const r = new ByteReader(payload);
  const length = r.u32();
  if (length > payload.length) throw new ProtocolError('LOGIN7 length exceeds the message');
  const tdsVersion = payload.readUInt32BE(4);
  const packetSize = payload.readUInt32LE(8);
  const typeFlags = payload[26]!;

  const field = (at: number): Buffer => {
    const offset = payload.readUInt16LE(at);
    const chars = payload.readUInt16LE(at + 2);
    if (offset + chars * 2 > payload.length) throw new ProtocolError(`LOGIN7 field at ${at} out of bounds`);
    return payload.subarray(offset, offset + chars * 2);
  };
  const text = (at: number) => field(at).toString('utf16le');

  return {
    tdsVersion,
    packetSize,
    readOnlyIntent: (typeFlags & TYPE_FLAG_READ_ONLY_INTENT) !== 0,
    hostName: text(36),
    user: text(40),
    password: decodePassword(field(44)),
    appName: text(48),
    serverName: text(52),
    libraryName: text(60),
    language: text(64),
    database: text(68),
  };
}
