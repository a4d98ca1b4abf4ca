import assert from "node:assert/strict";
import { RequestChain } from "./request_chain.ts";

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

Deno.test("RequestChain: a pause after a request (the slice) holds the next one back until it is over", async () => {
  const log: string[] = [];
  let pauses = 1, resume!: () => void;
  const chain = new RequestChain<string>((m) => void log.push(m), () => {
    if (pauses-- <= 0) return;
    return new Promise<void>((r) => resume = r);
  });
  chain.run("a", EMPTY);
  chain.run("b", EMPTY);
  assert.deepEqual(log, ["a"]);
  resume();
  await chain.tail;
  assert.deepEqual(log, ["a", "b"]);
  assert.equal(chain.tail, null);
});
