import assert from "node:assert/strict";
import { kickedEntries, pushEvents } from "./wire_events.ts";
import { BackendError } from "../backend.ts";

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

Deno.test("pushEvents() reads the short form of `presences`: a name alone is online, free, since `at`", () => {
  const on = (user: string, since: number, status = "free") => ({
    type: "presence",
    user,
    online: true,
    presence: { user, addr: "", since, status, role: "user" },
  });
  assert.deepEqual(
    pushEvents({ t: "presences", at: 900, on: ["bob", ["dave", "busy", 200], "carol"], off: ["erin"] }),
    [on("bob", 900), on("dave", 200, "busy"), on("carol", 900), {
      type: "presence",
      user: "erin",
      online: false,
      presence: undefined,
    }],
  );
  // No `at` (a malformed frame): still the user, since unknown (0).
  assert.deepEqual(pushEvents({ t: "presences", on: ["bob"], off: [] }), [on("bob", 0)]);
});

Deno.test("pushEvents() and kickedEntries(): objects where strings belong give no event or a BackendError, never a TypeError", () => {
  // JSON can carry an object whose "toString" is not a function: String() on it throws.
  const evil = { toString: "" };
  assert.deepEqual(
    pushEvents({ t: "presences", on: [[evil, "busy", 1], ["bob", evil, evil]], off: [evil, 3] }),
    [
      {
        type: "presence",
        user: "bob",
        online: true,
        presence: { user: "bob", addr: "", since: 0, status: "free", role: "user" },
      },
    ],
  );
  assert.deepEqual(pushEvents({ t: "presence", user: evil, online: true }), []);
  assert.deepEqual(pushEvents({ t: "room", room: evil, members: ["a"] }), []);
  assert.deepEqual(pushEvents({ t: "room", room: "r", by: evil }), [
    { type: "room", room: { name: "r", members: [], admins: [] }, change: undefined },
  ]);
  assert.deepEqual(pushEvents({ t: "notice", text: evil }), []);
  const bye = pushEvents({ t: "bye", reason: evil, until: evil });
  assert.equal(bye.length, 1);
  assert.equal(bye[0]!.type === "notice" && typeof bye[0]!.text, "string");
  for (const raw of [[evil], [{ user: evil, by: "root", at: 1 }], [{ user: "bob", by: "root", at: "1" }]]) {
    assert.throws(() => kickedEntries(raw), (e) => e instanceof BackendError && e.code === "bad_reply");
  }
  assert.deepEqual(kickedEntries([{ user: "bob", by: "root", at: 1, bannedUntil: evil, reason: evil }]), [
    { user: "bob", by: "root", at: 1 },
  ]);
});

Deno.test("pushEvents(): a room change says who made it and whom it is about", () => {
  const h = {
    t: "room",
    room: "team",
    members: ["alice", "bob", "dave"],
    admins: ["alice"],
    change: "joined",
  };
  assert.deepEqual(pushEvents({ ...h, by: "alice", user: "dave" }), [{
    type: "room",
    room: { name: "team", members: ["alice", "bob", "dave"], admins: ["alice"] },
    change: "joined",
    by: "alice",
    user: "dave",
  }]);
  assert.deepEqual(pushEvents({ ...h, change: "updated", by: "alice" })[0], {
    type: "room",
    room: { name: "team", members: ["alice", "bob", "dave"], admins: ["alice"] },
    change: "updated",
    by: "alice",
  });
});
