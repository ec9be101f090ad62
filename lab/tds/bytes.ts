// Little helpers for building and reading TDS byte layouts. TDS is little-endian except the
// packet header's length and a few version fields.

/** Appends values to a growing list of chunks; `toBuffer()` joins them once. */
export class ByteWriter {
  private chunks: Buffer[] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  bytes(buf: Buffer | Uint8Array): this {
    const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf);
    this.chunks.push(b);
    this.size += b.length;
    return this;
  }

  private fixed(n: number, fill: (b: Buffer) => void): this {
    const b = Buffer.allocUnsafe(n);
    fill(b);
    return this.bytes(b);
  }

  u8(v: number): this {
    return this.fixed(1, (b) => b.writeUInt8(v & 0xff));
  }
  u16(v: number): this {
    return this.fixed(2, (b) => b.writeUInt16LE(v));
  }
  u16be(v: number): this {
    return this.fixed(2, (b) => b.writeUInt16BE(v));
  }
  u32(v: number): this {
    return this.fixed(4, (b) => b.writeUInt32LE(v >>> 0));
  }
  u32be(v: number): this {
    return this.fixed(4, (b) => b.writeUInt32BE(v >>> 0));
  }
  i32(v: number): this {
    return this.fixed(4, (b) => b.writeInt32LE(v));
  }
  u64(v: bigint | number): this {
    return this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(v)));
  }
  i64(v: bigint | number): this {
    return this.fixed(8, (b) => b.writeBigInt64LE(BigInt(v)));
  }
  f64(v: number): this {
    return this.fixed(8, (b) => b.writeDoubleLE(v));
  }
  ucs2(s: string): this {
    return this.bytes(Buffer.from(s, 'utf16le'));
  }
  /** B_VARCHAR: u8 character count + UCS-2. */
  bVarchar(s: string): this {
    return this.u8(s.length).ucs2(s);
  }
  /** US_VARCHAR: u16 character count + UCS-2. */
  usVarchar(s: string): this {
    return this.u16(s.length).ucs2(s);
  }
  /** B_VARBYTE: u8 byte count + bytes. */
  bVarbyte(b: Buffer): this {
    return this.u8(b.length).bytes(b);
  }

  toBuffer(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
  }
}

/** Thrown when a client message is shorter or stranger than its own lengths claim. */
export class ProtocolError extends Error {}

/** Sequential reader over one message payload; every read checks bounds. */
export class ByteReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): number {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new ProtocolError(`message truncated at byte ${this.pos} (needed ${n} more)`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.buf.readUInt8(this.need(1));
  }
  u16(): number {
    return this.buf.readUInt16LE(this.need(2));
  }
  u32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }
  i8(): number {
    return this.buf.readInt8(this.need(1));
  }
  i16(): number {
    return this.buf.readInt16LE(this.need(2));
  }
  i32(): number {
    return this.buf.readInt32LE(this.need(4));
  }
  i64(): bigint {
    return this.buf.readBigInt64LE(this.need(8));
  }
  u64(): bigint {
    return this.buf.readBigUInt64LE(this.need(8));
  }
  f32(): number {
    return this.buf.readFloatLE(this.need(4));
  }
  f64(): number {
    return this.buf.readDoubleLE(this.need(8));
  }
  bytes(n: number): Buffer {
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  ucs2(chars: number): string {
    return this.bytes(chars * 2).toString('utf16le');
  }
  bVarchar(): string {
    return this.ucs2(this.u8());
  }
  usVarchar(): string {
    return this.ucs2(this.u16());
  }
}
