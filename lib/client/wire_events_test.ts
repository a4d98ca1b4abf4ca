import assert from "node:assert/strict";
import { pushEvents } from "./wire_events.ts";

Deno.test("pushEvents() gives one presence event per change of a batched `presences` frame", () => {
  const events = pushEvents({
    t: "presences",
    on: [["bob", "busy", 5], ["carol", "free", 6]],
    off: ["dave"],
  });
  assert.deepEqual(events, [
    {
      type: "presence",
      user: "bob",
      online: true,
      presence: { user: "bob", addr: "", since: 5, status: "busy", role: "user" },
    },
    {
      type: "presence",
      user: "carol",
      online: true,
      presence: { user: "carol", addr: "", since: 6, status: "free", role: "user" },
    },
    { type: "presence", user: "dave", online: false, presence: undefined },
  ]);
  // A single change keeps the plain `presence` frame.
  assert.deepEqual(pushEvents({ t: "presence", user: "erin", online: false }), [
    { type: "presence", user: "erin", online: false, presence: undefined },
  ]);
  assert.deepEqual(pushEvents({ t: "zzz" }), []);
});
