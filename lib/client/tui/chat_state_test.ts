import assert from "node:assert/strict";
import { ChatState } from "./chat_state.ts";
import { applyEvent } from "./chat_events.ts";

const now = () => Date.UTC(2026, 0, 1, 12, 0);
const msg = (
  from: string,
  to: { kind: "user" | "room" | "broadcast"; name?: string },
  text: string,
  mid = text,
) => ({
  seq: 1,
  mid,
  ts: now(),
  from,
  to,
  text,
});

Deno.test("ChatState.addMessage() routes rooms, DMs both ways and broadcasts", () => {
  const s = new ChatState("alice", now);
  s.addMessage(msg("bob", { kind: "room", name: "general" }, "r"), true);
  s.addMessage(msg("bob", { kind: "user", name: "alice" }, "in"), true);
  s.addMessage(msg("alice", { kind: "user", name: "bob" }, "out"), true);
  s.addMessage(msg("root", { kind: "broadcast" }, "all"), true);
  assert.deepEqual(s.buffers.buffers.map((b) => b.key), ["status", "#general", "@bob"]);
  assert.deepEqual(s.buffers.find("dm", "bob")!.lines.map((l) => l.text), ["in", "out"]);
  assert.equal(s.buffers.status.lines.at(-1)!.kind, "broadcast");
});

Deno.test("ChatState.addMessage() notifies for DMs and word mentions only, live and not own", () => {
  const s = new ChatState("al", now);
  const room = { kind: "room" as const, name: "g" };
  assert.equal(s.addMessage(msg("bob", room, "totally unrelated: also, alpha"), true), null);
  assert.deepEqual(s.addMessage(msg("bob", room, "hey AL, look"), true), {
    title: "bob in #g",
    body: "hey AL, look",
  });
  assert.equal(s.addMessage(msg("al", { kind: "user", name: "bob" }, "mine"), true), null);
  assert.equal(
    s.addMessage({ ...msg("bob", { kind: "user", name: "al" }, "queued"), replay: true }, true),
    null,
  );
  assert.notEqual(s.addMessage(msg("bob", { kind: "user", name: "al" }, "live"), true), null);
  assert.equal(s.addMessage(msg("bob", { kind: "user", name: "al" }, "live"), true), null); // same mid
});

