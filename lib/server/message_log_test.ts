import assert from "node:assert/strict";
import { Hub } from "./hub.ts";
import {
  ACK_HOLD_MS,
  MAX_BATCH,
  MAX_BATCH_BYTES,
  MessageLog,
  QUEUE_HIGH,
  SLOW_COMMIT_MS,
  SLOW_REPORT_MS,
  slowCommitWarner,
} from "./message_log.ts";
import { ManualClock } from "../common/clock.ts";
import { ManualTimers } from "../common/clock_testing.ts";
import { Logger } from "../common/logger.ts";
import { SqliteStore } from "./store/sqlite_store.ts";
import { onNextTurn, yieldToIo } from "../common/turn.ts";
import { until } from "../common/wait_testing.ts";

/** A 3-byte DM from alice to bob (`bytes` long when given). */
const msg = (i: number | string, bytes = 3) => ({
  mid: `m${i}`,
  sender: "alice",
  kind: "user" as const,
  target: "bob",
  conv: "d:alice:bob",
  ts: 1,
  body: new Uint8Array(bytes),
});

Deno.test("MessageLog: a flood is written in bounded group commits (count and bytes), every message stored", async () => {
  const store = new SqliteStore(":memory:");
  const sizes: number[] = [];
  const append = store.appendMessages.bind(store);
  store.appendMessages = (b) => (sizes.push(b.length), append(b));
  const log = new MessageLog(store, new Hub());
  const all = Array.from({ length: 2 * MAX_BATCH + 5 }, (_, i) => log.append(msg(i), null));
  const rows = await Promise.all(all);
  assert.ok(rows.every((r) => r !== null), "every message stored");
  assert.deepEqual(sizes, [MAX_BATCH, MAX_BATCH, 5]);
  sizes.length = 0;
  const big = Math.floor(MAX_BATCH_BYTES / 3) + 1;
  await Promise.all([0, 1, 2, 3].map((i) => log.append(msg(10_000 + i, big), null)));
  assert.deepEqual(sizes, [2, 2], "no transaction past the byte bound");
  await store.close();
});

Deno.test("MessageLog: acks queued with messages share their commit (no transaction of their own)", async () => {
  const store = new SqliteStore(":memory:");
  const calls: { msgs: number; acks: number }[] = [];
  const append = store.appendMessages.bind(store);
  store.appendMessages = (b, a = []) => (calls.push({ msgs: b.length, acks: a.length }), append(b, a));
  let ackManyCalls = 0;
  const ackMany = store.ackMany.bind(store);
  store.ackMany = (u, a) => (ackManyCalls++, ackMany(u, a));
  await store.createUser({ name: "alice", hash: "x", role: "user", createdAt: 0 });
  await store.createUser({ name: "bob", hash: "x", role: "user", createdAt: 0 });
  const log = new MessageLog(store, new Hub());
  const first = await Promise.all([1, 2, 3].map((i) => log.append(msg(i), null)));
  calls.length = 0;
  // Bob acks the first two while alice sends three more, in the same turn.
  const sends = [4, 5, 6].map((i) => log.append(msg(i), null));
  const ack = log.ack({ user: "bob", acks: [{ conv: "d:alice:bob", seq: first[1]!.seq }] });
  await Promise.all([...sends, ack]);
  assert.deepEqual(calls, [{ msgs: 3, acks: 1 }], "one commit for the messages and the ack");
  assert.equal(ackManyCalls, 0);
  const left = await store.pending("bob", 0, 100);
  assert.deepEqual(left.map((m) => m.mid), ["m3", "m4", "m5", "m6"], "the ack moved bob's cursor");
  // Acks alone still commit (without a message batch).
  calls.length = 0;
  await log.ack({ user: "bob", acks: [{ conv: "d:alice:bob", seq: first[2]!.seq }] });
  assert.deepEqual(calls, [{ msgs: 0, acks: 1 }]);
  assert.deepEqual((await store.pending("bob", 0, 100)).map((m) => m.mid), ["m4", "m5", "m6"]);
  await log.close();
  await store.close();
});

