// The redactor and the T-SQL string literal it masks secrets in, pure: every form a registered
// secret takes in our sinks (as typed, in JSON, in a T-SQL literal, split by str at line breaks) is
// masked; short values are not masked inside other text. The secrets' way through the CLI, the
// journal and the lab: test/safety/secrets.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough } from 'node:stream';
import { forgetSecrets, MASK, MIN_MASKED_LENGTH, redact, redactDeep, redactingStream, registerSecret } from '../../../engine/core/redact.js';
import { LINE_BREAK, unicodeStringLiteral } from '../../../engine/core/sql-literal.js';
import { renderTemplate } from '../../../engine/template/render.js';

// Before any test (and any forgetSecrets): a fresh process has nothing registered.
const fresh = { value: { list: ['Stryker was here'] } };
const atStart = { deep: redactDeep(fresh.value), text: redact('Stryker was here') };

test.before.each(() => forgetSecrets());

test('a fresh process masks nothing and copies nothing', () => {
  assert.is(atStart.deep, fresh.value);
  assert.is(atStart.text, 'Stryker was here');
});

test('redact: registered values and their JSON and T-SQL forms are masked; short values are not', () => {
  assert.ok(registerSecret(`it's-"quoted"\\x`));
  assert.not.ok(registerSecret('test'), 'too short to mask as a substring');
  assert.is(redact(`a it's-"quoted"\\x b`), `a ${MASK} b`);
  assert.is(redact(JSON.stringify({ p: `it's-"quoted"\\x` })), `{"p":"${MASK}"}`);
  assert.is(redact(`N'it''s-"quoted"\\x'`), `N'${MASK}'`);
  assert.is(redact(JSON.stringify(`N'it''s-"quoted"\\x'`)), JSON.stringify(`N'${MASK}'`), 'the T-SQL form inside JSON');
  assert.is(redact('a test of testing'), 'a test of testing', 'no over-masking of common words');
});

test('registerSecret: only text of at least MIN_MASKED_LENGTH characters; twice is still registered', () => {
  // The constants themselves, literally: the other tests compare with MASK, which a change to it would follow.
  assert.is(MASK, '***');
  assert.is(MIN_MASKED_LENGTH, 6);
  assert.not.ok(registerSecret('12345'), 'one under the minimum');
  assert.not.ok(registerSecret(''));
  assert.not.ok(registerSecret(12345678));
  assert.not.ok(registerSecret(undefined));
  assert.not.ok(registerSecret('12345'));
  assert.is(redact('x 12345 y'), 'x 12345 y');
  assert.ok(registerSecret('123456'));
  assert.ok(registerSecret('123456'));
  assert.is(redact('x 123456 y 123456'), `x ${MASK} y ${MASK}`);
  forgetSecrets();
  assert.is(redact('x 123456 y'), 'x 123456 y', 'forgotten');
});

test('the longest form is masked first: a secret that holds another leaves nothing of itself', () => {
  assert.ok(registerSecret('secret'));
  assert.ok(registerSecret('secret-and-more'));
  assert.is(redact('[secret-and-more] [secret]'), `[${MASK}] [${MASK}]`);
  assert.ok(registerSecret('zz-long-secret-zz'));
  assert.is(redact('zz-long-secret-zz'), MASK);
  assert.is(redact(''), '');
});

test('a secret with a line break is masked in the form str writes it, (N\'..\' + NCHAR(10) + N\'..\')', () => {
  const secret = "first-line\nsecond'line";
  assert.ok(registerSecret(secret));
  const sql = String(renderTemplate('SELECT {{str inputs.note}} AS note;', { inputs: { note: secret } }));
  assert.is(sql, "SELECT (N'first-line' + NCHAR(10) + N'second''line') AS note;");
  assert.is(redact(sql), `SELECT ${MASK} AS note;`);
  assert.is(redact(JSON.stringify({ sql })), JSON.stringify({ sql: `SELECT ${MASK} AS note;` }));
  // With a double quote too, the literal's JSON form differs from the literal: masked inside JSON as well.
  const quoted = 'say "hi"\nsecond';
  assert.ok(registerSecret(quoted));
  const sql2 = String(renderTemplate('SELECT {{str inputs.note}} AS note;', { inputs: { note: quoted } }));
  assert.is(redact(JSON.stringify({ sql: sql2 })), JSON.stringify({ sql: `SELECT ${MASK} AS note;` }));
});

