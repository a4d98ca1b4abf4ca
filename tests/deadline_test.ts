import assert from "node:assert/strict";
import { test, withDeadline } from "./deadline.ts";

Deno.test("withDeadline: a hung function fails by its name; a quick one gives its value", async () => {
  await assert.rejects(
    withDeadline(50, "spawns a server that never answers", () => new Promise(() => {})),
    /Test "spawns a server that never answers" did not finish within 0.05 s/,
  );
  assert.equal(await withDeadline(5000, "quick", () => 42), 42);
  await assert.rejects(
    withDeadline(5000, "throws", () => Promise.reject(new Error("its own error"))),
    /its own error/,
  );
});

test("test(): runs the function under a deadline and passes the context", (t) => {
  assert.equal(t.name, "test(): runs the function under a deadline and passes the context");
});

test({
  name: "test({ deadlineMs }): the option form",
  deadlineMs: 1000,
  fn: async () => await new Promise((r) => setTimeout(r, 10)),
});
