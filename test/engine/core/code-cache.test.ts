// The record beside a code cache (engine/core/code-cache.ts): the source, then the cache's CRC-32
// and length. A cache is handed to V8 only when both match; a cache damaged after the build is
// `damaged` however its copy was treated (attack r7fix finding 13).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { CACHE_TRAILER_BYTES, cacheIfRecorded, cacheRecord, crc32InJavaScript, recordedSource } from '../../../engine/core/code-cache.js';

test("the build's CRC-32 in JavaScript is zlib's", () => {
  // The check value of CRC-32/ISO-HDLC.
  assert.is(crc32InJavaScript(Buffer.from('123456789')), 0xcbf43926);
  assert.is(crc32InJavaScript(Buffer.alloc(0)), 0);
  for (const size of [1, 3, 4096, 100_003]) {
    const data = randomBytes(size);
    assert.is(crc32InJavaScript(data), crc32(data), `${size} bytes`);
  }
});

test('a record holds the source and the cache it was compiled with; nothing else passes', () => {
  const source = Buffer.from('(function () { return 42; })');
  const cache = randomBytes(3000);
  const record = cacheRecord(source, cache);
  assert.is(record.length, source.length + CACHE_TRAILER_BYTES);
  assert.ok(recordedSource(record).equals(source));
  assert.is(cacheIfRecorded(record, source, () => cache), cache);

  const flipped = Buffer.from(cache);
  flipped[1500]! ^= 0x01;
  assert.is(cacheIfRecorded(record, source, () => flipped), 'damaged', 'one bit of the cache changed');
  assert.is(cacheIfRecorded(record, source, () => cache.subarray(0, 2999)), 'damaged', 'a torn cache');
  assert.is(cacheIfRecorded(cacheRecord(source, flipped), source, () => cache), 'damaged', "another cache's record");

  const otherSource = Buffer.from(source);
  otherSource[5] = 0x20;
  assert.is(cacheIfRecorded(record, otherSource, () => cache), undefined, 'the record of another source');
  assert.is(cacheIfRecorded(Buffer.concat([source, cache]), source, () => cache), undefined, 'a copy in the old form (source and cache) is no record');
});

test.run();
