import assert from "node:assert/strict";
import { until } from "./wait_testing.ts";

Deno.test("until: resolves with the first truthy answer, looking again while there is none", async () => {
  let looks = 0;
  const got = await until(() => ++looks >= 3 && `after ${looks}`, "the third look", 1000, 1);
  assert.equal(got, "after 3");
  assert.equal(looks, 3);
});

Deno.test("until: awaits an answer that is a promise", async () => {
  let n = 0;
  assert.equal(await until(() => Promise.resolve(++n > 1 ? n : 0), "a second answer", 1000, 1), 2);
});

Deno.test("until: fails naming what it waited for when nothing truthy came in time", async () => {
  let looks = 0;
  await assert.rejects(
    until(() => (looks++, false), "the door to open", 30, 1),
    /timed out after 30 ms waiting for the door to open/,
  );
  assert.ok(looks > 1, "it looked more than once");
});

Deno.test("until: an error the look throws ends the wait at once", async () => {
  let looks = 0;
  await assert.rejects(
    until(
      () => {
        looks++;
        throw new Error("broken look");
      },
      "never",
      10_000,
    ),
    /broken look/,
  );
  assert.equal(looks, 1);
});

Deno.test("until: a `what` given as a function says the state at the time out", async () => {
  let state = "closed";
  await assert.rejects(
    until(
      () => {
        state = "still closed";
        return false;
      },
      () => `the door (${state})`,
      10,
      1,
    ),
    /waiting for the door \(still closed\)/,
  );
});
