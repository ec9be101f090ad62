// Byte-level tests of the TDS layer's encoders and decoders, checked against layouts written
// out by hand (MS-TDS) rather than against our own decoder where it matters.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteReader, ByteWriter } from '../../lab/tds/bytes.js';
import { datetime2Parts, guidFromBytes, guidToBytes, scaledToDecimalString, toScaledInteger } from '../../lab/tds/codecs.js';
import type { Column } from '../../lab/tds/contract.js';
import { MessageReader, encodeMessage } from '../../lab/tds/framing.js';
import { decodePassword, encodePassword } from '../../lab/tds/login7.js';
import { readParam } from '../../lab/tds/params.js';
import { buildPreloginResponse, decideEncryption, Encryption, parsePrelogin } from '../../lab/tds/prelogin.js';
import { buildReply } from '../../lab/tds/reply.js';
import { rpcToRequest } from '../../lab/tds/requests.js';
import { row } from '../../lab/tds/results.js';

const hex = (b: Buffer) => b.toString('hex');
const lsn: Column = { name: 'lsn', sqlType: { type: 'numeric', precision: 25, scale: 0 }, nullable: true };

test('numeric(25,0) above 2^53 is encoded exactly: length 13, sign, 12-byte LE magnitude', () => {
  // 71000009408100001 = 0x00FC3E21E3D1B6A1; Number() of it would be ...100000.
  const w = new ByteWriter();
  row(w, [lsn], [71000009408100001n]);
  assert.is(hex(w.toBuffer()), 'd1' + '0d' + '01' + 'a1b6d1e3213efc0000000000');

  const big = new ByteWriter();
  row(big, [lsn], [-12345678901234567890123n]);
  assert.is(hex(big.toBuffer()), 'd1' + '0d' + '00' + 'cb444271764eb6429d020000');

  const fromString = new ByteWriter();
  row(fromString, [lsn], ['71000009408100001']);
  assert.is(hex(fromString.toBuffer()), hex(w.toBuffer()));
});

test('numeric scale and precision choose the value length; decimals stay exact', () => {
  const money: Column = { name: 'm', sqlType: { type: 'numeric', precision: 10, scale: 2 }, nullable: false };
  const w = new ByteWriter();
  row(w, [money], ['123.45']);
  assert.is(hex(w.toBuffer()), 'd1' + '09' + '01' + '3930000000000000');
  assert.is(toScaledInteger(0.1, 3), 100n);
  assert.is(toScaledInteger('2.005', 2), 201n);
  assert.is(toScaledInteger(71000009408100001n, 0), 71000009408100001n);
  assert.is(scaledToDecimalString(-12345n, 2), '-123.45');
  assert.is(scaledToDecimalString(5n, 3), '0.005');
  assert.throws(() => row(new ByteWriter(), [{ ...money, sqlType: { type: 'numeric', precision: 1, scale: 0 } }], [10n ** 12n]));
});

test('an RPC numeric parameter decodes to an exact bigint', () => {
  // name "@x" | status 0 | NUMERICN len 17 prec 38 scale 0 | value len 17, sign +, 16-byte magnitude
  const w = new ByteWriter().bVarchar('@x').u8(0).u8(0x6c).u8(17).u8(38).u8(0).u8(17).u8(1);
  const mag = Buffer.alloc(16);
  mag.writeBigUInt64LE(71000009408100001n);
  const p = readParam(new ByteReader(w.bytes(mag).toBuffer()));
  assert.equal(p, { name: 'x', typeName: 'numeric', value: 71000009408100001n, output: false });
});

test('LOGIN7 password obfuscation: nibble swap then XOR 0xA5, and back', () => {
  assert.is(hex(encodePassword('a')), 'b3a5');
  assert.is(decodePassword(Buffer.from('b3a5', 'hex')), 'a');
  const secret = 'Pässwörd-€-123';
  assert.is(decodePassword(encodePassword(secret)), secret);
});

test('GUIDs swap the first three groups on the wire', () => {
  const text = '6F9619FF-8B86-D011-B42D-00C04FC964FF';
  assert.is(hex(guidToBytes(text)), 'ff19966f868b11d0b42d00c04fc964ff');
  assert.is(guidFromBytes(guidToBytes(text.toLowerCase())), text);
});

