// deno-lint-ignore-file no-control-regex no-regex-spaces
import assert from "node:assert/strict";
import {
  demoWorld,
  harness,
  type HarnessOptions,
  memoryHighlights,
  memoryMutes,
  memoryTopics,
  T0,
} from "./testing.ts";
import type { RoomControls } from "../backend.ts";

const general = { kind: "room" as const, name: "general" };

const open = (o: HarnessOptions = {}) => harness({ setup: demoWorld, ...o });

Deno.test("TuiApp draws title, buffer list, messages, members, status and input at 80x24", async () => {
  const h = await open();
  await h.type("\x1b2");
  h.backend.receive("bob", general, "hello alice, welcome back");
  h.clock.advance(60e3);
  h.backend.receive("carol", general, "hi");
  const s = await h.settle();
  assert.equal(s[0], " Parley │ chat.example:7000 │ alice │ online │ E2E on");
  assert.match(s[1]!, /^1\.status +│12:00       bob │ hello alice, welcome back +│Free \(2\)$/);
  assert.match(s[2]!, /^2\.#general +│12:01     carol │ hi +│ @alice +2h$/);
  assert.match(
    s[3]!,
    /^3\.#random +│ +│ bob +16m$/,
    "a server admin, not an admin of #general: no @ (issue 71.18)",
  );
  assert.match(s[4]!, /│Busy \(1\)$/);
  assert.match(s[5]!, /│ carol +3d$/);
  assert.match(s[6]!, /│Offline \(1\)$/);
  assert.match(s[7]!, /│ dave$/);
  assert.equal(s[22], "[12:01] [alice] [2:#general]");
  assert.equal(s[23], "[#general]");
  const golden = await Deno.readTextFile(
    new URL("./testdata/layout_80x24.txt", import.meta.url),
  );
  assert.equal(s.join("\n") + "\n", golden);
  h.close();
});

Deno.test("TuiApp uses wider side lists and nick column at 200x60", async () => {
  const h = await open({ cols: 200, rows: 60 });
  await h.type("\x1b2");
  h.backend.receive("bartholomew_the_great", general, "a long nick is cut with a plus sign");
  const s = await h.settle();
  assert.equal(s.length, 60);
  assert.equal(s[1]!.indexOf("│"), 24);
  assert.equal(s[1]!.lastIndexOf("│"), 200 - 24 - 1);
  assert.match(s[1]!, /^1\.status {16}│12:00 bartholomew\+ │ a long nick/);
  assert.equal(s[58], "[12:00] [alice] [2:#general]");
  h.close();
});

Deno.test("TuiApp aligns rows holding CJK and emoji", async () => {
  const h = await open();
  await h.type("\x1b2");
  h.backend.receive("bob", general, "你好世界 😀 ok");
  h.backend.receive("李雷", general, "中文名字");
  const s = await h.settle();
  assert.match(s[1]!, /│12:00       bob │ 你好世界 😀 +ok +│Free \(2\)$/);
  assert.match(s[2]!, /│12:00      李雷 │ 中文名字 +│ @alice/);
  // The member list separator stays in the same column on every row.
  for (const row of [1, 2]) assert.equal(h.term.buffer.active.getLine(row)!.getCell(67)!.getChars(), "│");
  h.close();
});

Deno.test("TuiApp wraps long lines under the text column", async () => {
  const h = await open();
  await h.type("\x1b2");
  h.backend.receive(
    "bob",
    general,
    "one two three four five six seven eight nine ten eleven twelve thirteen",
  );
  const s = await h.settle();
  assert.match(s[1]!, /│12:00       bob │ one two three four five six seven +│/);
  assert.match(s[2]!, /^2\.#general +│ {16}│ eight nine ten eleven twelve +│/);
  assert.match(s[3]!, /^3\.#random +│ {16}│ thirteen +│/);
  h.close();
});

Deno.test("TuiApp shows a hostile message's escape sequences inert", async () => {
  const h = await open({ cols: 200 });
  let title = "";
  h.term.onTitleChange((t) => (title = t));
  await h.type("\x1b2");
  h.backend.receive("bob", general, "\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b[31mred\u202Egnp.exe\x9b1m");
  h.backend.receive("evil\x1b[5m", general, "x");
  const s = await h.settle();
  assert.equal(title, "");
  assert.equal(s[0], " Parley │ chat.example:7000 │ alice │ online │ E2E on");
  const text = s.join("\n");
  assert.match(text, /\^\[\[2J\^\[\[H\^\[\]0;pwned\^G/);
  assert.match(text, /\^\[\[31mred<U\+202E>gnp\.exe/);
  assert.match(text, /evil\^\[\[5m|evil\^\[\+/);
  const cell = h.term.buffer.active.getLine(1)!.getCell(30)!;
  assert.equal(cell.isBlink(), 0);
  assert.equal(cell.getFgColorMode(), 0);
  h.close();
});

Deno.test("TuiApp counts unread and highlights per buffer and Alt+A goes there", async () => {
  const h = await open();
  h.backend.receive("bob", general, "just chatting");
  h.backend.receive("bob", general, "alice: look at this");
  h.backend.receive("bob", { kind: "user", name: "alice" }, "psst");
  let s = await h.settle();
  assert.match(s[2]!, /^2\.#gen… 2,1!│/);
  assert.match(s[4]!, /^4\.bob +1!│/);
  assert.match(s[22]!, /\[Act: 2!,4!\]/);
  s = await h.type("\x1ba");
  assert.match(s[22]!, /\[2:#general\]/);
  assert.match(s[2]!, /^2\.#general +│/);
  s = await h.type("\x1ba");
  assert.match(s[22]!, /\[4:bob\]/);
  assert.match(s[1]!, /bob │ psst/);
  h.close();
});

Deno.test("TuiApp shows a read marker before lines that arrived while away", async () => {
  const h = await open();
  await h.type("\x1b2");
  h.backend.receive("bob", general, "old news");
  await h.type("\x1b1");
  h.backend.receive("carol", general, "fresh");
  const s = await h.type("\x1b2");
  assert.match(s[1]!, /bob │ old news/);
  assert.match(s[2]!, /─+ new messages ─+/);
  assert.match(s[3]!, /carol │ fresh/);
  h.close();
});

Deno.test("TuiApp draws no read marker above one's own error line or text; it goes above another's next message (issue 71.9)", async () => {
  const h = await open();
  await h.type("\x1b2");
  h.backend.receive("bob", general, "hello");
  await h.type("\x1b3\x1b2"); // away and back: nothing new
  let s = await h.type("/nosuch\r");
  assert.match(s[2]!, /!! │ Unknown command \/nosuch/);
  assert.ok(!s.some((l) => l.includes("new messages")), `above one's own error line:\n${s.join("\n")}`);
  s = await h.type("my own words\r");
  assert.ok(!s.some((l) => l.includes("new messages")), `above one's own text:\n${s.join("\n")}`);
  await h.type("\x1b3");
  h.backend.receive("carol", general, "fresh");
  s = await h.type("\x1b2");
  const at = s.findIndex((l) => l.includes("new messages"));
  assert.ok(
    at > 0 && s[at - 1]!.includes("my own words") && s[at + 1]!.includes("carol │ fresh"),
    s.join("\n"),
  );
  h.close();
});

Deno.test("TuiApp sends text, converts emoji and refuses unknown commands", async () => {
  const h = await open();
  await h.type("\x1b2");
  await h.type("hi :) (Y) :rocket:\r");
  assert.deepEqual(h.backend.callsOf("send"), [[general, "hi 🙂 👍 🚀"]]);
  let s = await h.settle();
  assert.match(s[1]!, /alice │ hi 🙂 +👍 +🚀/);
  s = await h.type("/bogus thing\r");
  assert.match(s.join("\n"), /!! │ Unknown command \/bogus/);
  assert.equal(h.backend.callsOf("send").length, 1);
  await h.type("//slash start\r");
  assert.deepEqual(h.backend.callsOf("send")[1], [general, "/slash start"]);
  h.close();
});

Deno.test("TuiApp /me sends an action, drawn * NAME TEXT; a reply quotes it so; /me alone is refused", async () => {
  const h = await open();
  await h.type("\x1b2");
  h.backend.receive("bob", general, "/me waves at everyone");
  await h.type("/me waves back :)\r");
  assert.deepEqual(h.backend.callsOf("send"), [[general, "/me waves back 🙂"]]);
  let s = await h.settle();
  assert.match(s[1]!, /│12:00         \* │ bob waves at everyone +│/);
  assert.match(s[2]!, /│12:00         \* │ alice waves back 🙂 +│/);
  await h.type("/reply hi bob\r"); // the fake backend echoes the reply with its replyTo
  s = await h.settle();
  assert.match(s[3]!, /alice │ ↪ \* bob waves at everyone +│/);
  s = await h.type("/me\r");
  assert.match(s.join("\n"), /!! │ Usage: \/me TEXT/);
  assert.equal(h.backend.callsOf("send").length, 2);
  h.close();
});

Deno.test("TuiApp /clear empties the buffer on screen; /history shows what is kept again", async () => {
  const h = await open();
  await h.type("\x1b2");
  await h.type("kept line\r");
  h.backend.receive("bob", general, "seen line");
  let s = await h.settle();
  assert.match(s.join("\n"), /alice │ kept line[^]*bob │ seen line/);
  s = await h.type("/clear\r");
  assert.doesNotMatch(s.join("\n"), /kept line|seen line/);
  s = await h.type("/history\r");
  assert.match(s.join("\n"), /alice │ kept line[^]*-- │ 1 message loaded/);
  h.close();
});

Deno.test("TuiApp draws a day row where the day changes, and above a first line of another day", async () => {
  const h = await open();
  await h.type("\x1b2");
  h.backend.receive("bob", general, "on new year's day");
  let s = await h.settle();
  assert.match(s[1]!, /12:00 +bob │ on new year's day/, "today's first line: no day row");
  h.clock.advance(86_400_000);
  h.backend.receive("carol", general, "the day after");
  s = await h.settle(); // the first line is not today's now: its day is said too
  assert.match(s[1]!, /│─+ Thursday 1 January 2026 ─+│/);
  assert.match(s[2]!, /12:00 +bob │ on new year's day/);
  assert.match(s[3]!, /│─+ Friday 2 January 2026 ─+│/);
  assert.match(s[4]!, /12:00 +carol │ the day after/);
  h.close();
});

Deno.test("TuiApp /goto N after /search goes to the match's conversation, loads it and selects the match", async () => {
  const h = await open({ cols: 160, rows: 30 });
  const random = { kind: "room" as const, name: "random" };
  const old = { seq: 7, mid: "old-match-1", ts: h.clock.now() - 3 * 86_400_000, from: "bob", to: random };
  const match = { ...old, text: "the deploy key is in the vault" };
  const later = { ...old, seq: 8, mid: "old-after-1", ts: old.ts + 60_000, text: "thanks" };
  h.backend.historyMessages = [match, later];
  h.backend.search = () => Promise.resolve({ matches: [match], searched: 10, more: false, oldest: old.ts });
  await h.type("/search deploy key\r");
  let s = await h.settle();
  assert.match(s.join("\n"), /1\. 2025-12-29 12:00 #random bob: the deploy key is in the vault/);
  s = await h.type("/goto 1\r");
  const screen = s.join("\n");
  assert.match(screen, /\nSelected bob's message — /);
  assert.match(screen, /│─+ Monday 29 December 2025 ─+│[^]*bob │ the deploy key[^]*bob │ thanks/);
  assert.match(screen, /\[3:#random\]/);
  await h.type("r");
  s = await h.type("found it\r"); // selected: r answers it
  assert.deepEqual(h.backend.callsOf("send").at(-1), [random, "found it"]);
  assert.equal(h.backend.sent.at(-1)?.replyTo, "old-match-1");
  h.close();
});

Deno.test("TuiApp completes :thu to :thumbsup: with Tab and sends 👍 (issue 14)", async () => {
  const h = await open();
  await h.type("\x1b2");
  await h.type("ok :thu\t");
  const s = await h.settle();
  assert.match(s[23]!, /\] ok :thumbsup:$/);
  await h.type(":-)\r");
  assert.deepEqual(h.backend.callsOf("send"), [[general, "ok 👍 🙂"]]);
  h.close();
});

Deno.test("TuiApp sends USER: text as a DM from the status buffer only; in a room it addresses the nick", async () => {
  const h = await open();
  await h.type("bob: secret\r");
  await h.type("note: public\r");
  assert.deepEqual(h.backend.callsOf("send"), [[{ kind: "user", name: "bob" }, "secret"]]);
  let s = await h.settle();
  assert.match(s.join("\n"), /This is the status buffer/);
  assert.match(s[4]!, /^4\.bob/);
  // In #general, completing "car" gives "carol: " and the line goes to the room (issue 14).
  await h.type("\x1b2");
  await h.type("car\t");
  s = await h.settle();
  assert.match(s[23]!, /\] carol:$/);
  await h.type("see you at noon\r");
  await h.type("bob: in the room\r");
  // In a query with bob, "carol: ..." stays in the query.
  await h.type("\x1b4");
  await h.type("carol: ask her\r");
  assert.deepEqual(h.backend.callsOf("send").slice(1), [
    [general, "carol: see you at noon"],
    [general, "bob: in the room"],
    [{ kind: "user", name: "bob" }, "carol: ask her"],
  ]);
  h.close();
});

Deno.test("TuiApp runs commands through the backend and prints results", async () => {
  const h = await open({ role: "admin" });
  let s = await h.type("/who\r");
  assert.match(s.join("\n"), /bob \(admin\) — free — 10\.0\.0\.2:5000/);
  await h.type("/busy\r");
  s = await h.settle();
  assert.deepEqual(h.backend.callsOf("setStatus"), [["busy"]]);
  assert.match(s[22]!, /\[alice \(busy\)\]/);
  await h.type("/kick bob 10m\r");
  await h.type("/ban carol 60\r");
  assert.deepEqual(h.backend.callsOf("kick"), [["bob", 600], ["carol", 60]]);
  await h.type("/query dave\r");
  s = await h.settle();
  assert.equal(s[23], "[dave]");
  await h.type("/part\r");
  s = await h.settle();
  assert.equal(s[23], "[random]".replace("random", "#random"));
  h.close();
});

Deno.test("TuiApp prints backend errors and permission errors in the buffer", async () => {
  const h = await open();
  const { BackendError } = await import("./fake_backend.ts");
  h.backend.failures.set("whois", new BackendError("not_found", "No such user"));
  let s = await h.type("/whois zed\r");
  assert.match(s.join("\n"), /!! │ No such user/);
  s = await h.type("/grant bob\r");
  assert.match(s.join("\n"), /\/grant needs admin rights/);
  s = await h.type("in status\r");
  assert.match(s.join("\n"), /This is the status buffer/);
  h.close();
});

Deno.test("TuiApp redraws everything after a resize", async () => {
  const h = await open();
  await h.type("\x1b2");
  h.backend.receive("bob", general, "before resize");
  await h.settle();
  let s = await h.resize(100, 30);
  assert.equal(s.length, 30);
  assert.match(s[1]!, /bob │ before resize/);
  assert.equal(s[29], "[#general]");
  s = await h.resize(40, 10);
  assert.equal(s[0], " Parley │ chat.example:7000 │ alice │ on");
  assert.match(s[1]!, /^12:00    bob │ before resize$/);
  h.close();
});

Deno.test("TuiApp coalesces many events into one draw and writes few bytes per key", async () => {
  const h = await open();
  await h.type("\x1b2");
  const before = h.app.draws;
  for (let i = 0; i < 100; i++) h.backend.receive("bob", general, `burst ${i}`);
  await h.settle();
  assert.equal(h.app.draws, before + 1);
  const n = h.writes.length;
  await h.type("x");
  assert.equal(h.writes.length, n + 1);
  assert.ok(h.writes[n]!.length < 60, JSON.stringify(h.writes[n]));
  h.close();
});

Deno.test("TuiApp rings the bell on a DM or mention, with OSC 9 when configured", async () => {
  const h = await open({ notify: "osc9" });
  await h.type("\x1b2");
  let n = h.writes.length;
  h.backend.receive("bob", general, "no mention here");
  await h.settle();
  assert.ok(!h.writes.slice(n).join("").includes("\x07"));
  n = h.writes.length;
  h.backend.receive("bob", general, "hey Alice!");
  await h.settle();
  assert.match(h.writes.slice(n).join(""), /\x07\x1b\]9;bob in #general: hey Alice!\x1b\\/);
  n = h.writes.length;
  h.backend.receive("carol", { kind: "user", name: "alice" }, "dm\x1b]0;x\x07", { replay: true });
  h.backend.receive("carol", { kind: "user", name: "alice" }, "live dm");
  await h.settle();
  assert.equal(h.writes.slice(n).join("").match(/\x1b\]9;/g)?.length, 1);
  h.close();
});

Deno.test("TuiApp: a muted conversation (kept from the last start, or /mute) rings no bell and is left out of Act: and Alt+A", async () => {
  const mutes = memoryMutes();
  await mutes.set("#general", true); // muted at an earlier start
  const h = await harness({ setup: (b) => (demoWorld(b), b.mutes = mutes), notify: "osc9" });
  let n = h.writes.length;
  h.backend.receive("bob", general, "hey Alice, a mention in a muted room");
  h.backend.receive("carol", { kind: "user", name: "alice" }, "a dm");
  let s = await h.settle();
  const rung = h.writes.slice(n).join("");
  assert.equal(rung.match(/\x1b\]9;/g)?.length, 1, "the DM rings, the muted room does not");
  assert.match(rung, /\x1b\]9;carol: a dm/);
  assert.match(s[22]!, /\[Act: 4!\]/, "the muted room has unread lines but is not listed");
  assert.match(s[2]!, /^2\.#general +1│/, "its unread count, not a highlight");
  await h.type("\x1ba"); // Alt+A: the DM
  await h.type("\x1ba"); // nothing else but the muted room: stays
  s = await h.settle();
  assert.match(s[22]!, /\[4:carol\]/);
  // Unmuted, the room rings again.
  await h.type("/unmute #general\r");
  n = h.writes.length;
  h.backend.receive("bob", general, "hey Alice, again");
  await h.settle();
  assert.match(h.writes.slice(n).join(""), /\x1b\]9;bob in #general: hey Alice, again/);
  h.close();
});

Deno.test("TuiApp tells the backend what the user read: a line arriving in view, a buffer opened with unread lines", async () => {
  const h = await open();
  const read: [string, number][] = [];
  h.backend.feed = {
    catchUp: () => Promise.resolve({ recent: [], unseen: [], pending: [] }),
    markSeen: () => {},
    read: (t, upTo) => void read.push([`${t.kind}:${t.name ?? ""}`, upTo]),
  };
  await h.type("\x1b2"); // #general in view
  h.backend.receive("bob", general, "seen as it came");
  h.backend.receive("carol", { kind: "user", name: "alice" }, "a dm, not in view");
  h.backend.receive("carol", { kind: "user", name: "alice" }, "another");
  await h.settle();
  assert.deepEqual(read.map(([c]) => c), ["room:general"], "the DM is not read yet");
  await h.type("\x1ba"); // Alt+A: carol's DM, two unread lines
  await h.settle();
  assert.deepEqual(read.map(([c]) => c), ["room:general", "user:carol"]);
  assert.ok(read[1]![1] > read[0]![1], "up to the newest of carol's lines");
  await h.type("\x1b2"); // back to a buffer with nothing unread: nothing to tell
  await h.settle();
  assert.equal(read.length, 2);
  // The terminal window loses the focus: a line in the buffer on screen is not read, and counts.
  await h.type("\x1b[O");
  h.backend.receive("bob", general, "while you were in another window");
  let s = await h.settle();
  assert.equal(read.length, 2);
  assert.match(s[22]!, /\[Act: 2\]/);
  s = await h.type("\x1b[I"); // back: read now
  assert.deepEqual(read.at(-1)?.[0], "room:general");
  assert.doesNotMatch(s[22]!, /Act:/);
  h.close();
});

Deno.test("TuiApp shows typing, transfers, connection and encryption state", async () => {
  const h = await open();
  await h.type("\x1b2");
  h.backend.emit({ type: "typing", from: "bob", to: general, active: true });
  h.backend.emit({
    type: "transfer",
    id: "t1",
    name: "cat.jpg",
    peer: "bob",
    direction: "down",
    done: 50,
    total: 200,
    state: "active",
  });
  h.backend.emit({ type: "encryption", state: "warning", detail: "bob's key changed" });
  h.backend.emit({ type: "connection", state: "offline" });
  let s = await h.settle();
  assert.match(s[22]!, /bob is typing… ↓ cat\.jpg \[##--------\] 50 B\/200 B/);
  assert.match(s[0]!, /│ offline │ E2E warning: bob's key changed/);
  h.clock.advance(7000);
  h.app.tick();
  s = await h.settle();
  assert.doesNotMatch(s[22]!, /typing/);
  h.close();
});

Deno.test("TuiApp /quit closes the backend and resolves done", async () => {
  const h = await open();
  await h.type("/quit\r");
  await h.app.done;
  assert.equal(h.backend.callsOf("close").length, 1);
  h.close();
});

Deno.test("TuiApp /quit TEXT says TEXT to each of my rooms, end to end, then quits; offline it stays (issue 71.5)", async () => {
  const h = await open();
  await h.type("\x1b2");
  const s = await h.type("/quit see you  tomorrow\r");
  assert.ok(!s.some((l) => l.includes("Usage: /quit")), s.join("\n"));
  await h.app.done;
  const rooms = (name: string) => ({ kind: "room", name });
  assert.deepEqual(h.backend.callsOf("send"), [
    [rooms("general"), "see you  tomorrow"],
    [rooms("random"), "see you  tomorrow"],
  ]);
  assert.equal(h.backend.callsOf("close").length, 1);
  h.close();
  // Offline: the text waits in the outbox, Parley says so and stays; /quit alone then leaves.
  const o = await open();
  o.backend.send = (to, text) =>
    Promise.resolve({ seq: 0, mid: "q1", ts: T0, from: "alice", to, text, pending: true });
  let t = await o.type("/quit bye\r");
  assert.ok(
    t.some((l) => l.includes("Not connected: your message waits in")) &&
      t.some((l) => l.includes("running (/quit alone leaves now)")),
    t.join("\n"),
  );
  assert.equal(o.backend.callsOf("close").length, 0);
  t = await o.type("/quit\r");
  await o.app.done;
  assert.equal(o.backend.callsOf("close").length, 1);
  o.close();
});

Deno.test("TuiApp neutralises hostile room and user names in every pane", async () => {
  const h = await open();
  h.backend.emit({
    type: "room",
    change: "joined",
    room: { name: "x\x1b[2Jy", members: ["alice", "m\x07al"], admins: [] },
  });
  h.backend.receive("e\u202Evil", { kind: "user", name: "alice" }, "hi");
  const s = await h.type("\x1b4");
  const all = s.join("\n");
  assert.match(all, /4\.#x\^\[\[2/);
  assert.match(all, /5\.e<U\+20/);
  assert.match(s[23]!, /^\[#x\^\[\[2Jy\]/);
  h.close();
});

Deno.test("TuiApp gives each nick a stable palette colour and the own nick a distinct one (issue 14)", async () => {
  const { nickColour } = await import("./render_messages.ts");
  const h = await open();
  await h.type("\x1b2");
  h.backend.receive("bob", general, "one");
  h.backend.receive("carol", general, "two");
  await h.type("three\r");
  const s = await h.settle();
  const buf = h.term.buffer.active;
  /** Colour and boldness of the first cell of `name` on the screen row that holds `text`. */
  const cellOf = (text: string, name: string) => {
    const y = s.findIndex((l) => l.includes(text));
    const x = s[y]!.indexOf(name);
    const c = buf.getLine(buf.baseY + y)!.getCell(x)!;
    return { fg: c.isFgDefault() ? -1 : c.getFgColor(), bold: c.isBold() !== 0 };
  };
  const bob = cellOf("│ one", "bob"), carol = cellOf("│ two", "carol"), me = cellOf("│ three", "alice");
  assert.equal(bob.fg, nickColour("bob"));
  assert.equal(carol.fg, nickColour("carol"));
  assert.deepEqual(me, { fg: 15, bold: true });
  // The member list uses the same colours; the own nick is distinct there too.
  const inList = (name: string) => {
    const y = s.findIndex((l) => new RegExp(`│ @?${name}\\s+\\d+[smhd]$`).test(l));
    const x = s[y]!.lastIndexOf(name);
    const c = buf.getLine(buf.baseY + y)!.getCell(x)!;
    return { fg: c.isFgDefault() ? -1 : c.getFgColor(), bold: c.isBold() !== 0 };
  };
  assert.deepEqual(inList("alice"), { fg: 15, bold: true });
  assert.equal(inList("bob").fg, nickColour("bob"));
  // Stable, never the own colour nor the error red, and spread over the palette.
  const names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"];
  const colours = names.map((n) => nickColour(n));
  assert.deepEqual(colours, names.map((n) => nickColour(n)));
  assert.ok(colours.every((c) => c !== 15 && c !== 1 && c !== 9 && c !== 8), String(colours));
  assert.ok(new Set(colours).size >= 5, String(colours));
  h.close();
});

Deno.test("TuiApp: Tab after /msg lists the users and cycles; after /join the rooms (issue 14)", async () => {
  const h = await open();
  let s = await h.type("/msg \t");
  assert.match(s.join("\n"), /Choices: bob carol dave/);
  assert.match(s[23]!, /\] \/msg bob$/);
  s = await h.type("\t");
  assert.match(s[23]!, /\] \/msg carol$/);
  await h.type("\x15"); // Ctrl-U clears the line
  s = await h.type("/join \t");
  assert.match(s.join("\n"), /Choices: #general #random/);
  assert.match(s[23]!, /\] \/join #general$/);
  s = await h.type("\t");
  assert.match(s[23]!, /\] \/join #random$/);
  h.close();
});

Deno.test("TuiApp /history takes 2h or a written date with spaces (issue 14)", async () => {
  const h = await open();
  await h.type("\x1b2");
  await h.type("/history 1 Jun 2022 16:00:00\r");
  await h.type("/history 2h\r");
  const since = h.backend.callsOf("history").map((c) => c[1]);
  assert.deepEqual(since, [new Date(2022, 5, 1, 16).getTime(), h.clock.now() - 2 * 3600e3]);
  h.close();
});

Deno.test("TuiApp /room create for the same people names the existing room; --new makes another (issue 14)", async () => {
  const h = await open();
  let s = await h.type("/room create pair bob\r");
  assert.match(s.join("\n"), /#random already has exactly these/);
  assert.deepEqual(h.backend.callsOf("createRoom"), []);
  s = await h.type("/room create pair bob --new\r");
  assert.deepEqual(h.backend.callsOf("createRoom"), [["pair", ["bob"]]]);
  assert.match(s.join("\n"), /4\.#pair/);
  h.close();
});

Deno.test("TuiApp while busy: no bell, messages still arrive as unread; /free tells how many (issue 14)", async () => {
  const h = await open({ notify: "osc9", cols: 140 });
  await h.type("/busy\r");
  const n = h.writes.length;
  h.backend.receive("bob", { kind: "user", name: "alice" }, "are you there?");
  h.backend.receive("carol", general, "hey alice, lunch?");
  h.backend.receive("bob", general, "no mention");
  let s = await h.settle();
  const out = h.writes.slice(n).join("");
  assert.ok(!out.includes("\x07") && !out.includes("\x1b]9;"), JSON.stringify(out));
  assert.match(s.join("\n"), /2\.#general +2,1!/); // unread 2, one of them mentions alice
  assert.match(s.join("\n"), /4\.bob\s+1!/);
  s = await h.type("/free\r");
  assert.match(s.join("\n"), /You are now free/);
  assert.match(s.join("\n"), /3 messages arrived while you were busy/);
  const m = h.writes.length;
  h.backend.receive("bob", { kind: "user", name: "alice" }, "now?");
  await h.settle();
  assert.match(h.writes.slice(m).join(""), /\x07/);
  await h.type("/busy\r");
  s = await h.type("/free\r");
  assert.match(s.join("\n"), /Nothing arrived while you were busy/, "not '0 messages arrived'");
  h.close();
});

Deno.test("TuiApp /msg and /query to a name the server does not know: an error and no buffer (issue 14)", async () => {
  const h = await open({
    setup: (b) => (demoWorld(b), (b.registered = new Set(["alice", "bob", "carol", "dave", "erin"]))),
  });
  let s = await h.type("/msg nosuchuser hello\r");
  assert.match(s.join("\n"), /There is no user named nosuchuser/);
  s = await h.type("/query nosuchuser\r");
  assert.doesNotMatch(s.join("\n"), /\d\.nosuchuser/);
  assert.deepEqual(h.backend.callsOf("send"), []);
  s = await h.type("/query erin\r"); // registered, offline, unknown here: asked, then kept
  assert.match(s.join("\n"), /4\.erin/);
  await h.type("/msg bob hi\r"); // known here: no round trip
  assert.deepEqual(h.backend.callsOf("whois"), [["nosuchuser"], ["nosuchuser"], ["erin"]]);
  h.close();
});

Deno.test("TuiApp: what is typed after a command, in the same read, acts where the command left the screen", async () => {
  const h = await open();
  // A paste, or a busy moment that read both lines at once: "hello" goes to carol, not the status buffer.
  await h.type("/query carol\rhello\r");
  let s = await h.settle();
  assert.deepEqual(h.backend.callsOf("send"), [[{ kind: "user", name: "carol" }, "hello"]]);
  assert.doesNotMatch(s.join("\n"), /This is the status buffer/);
  // Editing keys are kept in order too: typed before the command's turn, shown once it ran.
  await h.type("/join #general\rab\x7fc");
  s = await h.settle();
  assert.equal(s.at(-1), "[#general] ac");
  h.close();
});

Deno.test("TuiApp shows the room's topic in the title bar: the folder's at start, then each topic line", async () => {
  const h = await open({
    cols: 120,
    setup: (b) => {
      demoWorld(b);
      const rooms = memoryTopics(b.rooms, "bob", () => Date.UTC(2026, 0, 1, 11, 0));
      void rooms.setTopic!("general", "Release on \x1b[2JFriday");
      (b as { rooms: RoomControls }).rooms = rooms;
    },
  });
  const bar = " Parley │ chat.example:7000 │ alice │ online │ E2E on";
  assert.equal((await h.type("\x1b2"))[0], `${bar} │ #general: Release on ^[[2JFriday`);
  h.backend.receive("carol", general, "✎ topic: Moved to Monday", {
    setting: true,
    topic: "Moved to Monday",
  });
  let s = await h.settle();
  assert.equal(s[0], `${bar} │ #general: Moved to Monday`);
  assert.match(s.join("\n"), /carol │ ✎ topic: Moved to Monday/);
  assert.equal(
    (await h.type("/topic \t")).at(-1),
    "[#general] /topic Moved to Monday",
    "Tab brings the topic",
  );
  await h.type("\x15"); // Ctrl-U: the line is emptied again
  assert.equal((await h.type("\x1b3"))[0], bar, "#random has no topic");
  h.backend.receive("dave", general, "✎ the topic is cleared", { setting: true, topic: "" });
  s = await h.type("\x1b2");
  assert.equal(s[0], bar, "cleared");
  h.close();
});

Deno.test("TuiApp: a room line holding a highlight word rings and highlights like one's name; /unhighlight stops it", async () => {
  const words = memoryHighlights();
  await words.set("deploy", true); // added at an earlier start
  await words.set("release train", true);
  const h = await harness({ setup: (b) => (demoWorld(b), b.highlights = words), notify: "osc9" });
  let n = h.writes.length;
  h.backend.receive("bob", general, "DEPLOY is done");
  h.backend.receive("carol", general, "the release train leaves at 5");
  h.backend.receive("dave", general, "redeploy later, deployment notes, release trainee"); // not whole words
  let s = await h.settle();
  assert.equal(h.writes.slice(n).join("").match(/\x1b\]9;/g)?.length, 2, "two rang");
  assert.match(s[2]!, /^2\.#gen… 3,2!│/);
  await h.type("/unhighlight deploy\r");
  n = h.writes.length;
  h.backend.receive("bob", general, "deploy again");
  h.backend.receive("bob", general, "hey alice");
  s = await h.settle();
  assert.equal(h.writes.slice(n).join("").match(/\x1b\]9;/g)?.length, 1, "only the mention rang");
  assert.match(s[2]!, /^2\.#gen… 5,3!│/);
  h.close();
});

Deno.test("TuiApp /buffer NAME and /window N switch buffers (beyond Alt+1…0 too)", async () => {
  const h = await open();
  assert.equal((await h.type("/buffer rand\r")).at(-1), "[#random]");
  assert.equal((await h.type("/window 2\r")).at(-1), "[#general]");
  const s = await h.type("/buffer nobody\r");
  assert.match(s.join("\n"), /No open buffer is named "nobody"/);
  h.close();
});
