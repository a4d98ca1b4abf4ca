/**
 * lib/common/logger.ts (issue 68 item 3): the stderr sink (`writerSink`, the server's stderr through
 * an injected `writeSync`) never throws when its writes fail — ENOSPC (stderr a file on a full
 * disk), EIO, a closed descriptor —; it counts the lines it drops and says so once writes work again.
 */
import assert from "node:assert/strict";
import { ManualClock } from "./clock.ts";
import { guardedSink, Logger, writerSink } from "./logger.ts";

/** A fake stderr: takes at most `chunk` bytes a write, or throws `fail` while it is set. */
function fakeStderr(chunk = 1 << 20) {
  const out: string[] = [];
  const s = { fail: null as Error | null, writes: 0 };
  const dec = new TextDecoder();
  const writeSync = (b: Uint8Array) => {
    s.writes++;
    if (s.fail) throw s.fail;
    const n = Math.min(chunk, b.length);
    out.push(dec.decode(b.subarray(0, n)));
    return n;
  };
  return { writeSync, s, text: () => out.join("") };
}

Deno.test("stderr sink: ENOSPC never throws; after recovery one line says how many were dropped and since when", () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 28, 12));
  const err = fakeStderr(7); // partial writes: each line still whole
  const sink = writerSink(err.writeSync, clock);
  const log = new Logger([sink], clock);
  log.info("before");
  err.s.fail = Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
  log.info("lost.one");
  clock.advance(5000);
  log.warn("lost.two");
  assert.equal(sink.dropping(), 2);
  err.s.fail = null;
  clock.advance(5000);
  log.info("after", { n: 1 });
  assert.deepEqual(err.text().split("\n"), [
    "2026-11-28T12:00:00.000Z INFO before",
    '2026-11-28T12:00:10.000Z WARN log.dropped lines=2 since=2026-11-28T12:00:00.000Z error="No space left on device (os error 28)" note="dropped 2 line(s) that could not be written"',
    "2026-11-28T12:00:10.000Z INFO after n=1",
    "",
  ]);
  assert.equal(sink.dropping(), 0);
});

Deno.test("stderr sink: a closed descriptor or EIO is a dropped line too, and a failed note keeps counting", () => {
  const clock = new ManualClock();
  const err = fakeStderr();
  const sink = writerSink(err.writeSync, clock);
  err.s.fail = new Deno.errors.BadResource("Bad resource ID");
  sink("one");
  err.s.fail = Object.assign(new Error("Input/output error (os error 5)"), { code: "EIO" });
  sink("two");
  sink("three"); // the note is tried first, fails: three lines dropped by now
  assert.equal(sink.dropping(), 3);
  err.s.fail = null;
  sink("four");
  const lines = err.text().split("\n");
  assert.match(lines[0]!, /WARN log\.dropped lines=3 since=\S+ error="Bad resource ID"/);
  assert.equal(lines[1], "four");
});

Deno.test("logger: a sink that fails does not keep the lines from the others", () => {
  const clock = new ManualClock();
  const kept: string[] = [];
  const failing = guardedSink(() => {
    throw new Error("ENOSPC");
  }, clock);
  const log = new Logger([failing, (l) => kept.push(l)], clock);
  log.info("a");
  log.info("b");
  assert.equal(kept.length, 2);
  assert.equal(failing.dropping(), 2);
});