test('datetime2 splits into days since 0001-01-01 and 10^-scale units since midnight', () => {
  const d = new Date('2024-01-02T03:04:05.678Z');
  // 738886 days from 0001-01-01 to 2024-01-02 (proleptic Gregorian).
  assert.equal(datetime2Parts(d, 7), { days: 738886, units: (3 * 3600 + 4 * 60 + 5) * 1e7 + 6_780_000 });
  assert.equal(datetime2Parts(d, 0), { days: 738886, units: 3 * 3600 + 4 * 60 + 6 });
});

test('messages split at the packet size and reassemble from any byte split', () => {
  const payload = Buffer.from(Array.from({ length: 1500 }, (_, i) => i & 0xff));
  const bytes = encodeMessage(0x04, payload, 512);
  // 1500 bytes in 504-byte pieces: 3 packets, only the last with EOM.
  assert.is(bytes.length, 1500 + 3 * 8);
  assert.is(bytes.readUInt16BE(2), 512);
  assert.is(bytes[1], 0);
  assert.is(bytes[512 * 2 + 1], 1);
  const reader = new MessageReader();
  const got = [];
  for (const b of bytes) got.push(...reader.push(Buffer.from([b])));
  assert.is(got.length, 1);
  assert.is(got[0]!.type, 0x04);
  assert.ok(got[0]!.payload.equals(payload));
  assert.is(reader.buffered, 0);
});

test('PRELOGIN: tedious request parsed, encryption decided, response laid out', () => {
  const req = Buffer.from(
    '00002400060100' + '2a000102002b000103002c000404003000010500310024060055000' + '1ff' +
      '130200020000' + '01' + '00' + '00000000' + '00' + '00'.repeat(36) + '01',
    'hex',
  );
  assert.is(parsePrelogin(req).encryption, Encryption.On);
  assert.equal(decideEncryption(Encryption.On, true), { answer: Encryption.On, tls: true });
  assert.equal(decideEncryption(Encryption.NotSupported, true), { answer: Encryption.NotSupported, tls: false });
  assert.equal(decideEncryption(Encryption.On, false), { answer: Encryption.NotSupported, tls: false });
  const res = buildPreloginResponse(Encryption.NotSupported);
  assert.is(hex(res), '00001a0006' + '0100200001' + '0200210001' + '0300220000' + '0400220001' + 'ff' + '100010000000' + '02' + '00' + '00');
});

test('batch replies end with a DONE without MORE; RPC replies with RETURNSTATUS + DONEPROC', () => {
  const ctx = { serverName: 'S', database: 'master', inTransaction: false };
  const batch = buildReply([{ kind: 'done' }, { kind: 'done', rowCount: 3 }], 'batch', ctx);
  assert.is(hex(batch), 'fd0100000000000000000000' + '00' + 'fd1000000003000000000000' + '00');
  const rpc = buildReply([{ kind: 'done' }], 'rpc', ctx);
  assert.is(hex(rpc), 'ff0100000000000000000000' + '00' + '7900000000' + 'fe0000000000000000000000' + '00');
  const failed = buildReply([{ kind: 'error', error: { number: 1, state: 1, class: 16, message: '', line: 1 }, abortsBatch: true }, { kind: 'done' }], 'batch', ctx);
  assert.ok(hex(failed).endsWith('fd0200000000000000000000' + '00'), 'one DONE(ERROR), nothing after the aborting error');
});

test('sp_executesql RPCs become the statement plus user parameters; other procs become EXEC', () => {
  const p = (name: string, value: string | number) => ({ name, value, typeName: 'nvarchar', output: false });
  const req = rpcToRequest({ procName: 'sp_executesql', params: [p('statement', 'SELECT @a'), p('params', '@a int'), { ...p('a', 5), typeName: 'int' }] });
  assert.equal(req, { kind: 'rpc', sql: 'SELECT @a', params: [{ name: 'a', value: 5, typeName: 'int' }] });
  const exec = rpcToRequest({ procName: 'sp_getapplock', params: [p('Resource', 'r1')] });
  assert.is(exec.sql, 'EXEC sp_getapplock @Resource = @Resource');
});

test.run();
