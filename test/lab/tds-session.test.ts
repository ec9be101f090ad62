// The logged-in request loop in isolation: serial order, IGNORE, ATTENTION ordering, thrown
// errors. Messages are built by hand as the client would frame them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ReplyItem, Session, SqlRequest } from '../../lab/tds/contract.js';
import { PacketType, Status, type Message } from '../../lab/tds/framing.js';
import { RequestProcessor } from '../../lab/tds/session.js';

function allHeaders(): Buffer {
  const b = Buffer.alloc(22);
  b.writeUInt32LE(22, 0);
  b.writeUInt32LE(18, 4);
  b.writeUInt16LE(2, 8);
  b.writeUInt32LE(1, 18);
  return b;
}

const batch = (text: string, status: number = Status.EndOfMessage): Message => ({
  type: PacketType.SqlBatch,
  status,
  payload: Buffer.concat([allHeaders(), Buffer.from(text, 'utf16le')]),
});
const attention: Message = { type: PacketType.Attention, status: Status.EndOfMessage, payload: Buffer.alloc(0) };
const tm = (op: number): Message => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(op);
  return { type: PacketType.TransactionManager, status: Status.EndOfMessage, payload: Buffer.concat([allHeaders(), b]) };
};

/** DONE-family token id + status of the last token of each reply. */
function lastDone(reply: Buffer): [number, number] {
  const at = reply.length - 13;
  return [reply[at]!, reply.readUInt16LE(at + 1)];
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function harness(execute: Session['execute'], more: Partial<Session> = {}) {
  const replies: Buffer[] = [];
  let dropped = false;
  const session: Session = { execute, close: () => {}, ...more };
  const p = new RequestProcessor(session, { reply: (b) => replies.push(b), drop: () => (dropped = true) }, {
    serverName: 'S',
    database: 'master',
    inTransaction: false,
  });
  return { p, replies, dropped: () => dropped };
}

const tick = () => new Promise((r) => setImmediate(r));

test('requests run one at a time, in arrival order', async () => {
  const started: string[] = [];
  const first = deferred<ReplyItem[]>();
  const h = harness(async (r: SqlRequest) => {
    started.push(r.sql);
    return r.sql === 'one' ? first.promise : [{ kind: 'done' }];
  });
  h.p.onMessage(batch('one'));
  h.p.onMessage(batch('two'));
  await tick();
  assert.equal(started, ['one'], 'two waits for one');
  first.resolve([{ kind: 'done', rowCount: 1 }]);
  await tick();
  await tick();
  assert.equal(started, ['one', 'two']);
  assert.is(h.replies.length, 2);
  assert.is(h.replies[0]!.readBigUInt64LE(h.replies[0]!.length - 8), 1n, 'first reply is one');
});

test('a message ending with IGNORE is not run and gets a plain DONE', async () => {
  let ran = false;
  const h = harness(async () => ((ran = true), []));
  h.p.onMessage(batch('ignored', Status.EndOfMessage | Status.Ignore));
  await tick();
  assert.not.ok(ran);
  assert.equal(h.replies.map(lastDone), [[0xfd, 0]]);
});

test('ATTENTION: the running request is aborted, answered, then acknowledged in its own message', async () => {
  let signal: AbortSignal | undefined;
  const late = deferred<ReplyItem[]>();
  const h = harness(async (_r, s) => ((signal = s), late.promise));
  h.p.onMessage(batch('slow'));
  await tick();
  h.p.onMessage(attention);
  assert.ok(signal!.aborted);
  assert.equal(h.replies.map(lastDone), [[0xfd, 0x00], [0xfd, 0x20]]);
  late.resolve([{ kind: 'done' }]);
  await tick();
  assert.is(h.replies.length, 2, 'the late answer is never sent');
});

test('ATTENTION for a request still waiting behind one that cannot stop: it never runs, the session hears it was cancelled before it began', async () => {
  const ran: string[] = [];
  const cancelled: string[] = [];
  const finish = deferred<ReplyItem[]>();
  const h = harness(
    async (r, _s, running) => {
      ran.push(r.sql);
      if (r.sql !== 'role change') return [];
      running?.uninterruptible();
      return finish.promise;
    },
    { cancelledBeforeItBegan: (r) => cancelled.push(r.sql) },
  );
  h.p.onMessage(batch('role change'));
  await tick();
  h.p.onMessage(attention); // the running request's ATTENTION: acknowledged once it ends
  h.p.onMessage(batch('queued behind it'));
  h.p.onMessage(attention); // this one finds only the queued request
  assert.equal(cancelled, ['queued behind it']);
  finish.resolve([{ kind: 'done' }]);
  await tick();
  await tick();
  assert.equal(ran, ['role change'], 'the queued request never ran');
});

test('ATTENTION with nothing running is only acknowledged', () => {
  const h = harness(async () => []);
  h.p.onMessage(attention);
  assert.equal(h.replies.map(lastDone), [[0xfd, 0x20]]);
});

test('an error thrown by the backend keeps its number, state and severity', async () => {
  const h = harness(async () => {
    throw Object.assign(new Error('Cannot failover: not synchronized.'), { number: 41142, state: 2, severity: 16 });
  });
  h.p.onMessage(batch('x'));
  await tick();
  const reply = h.replies[0]!;
  assert.is(reply[0], 0xaa);
  assert.is(reply.readInt32LE(3), 41142);
  assert.equal([reply[7], reply[8]], [2, 16]);
  assert.equal(lastDone(reply), [0xfd, 0x02]);
});

test('COMMIT without BEGIN is error 3902; BEGIN then COMMIT are answered with ENVCHANGE 8 and 9', async () => {
  const h = harness(async () => []);
  h.p.onMessage(tm(7));
  h.p.onMessage(tm(5));
  h.p.onMessage(tm(7));
  await tick();
  assert.is(h.replies[0]!.readInt32LE(3), 3902);
  assert.equal([h.replies[1]![0], h.replies[1]![3]], [0xe3, 8]);
  assert.equal([h.replies[2]![0], h.replies[2]![3]], [0xe3, 9]);
});

test('an unexpected message type after login drops the connection', async () => {
  const h = harness(async () => []);
  h.p.onMessage({ type: PacketType.Login7, status: Status.EndOfMessage, payload: Buffer.alloc(0) });
  await tick();
  assert.ok(h.dropped());
});

test.run();