Deno.test("applyEvent() closes a room the user left and tracks presence", () => {
  const s = new ChatState("alice", now);
  applyEvent(s, {
    type: "room",
    change: "joined",
    room: { name: "g", members: ["alice", "bob"], admins: [] },
  });
  assert.ok(s.isUser("bob"));
  applyEvent(s, {
    type: "room",
    change: "left",
    room: { name: "g", members: ["bob"], admins: [] },
    by: "bob",
  });
  assert.equal(s.buffers.find("room", "g"), undefined);
  assert.match(s.buffers.status.lines.at(-1)!.text, /You left #g \(removed by bob\)/);
  applyEvent(s, {
    type: "presence",
    user: "carol",
    online: true,
    presence: { user: "carol", addr: "a:1", since: 0, status: "busy", role: "user" },
  });
  assert.deepEqual(s.members().map((m) => [m.name, m.status]), [["carol", "busy"]]);
  s.buffers.focus(s.buffers.ensure("dm", "dave"));
  assert.deepEqual(s.members().map((m) => m.name), ["alice", "dave"]);
  s.buffers.focus(s.buffers.ensure("dm", "alice")); // notes to self: one name
  assert.deepEqual(s.members().map((m) => m.name), ["alice"]);
  s.buffers.focus(s.buffers.status);
  applyEvent(s, { type: "presence", user: "carol", online: false });
  assert.equal(s.isUser("carol"), false);
});

Deno.test("ChatState.extras() lists typers of the current buffer and transfers until they expire", () => {
  let t = now();
  const s = new ChatState("alice", () => t);
  applyEvent(s, { type: "typing", from: "bob", to: { kind: "user", name: "alice" }, active: true });
  s.buffers.focus(s.buffers.find("dm", "bob")!);
  applyEvent(s, {
    type: "transfer",
    id: "1",
    name: "a.txt",
    peer: "bob",
    direction: "up",
    done: 10,
    total: 10,
    state: "done",
  });
  assert.deepEqual(s.extras(), ["bob is typing…", "↑ a.txt done"]);
  t += 10_000;
  assert.deepEqual(s.extras(), []);
});

Deno.test("ChatState: a typing indicator shows up to 6 s after the last event and ends with its sender's message", () => {
  let t = now();
  const s = new ChatState("alice", () => t);
  const toMe = { kind: "user" as const, name: "alice" };
  applyEvent(s, { type: "typing", from: "bob", to: toMe, active: true });
  s.buffers.focus(s.buffers.find("dm", "bob")!);
  t += 5_999;
  assert.deepEqual(s.extras(), ["bob is typing…"]);
  t += 2;
  assert.deepEqual(s.extras(), [], "cleared after 6 s without news");
  applyEvent(s, { type: "typing", from: "bob", to: toMe, active: true });
  assert.deepEqual(s.extras(), ["bob is typing…"]);
  s.addMessage({ ...msg("bob", toMe, "there"), seq: 7 }, true);
  assert.deepEqual(s.extras(), [], "the message ends it at once");
});

Deno.test("ChatState.extras(): an active transfer shows a bar, bytes, the rate since it was first seen and ETA", () => {
  let t = now();
  const s = new ChatState("alice", () => t);
  const at = (done: number) =>
    applyEvent(s, {
      type: "transfer",
      id: "f",
      name: "big.iso",
      peer: "bob",
      direction: "down",
      done,
      total: 100 * 1024 * 1024,
      state: "active",
    });
  at(0);
  assert.deepEqual(s.extras(), ["↓ big.iso [----------] 0 B/100.0 MiB -- /s ETA ?"]);
  t += 2000;
  at(20 * 1024 * 1024);
  assert.deepEqual(s.extras(), ["↓ big.iso [##--------] 20.0 MiB/100.0 MiB 10.0 MiB/s ETA 0:08"]);
});

Deno.test("ChatState presence: lines only in an open conversation with that person; online then offline merge", () => {
  let t = now();
  const s = new ChatState("alice", () => t);
  const p = (user: string, online: boolean) =>
    applyEvent(s, {
      type: "presence",
      user,
      online,
      ...(online
        ? { presence: { user, addr: "", since: t, status: "free" as const, role: "user" as const } }
        : {}),
    });
  p("carol", true);
  p("carol", false);
  assert.equal(s.buffers.status.lines.length, 0, "no noise in the status buffer");
  assert.equal(s.presence.has("carol"), false, "the member list still follows");
  s.addMessage(msg("bob", { kind: "user", name: "alice" }, "hi"), true);
  const bob = s.buffers.find("dm", "bob")!;
  p("bob", true);
  t += 2000;
  p("bob", false); // a one-shot scripted session
  assert.deepEqual(bob.lines.map((l) => l.text), ["hi", "bob joined and left"]);
  t += 120_000;
  p("bob", true);
  assert.equal(bob.lines.at(-1)!.text, "bob is online");
  t += 120_000;
  p("bob", false);
  assert.equal(bob.lines.at(-1)!.text, "bob is offline", "far apart: two lines");
});

Deno.test("ChatState: a transfer has one line in the conversation with its peer, rewritten in place until it ends", () => {
  let t = now();
  const s = new ChatState("alice", () => t);
  const ev = (done: number, state: "active" | "done") =>
    applyEvent(s, {
      type: "transfer",
      id: "f1",
      name: "big.iso",
      peer: "bob",
      direction: "up",
      done,
      total: 4096,
      state,
    });
  ev(0, "active");
  const bob = s.buffers.find("dm", "bob")!;
  const n = bob.lines.length;
  assert.match(bob.lines[n - 1]!.text, /^↑ big\.iso \[-+\] 0 B\/4\.0 KiB/);
  t += 1000;
  ev(2048, "active");
  assert.equal(bob.lines.length, n, "updated, not appended");
  assert.match(bob.lines[n - 1]!.text, /^↑ big\.iso \[#####-----\] 2\.0 KiB\/4\.0 KiB/);
  ev(4096, "done");
  assert.equal(bob.lines[n - 1]!.text, "↑ big.iso done");
  ev(0, "active"); // the same file again later: a new line
  assert.equal(bob.lines.length, n + 1);
});

Deno.test("ChatState: a room's file has its one transfer line in the room, never in a DM named after it", () => {
  const s = new ChatState("alice", now);
  for (const [direction, peer] of [["up", "#general"], ["down", "bob"]] as const) {
    for (const [done, state] of [[0, "active"], [10, "done"]] as const) {
      applyEvent(s, {
        type: "transfer",
        id: `f-${direction}`,
        name: `${direction}.bin`,
        peer,
        room: "general",
        direction,
        done,
        total: 10,
        state,
      });
    }
  }
  const room = s.buffers.find("room", "general")!;
  assert.deepEqual(room.lines.map((l) => l.text), ["↑ up.bin done", "↓ down.bin done"]);
  assert.equal(s.buffers.buffers.filter((b) => b.kind === "dm").length, 0, "no DM buffer opened");
});

Deno.test("ChatState shows a reply's quote, edits, reactions and deletions in place (issue 39)", () => {
  const s = new ChatState("alice", now);
  const dm = { kind: "user" as const, name: "alice" };
  s.addMessage({ ...msg("bob", dm, "lunch at noon?", "mid-lunch-1"), seq: 5 }, true);
  s.addMessage({ ...msg("bob", dm, "or later", "mid-later-1"), seq: 6, replyTo: "mid-lunch-1" }, true);
  const lines = () => s.buffers.find("dm", "bob")!.lines.map((l) => l.text);
  assert.deepEqual(lines(), ["lunch at noon?", "↪ bob: lunch at noon?\nor later"]);
  applyEvent(s, {
    type: "message.changed",
    message: {
      ...msg("bob", dm, "lunch at one?", "mid-lunch-1"),
      seq: 5,
      edited: now(),
      reactions: { "👍": ["alice"] },
    },
  });
  assert.deepEqual(lines()[0], "lunch at one? (edited)\n👍 1 (alice)");
  applyEvent(s, {
    type: "message.changed",
    message: { ...msg("bob", dm, "", "mid-lunch-1"), seq: 5, deleted: true },
  });
  assert.equal(lines()[0], "(message deleted)");
  assert.equal(lines()[1], "↪ bob: (message deleted)\nor later", "the reply's quote follows");
  assert.equal(s.buffers.find("dm", "bob")!.lines[0]!.deleted, true);
  // A change of a message not on screen changes nothing; a forged sender does not match the line.
  applyEvent(s, {
    type: "message.changed",
    message: { ...msg("carol", dm, "x", "mid-later-1"), seq: 6, edited: 1 },
  });
  assert.equal(lines()[1], "↪ bob: (message deleted)\nor later");
});

Deno.test("ChatState: an action is '* NAME TEXT' with its marked text to edit; an edit without the marker makes it text", () => {
  const s = new ChatState("alice", now);
  const dm = { kind: "user" as const, name: "alice" };
  s.addMessage({ ...msg("bob", dm, "/me waves", "mid-wave-01"), seq: 5 }, true);
  const line = () => s.buffers.find("dm", "bob")!.lines[0]!;
  assert.deepEqual([line().text, line().action, line().body], ["bob waves", true, "/me waves"]);
  applyEvent(s, {
    type: "message.changed",
    message: { ...msg("bob", dm, "waves", "mid-wave-01"), seq: 5, edited: now() },
  });
  assert.deepEqual([line().text, line().action], ["waves (edited)", undefined]);
});

Deno.test("ChatState: a reply loaded in one batch with what it answers (history, the start's catch-up) quotes it", () => {
  const s = new ChatState("alice", now);
  const dm = { kind: "user" as const, name: "alice" };
  const first = { ...msg("bob", dm, "lunch at noon?", "mid-lunch-1"), seq: 5, replay: true };
  const reply = { ...msg("alice", { kind: "user" as const, name: "bob" }, "yes", "mid-yes-001"), seq: 6 };
  s.catchUp({ recent: [first, { ...reply, replyTo: "mid-lunch-1" }], unseen: [], pending: [] });
  const later = { ...msg("bob", dm, "see you", "mid-later-1"), seq: 7, replyTo: "mid-yes-001" };
  // A quote names a message of its own conversation only, not one of another in the same batch.
  const elsewhere = {
    ...msg("carol", { kind: "room" as const, name: "dev" }, "in #dev", "mid-dev-0001"),
    seq: 8,
  };
  const fromDev = { ...later, mid: "mid-see-0001", replyTo: "mid-dev-0001" };
  s.catchUp({ recent: [], unseen: [elsewhere, fromDev, later], pending: [] });
  assert.deepEqual(s.buffers.find("dm", "bob")!.lines.map((l) => l.text), [
    "lunch at noon?",
    "↪ bob: lunch at noon?\nyes",
    "↪ an earlier message\nsee you",
    "↪ alice: yes\nsee you",
  ]);
});

Deno.test("applyEvent(): a file offered, or a room one is put in or taken out of, marks its buffer as a highlight", () => {
  const s = new ChatState("alice", now);
  const offer = { fid: "f1", from: "bob", name: "plan.pdf", size: 2048, sha256: "" };
  assert.deepEqual(applyEvent(s, { type: "file.offer", offer }), {
    title: "File from bob",
    body: "plan.pdf",
  });
  const dm = s.buffers.find("dm", "bob")!;
  assert.match(
    dm.lines.at(-1)!.text,
    /^bob offers plan\.pdf \(2\.0 KiB, key not verified\): \/accept or \/reject$/,
  );
  assert.deepEqual([dm.unread, dm.highlights], [1, 1], "looked at elsewhere: the offer is news");
  s.buffers.focus(dm);
  applyEvent(s, { type: "file.offer", offer: { ...offer, fid: "f2" } });
  assert.deepEqual([dm.unread, dm.highlights], [0, 0], "in view: nothing to mark");
  s.buffers.focus(s.buffers.status);
  const room = { name: "g", members: ["alice", "bob"], admins: ["bob"] };
  applyEvent(s, { type: "room", change: "created", room, by: "bob" });
  const g = s.buffers.find("room", "g")!;
  assert.equal(g.lines.at(-1)!.text, "You are in #g: alice, bob (added by bob)");
  assert.deepEqual([g.unread, g.highlights], [1, 1]);
  applyEvent(s, {
    type: "room",
    change: "kicked",
    room: { ...room, members: ["bob"] },
    by: "bob",
    user: "alice",
  });
  assert.equal(s.buffers.find("room", "g"), undefined, "the room's buffer closes");
  assert.equal(s.rooms.has("g"), false);
  assert.equal(s.buffers.status.lines.at(-1)!.text, "You left #g (removed by bob)");
  // Her own doings are no news: a room she makes, one she leaves.
  applyEvent(s, { type: "room", change: "created", room: { ...room, name: "h" }, by: "alice" });
  const h = s.buffers.find("room", "h")!;
  assert.deepEqual([h.lines.at(-1)!.text, h.unread], ["You are in #h: alice, bob", 0]);
  applyEvent(s, {
    type: "room",
    change: "left",
    room: { ...room, name: "h", members: ["bob"] },
    by: "alice",
  });
  assert.equal(s.buffers.status.lines.at(-1)!.text, "You left #h");
});

Deno.test("applyEvent(): a file withdrawn by its sender is said in its conversation (a room's in the room), as news", () => {
  const s = new ChatState("alice", now);
  applyEvent(s, { type: "file.withdrawn", fid: "f1", from: "bob", name: "plan.pdf" });
  applyEvent(s, { type: "file.withdrawn", fid: "f2", from: "bob", name: "deck.pdf", room: "team" });
  const dm = s.buffers.find("dm", "bob")!, team = s.buffers.find("room", "team")!;
  assert.deepEqual(dm.lines.map((l) => l.text), ["bob withdrew plan.pdf: it cannot be taken now"]);
  assert.deepEqual(team.lines.map((l) => l.text), ["bob withdrew deck.pdf in #team: it cannot be taken now"]);
  assert.deepEqual([dm.unread, dm.highlights, team.unread, team.highlights], [1, 1, 1, 1]);
});

Deno.test("applyEvent(): a member added to, removed from or leaving a room one is in is said as such, not 'You are in'", () => {
  const s = new ChatState("bob", now);
  const team = { name: "team", members: ["alice", "bob"], admins: ["alice"] };
  applyEvent(s, { type: "room", change: "created", room: team, by: "alice" });
  const b = s.buffers.find("room", "team")!;
  const plus = { ...team, members: ["alice", "bob", "dave"] };
  const cases: [Parameters<typeof applyEvent>[1], string][] = [
    [
      { type: "room", change: "joined", room: plus, by: "alice", user: "dave" },
      "alice added dave; members: alice, bob, dave",
    ],
    [
      { type: "room", change: "kicked", room: team, by: "alice", user: "dave" },
      "alice removed dave; members: alice, bob",
    ],
    [
      { type: "room", change: "joined", room: plus, by: "bob", user: "dave" },
      "You added dave; members: alice, bob, dave",
    ],
    [
      { type: "room", change: "left", room: team, by: "dave", user: "dave" },
      "dave left; members: alice, bob",
    ],
  ];
  for (const [e, text] of cases) {
    applyEvent(s, e);
    assert.equal(b.lines.at(-1)!.text, text);
  }
  assert.ok(
    b.lines.every((l) => !l.text.startsWith("You are in") || l === b.lines[0]),
    "said once, when bob was put in",
  );
});

Deno.test("applyEvent(): a ban is said once where the user looks and in the status buffer, not as a notice and again", () => {
  const s = new ChatState("bob", now);
  const dm = s.buffers.ensure("dm", "alice");
  s.buffers.focus(dm);
  const why = "You were banned by console until 13:18 (in 1 min): being loud";
  applyEvent(s, { type: "notice", level: "error", text: why }); // the server's goodbye
  applyEvent(s, { type: "disconnected", reason: why, code: "banned" });
  for (const b of [s.buffers.status, dm]) {
    assert.deepEqual(b.lines.map((l) => l.text), [`Disconnected: ${why}`]);
  }
  // A network loss after some other line: said as it is.
  applyEvent(s, { type: "notice", level: "error", text: "Something else" });
  applyEvent(s, { type: "disconnected", reason: "Connection closed", code: "closed" });
  assert.deepEqual(s.buffers.status.lines.map((l) => l.text).slice(-2), [
    "Something else",
    "Disconnected: Connection closed",
  ]);
});

Deno.test("applyEvent(seen): what another device showed counts as read here; what came after it still counts", () => {
  const s = new ChatState("alice", now);
  const dm = { kind: "user" as const, name: "alice" };
  for (const [seq, mid] of [[5, "mid-one-0001"], [6, "mid-two-0001"], [7, "mid-three-01"]] as const) {
    s.addMessage({ ...msg("bob", dm, `m${seq}`, mid), seq }, true);
  }
  const bob = s.buffers.find("dm", "bob")!;
  s.alert(bob, "bob offers x.bin: /accept or /reject"); // no seq: another device's reading says nothing of it
  assert.deepEqual([bob.unread, bob.highlights], [4, 4]);
  applyEvent(s, { type: "seen", target: { kind: "user", name: "bob" }, upTo: 6 });
  assert.deepEqual([bob.unread, bob.highlights], [2, 2]);
  applyEvent(s, { type: "seen", target: { kind: "user", name: "bob" }, upTo: 9 });
  assert.deepEqual([bob.unread, bob.highlights], [1, 1]);
  applyEvent(s, { type: "seen", target: { kind: "room", name: "nowhere" }, upTo: 9 }); // no such buffer: nothing
});

Deno.test("applyEvent() says an away reply in the conversation with its sender, as their line, once while it repeats (another device)", () => {
  let t = Date.UTC(2026, 0, 1, 12, 0);
  const s = new ChatState("alice", () => t);
  const lines = () => s.buffers.find("dm", "bob")?.lines.map((l) => `${l.kind}:${l.from}:${l.text}`) ?? [];
  assert.equal(applyEvent(s, { type: "away", from: "bob", text: "gone \x1b[31mfor lunch" }), null, "no bell");
  assert.deepEqual(
    lines(),
    ["msg:bob:bob (away): gone ^[[31mfor lunch"],
    "its own buffer, escapes neutralised",
  );
  t += 5_000;
  applyEvent(s, { type: "away", from: "bob", text: "gone \x1b[31mfor lunch" });
  assert.equal(lines().length, 1, "the same reason again within a minute (his other device) is not repeated");
  applyEvent(s, { type: "away", from: "bob", text: "in a meeting" });
  t += 61_000;
  applyEvent(s, { type: "away", from: "bob", text: "in a meeting" });
  assert.deepEqual(lines().slice(1), [
    "msg:bob:bob (away): in a meeting",
    "msg:bob:bob (away): in a meeting",
  ]);
  assert.deepEqual(s.buffers.find("dm", "bob")?.away, { text: "in a meeting", at: t }, "kept for /whois");
  const l = s.buffers.find("dm", "bob")!.lines.at(-1)!;
  assert.deepEqual(
    [l.action, l.mid, l.kind === "info"],
    [true, undefined, false],
    "their words (issue 69 A1), not Parley's",
  );
  const presence = { user: "bob", addr: "", since: t, role: "user" as const };
  applyEvent(s, { type: "presence", user: "bob", online: true, presence: { ...presence, status: "busy" } });
  assert.notEqual(s.buffers.find("dm", "bob")?.away, null, "still busy: still away");
  applyEvent(s, { type: "presence", user: "bob", online: true, presence: { ...presence, status: "free" } });
  assert.equal(s.buffers.find("dm", "bob")?.away, null, "back: the reason is old");
});
