// TDS packets and messages: an 8-byte header (type, status, big-endian length, SPID, packet id,
// window) in front of each packet; a message is a run of packets ending with EOM.
import { ProtocolError } from './bytes.js';

export const PacketType = {
  SqlBatch: 0x01,
  Rpc: 0x03,
  TabularResult: 0x04,
  Attention: 0x06,
  BulkLoad: 0x07,
  TransactionManager: 0x0e,
  Login7: 0x10,
  Prelogin: 0x12,
} as const;

const KNOWN_TYPES = new Set<number>(Object.values(PacketType));

export const Status = {
  EndOfMessage: 0x01,
  Ignore: 0x02,
  ResetConnection: 0x08,
  ResetConnectionSkipTran: 0x10,
} as const;

export const HEADER_LENGTH = 8;
export const DEFAULT_PACKET_SIZE = 4096;
export const MIN_PACKET_SIZE = 512;
export const MAX_PACKET_SIZE = 32767;
/** Refuse client messages beyond this; a real server has limits too, and a bug should not OOM us. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface Message {
  type: number;
  /** Status bits of the message's packets, OR-ed (EOM, IGNORE, RESETCONNECTION...). */
  status: number;
  payload: Buffer;
}

/**
 * Turns a byte stream into whole messages. Bytes may arrive in any split; a message may span
 * many packets. Packets of a different type before EOM are a protocol error.
 */
export class MessageReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private type: number | undefined;
  private status = 0;

  /** Feeds bytes; returns the messages they completed, in order. */
  push(data: Buffer): Message[] {
    this.pending.push(data);
    this.pendingBytes += data.length;
    const out: Message[] = [];
    let buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    let pos = 0;
    while (buf.length - pos >= HEADER_LENGTH) {
      const length = buf.readUInt16BE(pos + 2);
      if (length < HEADER_LENGTH) throw new ProtocolError(`packet length ${length} is too small`);
      // Judge the header before waiting for the body, so a non-TDS client is turned away at once.
      if (!KNOWN_TYPES.has(buf[pos]!)) throw new ProtocolError(`unknown packet type 0x${buf[pos]!.toString(16)}`);
      if (buf.length - pos < length) break;
      const type = buf[pos]!;
      const status = buf[pos + 1]!;
      if (this.type !== undefined && this.type !== type) {
        throw new ProtocolError(`packet type 0x${type.toString(16)} inside a 0x${this.type.toString(16)} message`);
      }
      this.type = type;
      this.status |= status;
      this.parts.push(buf.subarray(pos + HEADER_LENGTH, pos + length));
      this.partsBytes += length - HEADER_LENGTH;
      if (this.partsBytes > MAX_MESSAGE_BYTES) throw new ProtocolError('message too large');
      pos += length;
      if (status & Status.EndOfMessage) {
        out.push({ type, status: this.status, payload: Buffer.concat(this.parts, this.partsBytes) });
        this.parts = [];
        this.partsBytes = 0;
        this.type = undefined;
        this.status = 0;
      }
    }
    buf = buf.subarray(pos);
    this.pending = buf.length ? [buf] : [];
    this.pendingBytes = buf.length;
    return out;
  }

  /** Bytes held that do not yet form a whole packet or message. */
  get buffered(): number {
    return this.pendingBytes + this.partsBytes;
  }
}

/** Splits a payload into packets of at most `packetSize` bytes (header included). */
export function encodeMessage(type: number, payload: Buffer, packetSize: number): Buffer {
  const room = packetSize - HEADER_LENGTH;
  const count = Math.max(1, Math.ceil(payload.length / room));
  const out = Buffer.allocUnsafe(payload.length + count * HEADER_LENGTH);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const chunk = payload.subarray(i * room, (i + 1) * room);
    out[at] = type;
    out[at + 1] = i === count - 1 ? Status.EndOfMessage : 0;
    out.writeUInt16BE(chunk.length + HEADER_LENGTH, at + 2);
    out.writeUInt16BE(0, at + 4); // SPID: tedious ignores it
    out[at + 6] = (i + 1) & 0xff;
    out[at + 7] = 0;
    chunk.copy(out, at + HEADER_LENGTH);
    at += chunk.length + HEADER_LENGTH;
  }
  return out;
}

/** The packet size the server confirms for a LOGIN7 request (0 = server default). */
export function negotiatePacketSize(requested: number): number {
  if (!requested) return DEFAULT_PACKET_SIZE;
  return Math.min(MAX_PACKET_SIZE, Math.max(MIN_PACKET_SIZE, requested));
}
