/** stop_bound.ts: a stop's steps within one deadline; what it cut short is named and logged. */
import assert from "node:assert/strict";
import { stopWithin } from "./stop_bound.ts";
import { memoryLogger } from "../common/logger.ts";
import { systemClock } from "../common/clock.ts";

Deno.test("stop bound: a step that never ends is cut at the deadline, named with what it waits for; the rest still run", async () => {
  const { logger, lines } = memoryLogger(systemClock);
  const ran: string[] = [];
  const t0 = Date.now();
  const r = await stopWithin(
    [
      { name: "leave", run: () => new Promise(() => {}), capMs: 30 },
      { name: "shutdown", run: () => new Promise(() => {}), waiting: () => "store close" },
      { name: "last", run: () => Promise.resolve(void ran.push("last")) },
      { name: "fails", run: () => Promise.reject(new Error("boom")) },
    ],
    150,
    { log: logger, now: () => Date.now() },
  );
  assert.ok(Date.now() - t0 < 1000, "within the bound");
  assert.equal(r.done, false);
  assert.deepEqual(r.pending, ["leave", "shutdown (store close)"]);
  assert.deepEqual(ran, ["last"]);
  assert.ok(
    lines.some((l) => /shutdown\.pending pending="leave, shutdown \(store close\)"/.test(l)),
    lines.join("\n"),
  );
  assert.ok(lines.some((l) => /shutdown\.step step=fails error="Error: boom"/.test(l)));
});

Deno.test("stop bound: steps that end in time: done, nothing pending", async () => {
  const { logger } = memoryLogger(systemClock);
  const r = await stopWithin([{ name: "a", run: () => Promise.resolve() }], 1000, {
    log: logger,
    now: () => Date.now(),
  });
  assert.deepEqual(r, { done: true, pending: [] });
});
