import assert from "node:assert/strict";
import { RequestChain, Slice } from "./request_chain.ts";
import { until } from "../common/wait_testing.ts";

const EMPTY = new Uint8Array(0);

Deno.test("RequestChain: with none running a request runs at once, no promise; one that waits holds the next back", async () => {
  const log: string[] = [];
  let release!: () => void;
  const chain = new RequestChain<string>((m) => {
    log.push(`start ${m}`);
    if (m !== "wait") return;
    return new Promise<void>((r) => release = r).then(() => void log.push("end wait"));
  }, () => {});
  chain.run("a", EMPTY);
  assert.deepEqual(log, ["start a"], "ran before run() returned");
  assert.equal(chain.tail, null, "nothing left waiting");
  chain.run("wait", EMPTY);
  chain.run("b", EMPTY);
  chain.run("c", EMPTY);
  await Promise.resolve();
  assert.deepEqual(log, ["start a", "start wait"], "b and c wait for the one before them");
  release();
  await chain.tail;
  assert.deepEqual(log, ["start a", "start wait", "end wait", "start b", "start c"], "in order");
  assert.equal(chain.tail, null, "all done: the next runs at once again");
  chain.run("d", EMPTY);
  assert.deepEqual(log.at(-1), "start d");
});

Deno.test("RequestChain: a pause after a request that ran at once is the caller's to wait for (nothing is chained onto it)", async () => {
  const log: string[] = [];
  let pauses = 1, resume!: () => void;
  const chain = new RequestChain<string>((m) => void log.push(m), () => {
    if (pauses-- <= 0) return;
    return new Promise<void>((r) => resume = r);
  });
  const wait = chain.run("a", EMPTY);
  assert.ok(wait instanceof Promise, "the slice is over: run answers the wait");
  assert.equal(chain.tail, null, "no request waits on a chain");
  assert.deepEqual(log, ["a"]);
  resume();
  await wait;
  assert.equal(chain.run("b", EMPTY), undefined);
  assert.deepEqual(log, ["a", "b"]);
});

Deno.test("RequestChain: a pause after a request that waited holds the next one back on the chain", async () => {
  const log: string[] = [];
  let release!: () => void, resume!: () => void, paused = false;
  const chain = new RequestChain<string>((m) => {
    log.push(m);
    if (m === "wait") return new Promise<void>((r) => release = r);
  }, () => {
    if (paused || log.at(-1) !== "wait") return;
    paused = true;
    return new Promise<void>((r) => resume = r);
  });
  assert.equal(chain.run("wait", EMPTY), undefined, "a request that waits answers no pause");
  assert.equal(chain.run("b", EMPTY), undefined);
  release();
  for (let i = 0; i < 5; i++) await Promise.resolve();
  assert.ok(paused, "the pause came after the request that waited");
  assert.deepEqual(log, ["wait"], "b waits for that pause");
  resume();
  await chain.tail;
  assert.deepEqual(log, ["wait", "b"]);
  assert.equal(chain.tail, null);
});

Deno.test("Slice: a run of requests yields once it lasted its time, reading the clock at its start and every `every` requests", async () => {
  let t = 1000, reads = 0, yields = 0;
  const now = () => (reads++, t);
  const slice = new Slice(4, 4, now, () => (yields++, Promise.resolve()));
  assert.equal(slice.pause(), undefined, "the first request starts the slice");
  assert.equal(reads, 1);
  t += 3;
  for (let i = 0; i < 8; i++) assert.equal(slice.pause(), undefined, `request ${i}: 3 ms < 4`);
  assert.equal(reads, 3, "the clock read after the 4th and the 8th request only");
  t += 2; // 5 ms since the start
  for (let i = 0; i < 3; i++) assert.equal(slice.pause(), undefined, "not read yet");
  const wait = slice.pause();
  assert.ok(wait instanceof Promise, "the 4th request after the last read: 5 ms ≥ 4, a wait");
  assert.equal(yields, 1);
  await wait;
  // A new slice starts where the wait ended.
  t += 3;
  for (let i = 0; i < 4; i++) assert.equal(slice.pause(), undefined);
  t += 2;
  for (let i = 0; i < 3; i++) slice.pause();
  assert.ok(slice.pause() instanceof Promise, "5 ms after the wait ended");
  await Promise.resolve();
  // A read in a fresh turn restarts it: the time before it does not count.
  slice.restart();
  t += 100;
  assert.equal(slice.pause(), undefined, "the first request after a read starts a new slice");
  for (let i = 0; i < 4; i++) assert.equal(slice.pause(), undefined);
  assert.equal(yields, 2);
});

Deno.test("RequestChain: queued requests run in order through a second one that waits, then the chain is empty", async () => {
  const log: string[] = [];
  const release: (() => void)[] = [];
  let pauses = 0;
  const chain = new RequestChain<string>((m) => {
    log.push(m);
    if (m.startsWith("wait")) return new Promise<void>((r) => release.push(r));
  }, () => void pauses++);
  for (const m of ["wait1", "a", "wait2", "b"]) chain.run(m, EMPTY);
  const tail = chain.tail;
  assert.ok(tail, "a request waits");
  release[0]!();
  await until(() => log.length >= 3, "wait2 started"); // b, queued after it, would follow at once
  assert.deepEqual(log, ["wait1", "a", "wait2"], "b waits for wait2");
  assert.equal(chain.tail, tail, "one drain for the whole queue");
  release[1]!();
  await tail;
  assert.deepEqual(log, ["wait1", "a", "wait2", "b"]);
  assert.equal(pauses, 4, "a pause after every request");
  assert.equal(chain.tail, null);
});

Deno.test("RequestChain: a request that rejects (a bug) drops the queue and rejects the tail; the next runs at once", async () => {
  const log: string[] = [];
  const chain = new RequestChain<string>((m) => {
    log.push(m);
    if (m === "bad") return Promise.reject(new Error("bug"));
  }, () => {});
  chain.run("bad", EMPTY);
  chain.run("dropped", EMPTY);
  await assert.rejects(chain.tail!, /bug/);
  assert.equal(chain.tail, null);
  chain.run("next", EMPTY);
  assert.deepEqual(log, ["bad", "next"]);
});