Deno.test("MessageLog: an ack with no message queued waits for the next one and shares its commit (one fsync, not two)", async () => {
  const store = new SqliteStore(":memory:");
  const calls: { msgs: number; acks: number }[] = [];
  const append = store.appendMessages.bind(store);
  store.appendMessages = (b, a = []) => (calls.push({ msgs: b.length, acks: a.length }), append(b, a));
  await store.createUser({ name: "alice", hash: "x", role: "user", createdAt: 0 });
  await store.createUser({ name: "bob", hash: "x", role: "user", createdAt: 0 });
  const timers = new ManualTimers(); // the hold ends only when the test says so
  const log = new MessageLog(store, new Hub(), timers);
  const first = await log.append(msg("h0"), null);
  calls.length = 0;
  const acked = log.ack({ user: "bob", acks: [{ conv: "d:alice:bob", seq: first!.seq }] });
  // The fence: a commit the ack asked for would start on the log's next turn (turn.ts), now passed.
  await new Promise<void>((r) => onNextTurn(r));
  await yieldToIo();
  assert.deepEqual(calls, [], "the ack waits for a message"); // a message comes while the ack waits
  let timerFired = false;
  const t = setTimeout(() => (timerFired = true), 0);
  await Promise.all([log.append(msg("h1"), null), acked]);
  clearTimeout(t);
  assert.deepEqual(calls, [{ msgs: 1, acks: 1 }], "one commit for the message and the ack before it");
  assert.equal(timerFired, false, "the held ack did not make the message wait for a 0 ms timer");
  // No message comes: the ack is written alone once the hold is over.
  calls.length = 0;
  const alone = log.ack({ user: "bob", acks: [{ conv: "d:alice:bob", seq: first!.seq }] });
  assert.deepEqual(timers.asked.at(-1), ACK_HOLD_MS);
  timers.advance(ACK_HOLD_MS);
  await alone;
  assert.deepEqual(calls, [{ msgs: 0, acks: 1 }]);
  await log.close();
  await store.close();
});

Deno.test("MessageLog: a message is committed on the next event-loop turn, not after a timer (setTimeout 0 waits ~2 ms)", async () => {
  const store = new SqliteStore(":memory:");
  const log = new MessageLog(store, new Hub());
  // A turn that takes over a millisecond (the collector, a compile) lets the timer in first now and
  // then; a commit behind a timer would be behind it every time.
  let late = 0;
  for (let i = 0; i < 20; i++) {
    let timerFired = false;
    const t = setTimeout(() => (timerFired = true), 0); // scheduled before the append
    const row = await log.append(msg(`t${i}`), null);
    assert.ok(row, "stored");
    if (timerFired) late++;
    clearTimeout(t);
  }
  assert.ok(late <= 3, `${late} of 20 commits waited for a 0 ms timer scheduled before them`);
  await log.close();
  await store.close();
});

Deno.test("MessageLog: no ok and no delivery before the batch's commit has returned (durable before both)", async () => {
  const store = new SqliteStore(":memory:");
  let open!: () => void;
  const gate = new Promise<void>((r) => open = r);
  let committed = false, entered = false;
  const append = store.appendMessages.bind(store);
  store.appendMessages = async (b, a) => {
    entered = true;
    await gate;
    const rows = await append(b, a);
    committed = true;
    return rows;
  };
  const hub = new Hub();
  const fanned: number[] = [];
  hub.fanOut = (m) => (fanned.push(m.seq), 0);
  const log = new MessageLog(store, hub);
  const acked: boolean[] = [];
  const all = [1, 2, 3].map((i) => log.append(msg(`g${i}`), null).then(() => acked.push(committed)));
  await until(() => entered, "the commit under way"); // the fence: it waits at the gate now
  assert.deepEqual(acked, [], "no ok while the commit waits");
  assert.deepEqual(fanned, [], "no delivery while the commit waits");
  open();
  await Promise.all(all);
  assert.deepEqual(acked, [true, true, true], "each ok came after the commit");
  assert.equal(fanned.length, 3);
  await log.close();
  await store.close();
});

Deno.test("MessageLog: enqueue tells each sender once, after the commit, in queue order, each after its delivery", async () => {
  const store = new SqliteStore(":memory:");
  let committed = 0;
  const append = store.appendMessages.bind(store);
  store.appendMessages = (b, a) => append(b, a).then((rows) => (committed++, rows));
  const hub = new Hub();
  const told: string[] = [];
  hub.fanOut = (m) => (told.push(`deliver ${m.mid.slice(1)}`), 1);
  const log = new MessageLog(store, hub);
  let done!: () => void;
  const all = new Promise<void>((r) => done = r);
  for (const i of [1, 2, 3, 1]) { // the second m1 is a resend
    log.enqueue({
      m: msg(`e${i}`),
      from: null,
      stored: (r) => {
        told.push(`${r ? "ok" : "dup"} e${i} after ${committed} commit`);
        if (told.length === 7) done();
      },
      failed: (e) => assert.fail(String(e)),
    });
  }
  assert.deepEqual(told, [], "nothing told before the commit");
  await all;
  assert.deepEqual(told, [
    "deliver e1",
    "ok e1 after 1 commit",
    "deliver e2",
    "ok e2 after 1 commit",
    "deliver e3",
    "ok e3 after 1 commit",
    "dup e1 after 1 commit",
  ]);
  await log.close();
  const late: string[] = [];
  log.enqueue({
    m: msg("late"),
    from: null,
    stored: () => late.push("stored"),
    failed: () => late.push("failed"),
  });
  assert.deepEqual(late, ["failed"], "a closed log refuses at once");
  await store.close();
});