test('redactDeep: every string, keys too, in arrays and plain objects; other values as they are', () => {
  const when = new Date(0);
  const untouched = { list: ['a secret-value'], n: 1 };
  assert.is(redactDeep(untouched), untouched, 'nothing registered: the same value');
  assert.ok(registerSecret('secret-value'));
  assert.equal(redactDeep({ list: ['x secret-value', 2, null], n: 1, 'secret-value': { deep: 'secret-value' } }), { list: [`x ${MASK}`, 2, null], n: 1, [MASK]: { deep: MASK } });
  assert.is(redactDeep('secret-value'), MASK);
  assert.is(redactDeep({ when }).when, when, 'not a plain object: kept as is');
});

test('redactingStream: write and end redact text and buffers; the rest is the stream\'s own', async () => {
  const sink = new PassThrough();
  let seen = '';
  sink.on('data', (d) => (seen += d));
  const wrapped = redactingStream(sink);
  const plain = Buffer.from('no secrets here\n');
  wrapped.write(plain);
  assert.ok(registerSecret('secret-value'));
  wrapped.write('line secret-value\n');
  wrapped.write(Buffer.from('buf secret-value\n'));
  wrapped.write(Buffer.from('latin secret-value\n', 'latin1'), 'latin1');
  wrapped.write(plain);
  assert.is(wrapped.readable, sink.readable, 'other properties are the stream\'s');
  assert.is(typeof wrapped.on, 'function');
  await new Promise<void>((resolve) => wrapped.end('end secret-value\n', () => resolve()));
  assert.is(seen, `no secrets here\nline ${MASK}\nbuf ${MASK}\nlatin ${MASK}\nno secrets here\nend ${MASK}\n`);
  const other = new PassThrough();
  let ended = false;
  redactingStream(other).end(() => (ended = true));
  other.resume();
  await new Promise((r) => setImmediate(r));
  assert.ok(ended, 'end(callback) still calls back');
});

test('the chunk passed through: untouched buffers are the same buffer; numbers and nothing registered pass as they are', () => {
  const chunks: unknown[] = [];
  const fake = { write: (c: unknown) => (chunks.push(c), true), end: (c?: unknown) => (chunks.push(c), undefined) } as unknown as NodeJS.WritableStream;
  const wrapped = redactingStream(fake);
  const buffer = Buffer.from('plain secret-value');
  wrapped.write(buffer);
  assert.is(chunks[0], buffer, 'nothing registered: the same buffer');
  assert.ok(registerSecret('secret-value'));
  const clean = Buffer.from('nothing here');
  wrapped.write(clean);
  assert.is(chunks[1], clean, 'nothing to mask: the same buffer');
  wrapped.write(buffer);
  assert.is(chunks[2], `plain ${MASK}`);
  wrapped.end();
  assert.is(chunks[3], undefined);
  const number = 5 as unknown as string;
  wrapped.write(number);
  assert.is(chunks[4], 5, 'neither text nor bytes: passed as it is');
  // Bytes are read in the encoding given with them; a callback in its place means UTF-8.
  (wrapped.write as (c: unknown, e: string) => boolean)(Buffer.from('\u00e9 secret-value', 'latin1'), 'latin1');
  assert.is(chunks[5], `\u00e9 ${MASK}`);
  wrapped.write(Buffer.from('\u00e9 secret-value', 'utf8'), () => undefined);
  assert.is(chunks[6], `\u00e9 ${MASK}`);
  const ending = () => undefined;
  wrapped.end(ending);
  assert.is(chunks[7], ending, 'end(callback): the callback, untouched');
});

test('redactingStream: the stream\'s own methods work detached (bound to the stream)', () => {
  const sink = new PassThrough();
  const { once, emit } = redactingStream(sink);
  let heard = '';
  once('ping', (v: string) => (heard = v));
  emit('ping', 'pong');
  assert.is(heard, 'pong');
});

test('unicodeStringLiteral: N\'..\' with quotes doubled; every kind of line break split out as NCHAR(n)', () => {
  assert.is(unicodeStringLiteral("it's"), "N'it''s'");
  assert.is(unicodeStringLiteral(''), "N''");
  assert.is(unicodeStringLiteral('a\r\nGO\n'), "(N'a' + NCHAR(13) + NCHAR(10) + N'GO' + NCHAR(10))");
  assert.is(unicodeStringLiteral('\u0085x\u2028y\u2029'), "(NCHAR(133) + N'x' + NCHAR(8232) + N'y' + NCHAR(8233))");
  assert.is(unicodeStringLiteral("x'\ny'"), "(N'x''' + NCHAR(10) + N'y''')");
  for (const c of ['\r', '\n', '\u0085', '\u2028', '\u2029']) assert.ok(LINE_BREAK.test(`a${c}b`), JSON.stringify(c));
  assert.not.ok(LINE_BREAK.test('a\tb\u000bc'));
});

test.run();