Deno.test("MessageLog: a store that throws at once fails its batch, and the next batch is still written", async () => {
  const store = new SqliteStore(":memory:");
  const append = store.appendMessages.bind(store);
  let fail = true;
  store.appendMessages = (b, a) => {
    if (fail) throw new Error("disk full"); // synchronously, as node:sqlite throws
    return append(b, a);
  };
  const log = new MessageLog(store, new Hub());
  await assert.rejects(log.append(msg("x1"), null), /disk full/);
  fail = false;
  const row = await Promise.race([
    log.append(msg("x2"), null),
    new Promise((r) => setTimeout(() => r("stuck"), 1000)),
  ]);
  assert.equal((row as { mid?: string } | null)?.mid, "mx2", "the log went on writing");
  await log.close();
  await store.close();
});

Deno.test("MessageLog: a commit of SLOW_COMMIT_MS or more is told, with its messages and acks; a quick one is not", async () => {
  const store = new SqliteStore(":memory:");
  let t = 0, takes = 0;
  const append = store.appendMessages.bind(store);
  store.appendMessages = (b, a) => (t += takes, append(b, a));
  const log = new MessageLog(store, new Hub());
  log.now = () => t;
  const told: number[][] = [];
  log.onSlowCommit = (ms, messages, acks) => told.push([ms, messages, acks]);
  takes = SLOW_COMMIT_MS - 1;
  await log.append(msg(1), null);
  assert.deepEqual(told, []);
  takes = SLOW_COMMIT_MS;
  await Promise.all([log.append(msg(2), null), log.append(msg(3), null)]);
  assert.deepEqual(told, [[SLOW_COMMIT_MS, 2, 0]]);
  await log.close();
  await store.close();
});

Deno.test("slowCommitWarner: warns at the first slow commit, then at most once per SLOW_REPORT_MS with the count and the longest", () => {
  const clock = new ManualClock(0), lines: string[] = [];
  const warn = slowCommitWarner(new Logger([(l) => lines.push(l)], clock), clock);
  warn(150.4, 3, 1);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /WARN store\.slow_commit ms=150 commits=1 messages=3 acks=1 /);
  clock.advance(1000);
  warn(451, 1, 0);
  clock.advance(1000);
  warn(120, 2, 0);
  assert.equal(lines.length, 1, "held back within SLOW_REPORT_MS");
  clock.advance(SLOW_REPORT_MS - 2000);
  warn(101, 1, 0);
  assert.equal(lines.length, 2);
  assert.match(
    lines[1]!,
    /store\.slow_commit ms=451 commits=3 messages=1 acks=0 /,
    "the three since the last warning",
  );
  clock.advance(SLOW_REPORT_MS - 1);
  warn(200, 1, 0);
  assert.equal(lines.length, 2);
});

Deno.test("MessageLog: readers wait with what they read while two batches are queued, then go on one at a time, first come first", async () => {
  const store = new SqliteStore(":memory:");
  const log = new MessageLog(store, new Hub());
  assert.equal(log.room(), null, "an empty queue: go on");
  const all = Array.from({ length: QUEUE_HIGH }, (_, i) => log.append(msg(i), null));
  const order: string[] = [];
  const a = log.room(), b = log.room();
  assert.ok(a instanceof Promise && b instanceof Promise, "two batches queued: wait");
  void a.then(() => order.push("a"));
  void b.then(() => order.push("b"));
  assert.deepEqual(order, []);
  await a; // the first commit took a batch
  for (let i = 0; i < 5; i++) await Promise.resolve();
  assert.deepEqual(order, ["a"], "b waits until a has handled its bytes");
  assert.notEqual(log.room(), null, "a newcomer queues behind b");
  log.readerDone();
  await b;
  assert.deepEqual(order, ["a", "b"]);
  await Promise.all(all);
  await log.close();
  await store.close();
});

Deno.test("MessageLog: closing lets every waiting reader go on", async () => {
  const store = new SqliteStore(":memory:");
  const log = new MessageLog(store, new Hub());
  const all = Array.from({ length: QUEUE_HIGH }, (_, i) => log.append(msg(i), null));
  const waits = [log.room(), log.room(), log.room()];
  assert.ok(waits.every((w) => w instanceof Promise));
  await log.close();
  await Promise.all(waits);
  assert.equal(log.room(), null, "a closed log holds no reader");
  assert.equal(
    (await Promise.all(all)).filter((r) => r).length,
    QUEUE_HIGH,
    "the queued messages were written",
  );
  await store.close();
});
