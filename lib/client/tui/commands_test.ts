import assert from "node:assert/strict";
import {
  BackendError,
  type ChatMessage,
  type FileControls,
  type FileEntryInfo,
  type RoomControls,
  type Target,
} from "../backend.ts";
import type { CommandContext } from "./commands.ts";
import { FakeBackend } from "./fake_backend.ts";
import { AwayReplies } from "../core/away.ts";
import type { SendHost } from "../core/sending.ts";
import { memoryLocal, memoryTopics } from "./testing.ts";
import { findCommand, helpLines, parseLine } from "./parse.ts";
import { utcTime } from "./testing.ts";

const NOW = Date.UTC(2026, 0, 2, 12, 0);

function ctx(target: Target | null, role: "user" | "admin" = "user") {
  const backend = new FakeBackend("alice", "srv:1", role);
  const printed: string[] = [];
  const opened: [Target, boolean][] = [];
  const added: ChatMessage[] = [];
  let closed = 0;
  const sent: [Target, string][] = [];
  const c: CommandContext = {
    backend,
    target,
    print: (t, level = "info") => printed.push(level === "error" ? `!${t}` : t),
    open: (t, f) => opened.push([t, f]),
    closeCurrent: () => void closed++,
    send: (t, text) => Promise.resolve(void sent.push([t, text])),
    // A message already in `added` (by mid) counts as shown already.
    addMessages: (m) => {
      const fresh = m.filter((x) => !added.some((a) => a.mid === x.mid));
      added.push(...fresh);
      return Promise.resolve(fresh.length);
    },
    quit: () => Promise.resolve(),
    quitWarned: false,
    now: () => NOW,
    formatTime: utcTime,
    helpLines: () => ["help"],
    setOwnStatus: () => {},
    video: {
      play: (name, thirds) => Promise.resolve(void printed.push(`play ${name} ${thirds}`)),
      stream: (u, file) => void printed.push(`stream ${u} ${file}`),
      accept: () => Promise.resolve(void printed.push("accept")),
      stop: () => Promise.resolve(void printed.push("stop")),
    },
  };
  const run = async (line: string) => {
    const p = parseLine(line, { role, isUser: () => true });
    assert.equal(p.kind, "command", line);
    if (p.kind === "command") await p.spec.run(c, p.args);
  };
  return { c, backend, printed, opened, added, sent, run, closed: () => closed };
}

Deno.test("COMMANDS /msg opens the query without focus and /query focuses it", async () => {
  const t = ctx(null);
  await t.run("/msg @bob hi there");
  await t.run("/query carol");
  assert.deepEqual(t.opened, [[{ kind: "user", name: "bob" }, false], [
    { kind: "user", name: "carol" },
    true,
  ]]);
  assert.deepEqual(t.sent, [[{ kind: "user", name: "bob" }, "hi there"]]);
});

Deno.test("COMMANDS /msg #ROOM TEXT says a line to one of my rooms without switching (IRC's /msg #channel); /j joins", async () => {
  const t = ctx(null);
  t.backend.roomList = [{ name: "dev", members: ["alice", "bob"], admins: [] }];
  await t.run("/msg #Dev hello room");
  assert.deepEqual(t.sent, [[{ kind: "room", name: "dev" }, "hello room"]]);
  assert.deepEqual(t.opened, [[{ kind: "room", name: "dev" }, false]]);
  await assert.rejects(() => t.run("/msg #ops hi"), /You are not a member of #ops \(\/rooms lists yours\)/);
  assert.equal(t.sent.length, 1);
  await t.run("/j #dev");
  assert.deepEqual(t.opened.at(-1), [{ kind: "room", name: "dev" }, true]);
});

Deno.test("COMMANDS /room create makes a room and /invite and /part use the current room", async () => {
  const t = ctx({ kind: "room", name: "team" });
  await t.run("/room create team bob carol");
  await t.run("/invite dave");
  await t.run("/part");
  assert.deepEqual(t.backend.callsOf("createRoom"), [["team", ["bob", "carol"]]]);
  assert.deepEqual(t.backend.callsOf("invite"), [["team", "dave"]]);
  assert.deepEqual(t.backend.callsOf("leave"), [["team"]]);
  assert.equal(t.closed(), 1);
  const s = ctx(null);
  await assert.rejects(() => s.run("/invite dave"), /Not in a room/);
});

Deno.test("COMMANDS /part TEXT says it to the room before leaving; /part NAME alone still names a room; offline nothing is left", async () => {
  const t = ctx({ kind: "room", name: "team" });
  t.backend.roomList = ["team", "dev", "ops"].map((name) => ({ name, members: ["alice"], admins: [] }));
  await t.run("/part see you  all"); // spaces after the first word are kept
  assert.deepEqual(t.backend.callsOf("send"), [[{ kind: "room", name: "team" }, "see you  all"]]);
  assert.deepEqual(t.backend.callsOf("leave"), [["team"]]);
  assert.equal(t.added.at(-1)?.text, "see you  all", "on screen before the room closes");
  assert.equal(t.closed(), 1);
  await t.run("/part dev");
  await t.run("/part #ops bye ops");
  assert.deepEqual(t.backend.callsOf("leave").slice(1), [["dev"], ["ops"]]);
  assert.deepEqual(t.backend.callsOf("send").slice(1), [[{ kind: "room", name: "ops" }, "bye ops"]]);
  assert.equal(t.closed(), 1, "rooms not on screen: the buffer stays");
  t.backend.send = (to, text) =>
    Promise.resolve({ seq: 0, mid: "q1", ts: NOW, from: "alice", to, text, pending: true });
  await assert.rejects(
    () => t.run("/part later"),
    /Not connected: your message waits in the outbox and you are still in #team/,
  );
  assert.equal(t.backend.callsOf("leave").length, 3, "not left");
  const d = ctx({ kind: "user", name: "bob" });
  await assert.rejects(() => d.run("/part bye"), /Not in a room/);
  await d.run("/part");
  assert.equal(d.closed(), 1, "a private conversation closes");
});

Deno.test("COMMANDS /trust accepts a changed key and /room kick removes a member (what errors tell users)", async () => {
  const t = ctx({ kind: "room", name: "team" });
  await t.run("/trust @bob");
  assert.deepEqual(t.backend.callsOf("trust"), [["bob"]]);
  assert.match(t.printed.at(-1)!, /^Trusted bob: 12345/);
  await t.run("/room kick #team erin");
  assert.deepEqual(t.backend.callsOf("roomKick"), [["team", "erin"]]);
  assert.equal(t.printed.at(-1), "Removed erin from #team");
  await assert.rejects(() => t.run("/room kick team erin frank"), /Usage: \/room kick NAME USER/);
  await assert.rejects(() => t.run("/room drop team erin"), /Usage: \/room create/);
});

Deno.test("COMMANDS /join switches to a room the user belongs to and explains otherwise", async () => {
  const t = ctx(null);
  t.backend.roomList = [{ name: "general", members: ["alice"], admins: [] }];
  await t.run("/join #general");
  assert.deepEqual(t.opened, [[{ kind: "room", name: "general" }, true]]);
  await assert.rejects(() => t.run("/join #secret"), /not a member of #secret/);
  // A room that does not exist (the server refuses its history so): said so, with how to make one.
  t.backend.history = (to) =>
    Promise.reject(new BackendError("no_such_room", `There is no room named #${to.name}`));
  await assert.rejects(
    () => t.run("/join #genral"),
    /^Error: There is no room named #genral \(\/room create genral USER… makes one\)$/,
  );
});

Deno.test("COMMANDS /history loads messages since a time into the buffers", async () => {
  const t = ctx({ kind: "room", name: "general" });
  t.backend.historyMessages = [{
    seq: 1,
    mid: "h1",
    ts: NOW - 1000,
    from: "bob",
    to: { kind: "room", name: "general" },
    text: "old",
  }];
  await t.run("/history 2h");
  assert.deepEqual(t.backend.callsOf("history"), [[{ kind: "room", name: "general" }, NOW - 7200e3]]);
  assert.equal(t.added.length, 1);
  assert.deepEqual(t.printed.splice(0), ["1 message loaded"]);
  await t.run("/history 2h"); // the same again: nothing new on screen
  t.backend.historyMessages.push({ ...t.backend.historyMessages[0]!, seq: 2, mid: "h2", text: "newer" });
  await t.run("/history 2h");
  t.backend.historyMessages = [];
  await t.run("/history 2h");
  await t.run("/history");
  assert.deepEqual(t.printed, [
    "Nothing more to load: that message is shown already",
    "1 message loaded (1 more shown already)",
    "No messages since then",
    "No messages to load",
  ]);
  await assert.rejects(() => ctx(null).run("/history"), /status buffer/);
});

Deno.test("COMMANDS /inbox lists the messages with their times, each on one line (issue 34.13)", async () => {
  const t = ctx(null);
  t.backend.keys.inbox = (u?: string) => {
    t.backend.calls.push({ method: "inbox", args: [u] });
    const m = (from: string, mid: string): ChatMessage => ({
      seq: 1,
      mid,
      ts: NOW,
      from,
      to: { kind: "user", name: "alice" },
      text: "x",
    });
    const act = { ...m("bob", "4"), text: "/me waves", to: { kind: "room" as const, name: "dev" } };
    return Promise.resolve([
      m("bob", "1"),
      m("bob", "2"),
      { ...m("carol", "3"), text: "hi\nfake line" },
      act,
    ]);
  };
  await t.run("/inbox");
  const at = utcTime(NOW);
  assert.deepEqual(t.printed, [
    "Inbox: 4 messages",
    `${at} bob: x`,
    `${at} bob: x`,
    `${at} carol: hi^Jfake line`,
    `${at} * bob → #dev waves`,
  ]);
  assert.equal(t.added.length, 4);
});

Deno.test("COMMANDS /outbox lists waiting and failed messages; /outbox drop N removes one (issue 34.1)", async () => {
  const t = ctx(null);
  const removed: string[] = [];
  t.c.removeMessage = (mid) => void removed.push(mid);
  let box = [
    { n: 4, mid: "m4", ts: NOW, to: { kind: "user" as const, name: "bob" }, text: "later" },
    {
      n: 7,
      mid: "m7",
      ts: NOW,
      to: { kind: "room" as const, name: "dev" },
      text: "huge",
      failed: "too long",
    },
  ];
  t.backend.outbox = {
    count: () => box.length,
    list: () => Promise.resolve(box),
    drop: (n) => {
      const e = box.find((x) => x.n === n) ?? null;
      box = box.filter((x) => x !== e);
      return Promise.resolve(e);
    },
  };
  await t.run("/outbox");
  const at = utcTime(NOW);
  assert.deepEqual(t.printed, [
    `4. ${at} → bob: later (waiting)`,
    `!7. ${at} → #dev: huge (✗ failed: too long)`,
  ]);
  await t.run("/outbox drop 7");
  assert.equal(t.printed.at(-1), "Dropped message 7 to #dev: it will not be sent");
  assert.deepEqual(removed, ["m7"]);
  await assert.rejects(Promise.resolve(t.run("/outbox drop 7")), /no message 7/);
  await assert.rejects(Promise.resolve(t.run("/outbox burn 4")), /Usage/);
});

Deno.test("COMMANDS /who, /whois and /fingerprint print what the backend says", async () => {
  const t = ctx(null);
  t.backend.online = [{
    user: "bob",
    addr: "10.0.0.2:5000",
    since: NOW - 3600e3,
    status: "busy",
    role: "user",
  }];
  await t.run("/who");
  await t.run("/whois nobody");
  await t.run("/fingerprint bob");
  assert.deepEqual(t.printed, [
    "1 online:",
    "  bob — busy — 10.0.0.2:5000 — active since 11:00 (1h)",
    "nobody is offline",
    `bob: ${"12345 ".repeat(12).trim()} (not verified)`,
  ]);
  // The away reason bob told this client (a reply to a direct message) stands beside his busy status.
  t.c.awayOf = (u) => u === "bob" ? { text: "at the \x1b[2Jdentist", at: NOW - 120e3 } : null;
  await t.run("/whois bob");
  assert.equal(
    t.printed.at(-1),
    "bob — busy (away: at the ^[[2Jdentist, said 2m ago) — 10.0.0.2:5000 — active since 11:00 (1h)",
  );
  t.backend.online[0]!.status = "free";
  await t.run("/whois bob");
  assert.equal(t.printed.at(-1), "bob — free — 10.0.0.2:5000 — active since 11:00 (1h)", "free: no reason");
});

Deno.test("COMMANDS admin rows kick, ban, list, grant and revoke", async () => {
  const t = ctx(null, "admin");
  t.backend.kickedList = [{ user: "eve", by: "alice", at: NOW - 60e3, bannedUntil: NOW + 3600e3 }];
  await t.run("/kick bob");
  await t.run("/kick carol 2h");
  await t.run("/ban dave 1d");
  await t.run("/kicked");
  await t.run("/grant bob");
  await t.run("/revoke bob");
  assert.deepEqual(t.backend.callsOf("kick"), [["bob", undefined], ["carol", 7200], ["dave", 86400]]);
  assert.ok(t.printed.includes("eve — banned until 13:00 by alice at 11:59"));
  assert.deepEqual(t.backend.callsOf("grant"), [["bob"]]);
  assert.deepEqual(t.backend.callsOf("revoke"), [["bob"]]);
  await assert.rejects(() => t.run("/ban bob soon"), /not a duration/);
  // The one ban grammar (parseKick): a reason after the duration, or without one.
  await t.run("/kick erin 10m spamming again");
  await t.run("/ban frank 1h rude");
  await t.run("/kick gina be nice");
  assert.deepEqual(t.backend.callsOf("kick").slice(3), [
    ["erin", 600, "spamming again"],
    ["frank", 3600, "rude"],
    ["gina", undefined, "be nice"],
  ]);
  // What was done, with its unit: a bare number is seconds.
  await t.run("/kick hal 60");
  await t.run("/ban ian 90");
  assert.deepEqual(t.printed.slice(-2), ["hal kicked and banned for 1m", "ian banned for 90s"]);
  // Typed in a room, the server's kick says it was not the room's (IRC's /kick is a channel's).
  const r = ctx({ kind: "room", name: "dev" }, "admin");
  await r.run("/kick carol");
  assert.equal(
    r.printed.at(-1),
    "carol kicked off the server (to take someone out of a room you administer: /room kick ROOM USER)",
  );
});

Deno.test("COMMANDS /busy, /free, /verify and /broadcast call the backend", async () => {
  const t = ctx(null);
  await t.run("/away");
  await t.run("/back");
  await t.run("/verify bob");
  await t.run("/broadcast server restarts at noon");
  assert.deepEqual(t.backend.callsOf("setStatus"), [["busy"], ["free"]]);
  assert.deepEqual(t.backend.callsOf("verify"), [["bob"]]);
  assert.deepEqual(t.sent, [[{ kind: "broadcast" }, "server restarts at noon"]]);
});

Deno.test("COMMANDS /away REASON keeps the reason beside busy, /back forgets it; a bad one or a refused status changes nothing", async () => {
  const t = ctx(null);
  await assert.rejects(() => t.run("/away gone for lunch"), /cannot tell anyone an away reason here/);
  assert.deepEqual(t.backend.callsOf("setStatus"), [], "peer mode: refused before the status changes");
  t.backend.away = new AwayReplies({} as SendHost);
  await t.run("/away gone  for lunch");
  assert.equal(t.backend.away.reason, "gone  for lunch");
  assert.equal(
    t.printed.at(-1),
    "You are now away: gone  for lunch (whoever writes to you directly is told, once each)",
  );
  await assert.rejects(
    () => t.run(`/busy ${"x".repeat(301)}`),
    /An away reason is at most 300 characters \(this one has 301\)/,
  );
  t.backend.failures.set("setStatus", new BackendError("closed", "Not connected"));
  await assert.rejects(() => t.run("/away in a meeting"), /Not connected/);
  assert.equal(t.backend.away.reason, "gone  for lunch", "kept as it was");
  t.backend.failures.delete("setStatus");
  await t.run("/back");
  assert.equal(t.backend.away.reason, null);
  await t.run("/busy");
  assert.equal(t.printed.at(-1), "You are now busy");
  assert.deepEqual(t.backend.callsOf("setStatus"), [["busy"], ["busy"], ["free"], ["busy"]]); // the second refused
  // `/away` alone is IRC's "I am back" when busy (irssi, WeeChat), and busy otherwise.
  t.backend.online = [{ user: "alice", addr: "", since: NOW, status: "busy", role: "user" }];
  await t.run("/away");
  assert.equal(t.printed.at(-1), "You are now free");
  t.backend.online = [{ user: "alice", addr: "", since: NOW, status: "free", role: "user" }];
  await t.run("/away");
  assert.equal(t.printed.at(-1), "You are now busy");
  assert.deepEqual(t.backend.callsOf("setStatus").slice(4), [["free"], ["busy"]]);
});

Deno.test("/broadcast help says offline users get it later, not 'everyone online' (issue 14)", async () => {
  const { COMMANDS } = await import("./commands.ts");
  const help = COMMANDS.find((c) => c.name === "broadcast")!.help;
  assert.doesNotMatch(help, /everyone online/);
  assert.match(help, /offline/);
});

Deno.test("/verify USER NUMBER hands the compared number to the backend and prints the number pinned (issue 33.1)", async () => {
  const t = ctx(null);
  const n = "05870 16384 ".repeat(6).trim();
  await t.run(`/verify bob ${n}`);
  await t.run(`/trust carol ${n}`);
  await t.run("/verify dave");
  assert.deepEqual(t.backend.callsOf("verify"), [["bob", n], ["dave"]]);
  assert.deepEqual(t.backend.callsOf("trust"), [["carol", n]]);
  // What is printed is the number of the key the backend pinned, not what was typed.
  assert.ok(t.printed.includes(`Verified bob: ${"12345 ".repeat(12).trim()}`), t.printed.join("\n"));
});

Deno.test("COMMANDS: the seeds' command names are aliases from the same rows, listed in /help (issue 34.10)", async () => {
  const t = ctx(null, "admin");
  t.backend.online = [{ user: "bob", addr: "1.2.3.4:5", since: NOW, status: "free", role: "user" }];
  await t.run("/viewusers");
  assert.equal(t.printed.at(-1)?.trim().startsWith("bob"), true, t.printed.join("\n"));
  await t.run("/messageto bob hi");
  assert.deepEqual(t.sent, [[{ kind: "user", name: "bob" }, "hi"]]);
  await t.run("/kickuser bob");
  assert.deepEqual(t.backend.callsOf("kick"), [["bob", undefined]]);
  await t.run("/viewkickusers");
  assert.equal(t.printed.at(-1), "Nobody is kicked or banned");
  const help = helpLines("admin").join("\n");
  for (
    const [alias, name] of [["viewusers", "who"], ["messageto", "msg"], ["kickuser", "kick"], [
      "viewkickusers",
      "kicked",
    ], ["disconnect", "quit"]]
  ) {
    assert.equal(findCommand(alias!)?.name, name);
    assert.match(
      help,
      new RegExp(`\\n {2}/${name}\\b.*\\n?.*\\(also [^)]*/${alias}\\b`),
      `/help lists /${alias}`,
    );
  }
  assert.match(help, /\/changegrant USER/);
});

Deno.test("COMMANDS /changegrant toggles: a user is granted, an admin revoked (offline too, from the user list)", async () => {
  const t = ctx(null, "admin");
  t.backend.withRemote({
    users: () => Promise.resolve([{ user: "bob", role: "user" }, { user: "carol", role: "admin" }]),
  });
  await t.run("/changegrant bob");
  await t.run("/changegrant carol");
  assert.deepEqual(t.backend.callsOf("grant"), [["bob"]]);
  assert.deepEqual(t.backend.callsOf("revoke"), [["carol"]]);
  assert.deepEqual(t.printed.slice(-2), ["bob is now an admin", "carol is no longer an admin"]);
  await assert.rejects(() => t.run("/changegrant nobody"), /There is no user named nobody/);
  assert.equal(parseLine("/changegrant bob", { role: "user", isUser: () => true }).kind, "error");
});

/** File controls that list `entries` and refuse everything else. */
function listingFiles(entries: FileEntryInfo[]): FileControls {
  return {
    outbox: () => Promise.resolve([]),
    send: () => Promise.reject(new Error("no")),
    sendRoom: () => Promise.reject(new Error("no")),
    list: () => Promise.resolve(entries),
    accept: () => Promise.reject(new Error("no")),
    reject: () => Promise.reject(new Error("no")),
    waiting: () => Promise.resolve(0),
  };
}

Deno.test("COMMANDS /files numbers files sent that can be withdrawn; /withdraw N takes one back", async () => {
  const t = ctx(null);
  const withdrawn: number[] = [];
  const out = (w: number | undefined, name: string, state: string, at?: number) => ({
    ...(w === undefined ? {} : { w }),
    ...(at === undefined ? {} : { at }),
    fid: name,
    direction: "out" as const,
    peer: "bob",
    name,
    size: 2048,
    state,
  });
  const base = listingFiles([
    out(undefined, "old.txt", "delivered"),
    out(undefined, "plan.pdf", "delivered", NOW - 26 * 3_600_000), // two of one name: their times tell them apart
    out(1, "plan.pdf", "sending", NOW - 60_000),
  ]);
  t.backend.files = {
    ...base,
    withdraw: (n) => (withdrawn.push(n), Promise.resolve(out(undefined, "plan.pdf", "withdrawn"))),
  };
  await t.run("/files");
  await t.run("/withdraw 1");
  await assert.rejects(t.run("/withdraw x"), /"x" is not a sent file number \(see \/files\)/);
  assert.deepEqual(withdrawn, [1]);
  assert.deepEqual(t.printed, [
    "   -  ↑ old.txt  2.0 KiB  to bob  delivered",
    "   -  ↑ plan.pdf  2.0 KiB  to bob  2026-01-01 10:00  delivered",
    "   -  ↑ plan.pdf  2.0 KiB  to bob  11:59  sending  (/withdraw 1)",
    "Withdrew plan.pdf from bob: they cannot take it now",
  ]);
  t.backend.files = base; // a backend that cannot (peer mode withdraws from its outbox)
  t.printed.length = 0;
  await t.run("/files");
  assert.equal(t.printed[2], "   -  ↑ plan.pdf  2.0 KiB  to bob  11:59  sending", "no hint where it cannot");
  await assert.rejects(t.run("/withdraw 1"), /Sent files cannot be withdrawn here/);
});

Deno.test("COMMANDS /search prints what matched, with day, time, conversation and sender, and how much was searched", async () => {
  const t = ctx(null);
  await assert.rejects(t.run("/search deploy"), /keeps no history to search/);
  const asked: unknown[] = [];
  const day = Date.UTC(2025, 11, 30, 9, 5);
  t.backend.local = memoryLocal();
  t.backend.local.search = (q) => {
    asked.push(q);
    return Promise.resolve({
      matches: q.text === "deploy"
        ? [
          {
            seq: 1,
            mid: "a",
            ts: day,
            from: "bob",
            to: { kind: "room", name: "team" },
            text: "we deploy\nfriday",
          },
          {
            seq: 2,
            mid: "b",
            ts: NOW,
            from: "alice",
            to: { kind: "user", name: "bob" },
            text: "deploy \x1b[2Jnow",
          },
          { seq: 3, mid: "c", ts: NOW, from: "bob", to: { kind: "user", name: "alice" }, text: "ok deploy" },
        ]
        : [],
      searched: 1_204,
      more: q.text === "deploy",
      oldest: day,
    });
  };
  await assert.rejects(t.run("/goto 1"), /Nothing to go to yet: \/search WORDS first, then \/goto N/);
  await t.run("/search deploy");
  // /goto N: the match's conversation from its time on, then its line shown and selected.
  const shown: string[] = [];
  t.c.showMessage = (m) => Promise.resolve(shown.push(m.mid) > 0 && m.mid !== "c");
  await assert.rejects(t.run("/goto 4"), /"4" is not a match number: 1 to 3 \(see \/search\)/);
  await t.run("/goto 2");
  await assert.rejects(t.run("/goto 3"), /That message is not here any more/);
  assert.deepEqual(t.backend.callsOf("history"), [
    [{ kind: "user", name: "bob" }, NOW],
    [{ kind: "user", name: "bob" }, NOW],
  ]);
  assert.deepEqual([shown, t.added.map((m) => m.mid)], [["b", "c"], ["b", "c"]]);
  await t.run("/search nothing at all");
  assert.deepEqual(asked, [{ text: "deploy", limit: 30 }, { text: "nothing at all", limit: 30 }]);
  assert.deepEqual(t.printed, [
    '"deploy": the newest 3 matches (more words narrow it; /goto N shows one)',
    "  1. 2025-12-30 09:05 #team bob: we deploy ⏎ friday",
    "  2. 12:00 → bob alice: deploy ^[[2Jnow",
    "  3. 12:00 bob: ok deploy",
    'Nothing matches "nothing at all" in the 1204 messages kept here, since 2025-12-30',
  ]);
  await assert.rejects(t.run("/goto 1"), /Nothing to go to yet/, "the last search found nothing");
});

Deno.test("COMMANDS /block (also /ignore), /unblock and /blocked say what a block does; without the capability, why not", async () => {
  const t = ctx(null);
  await assert.rejects(t.run("/block mallory"), /Blocking needs a server and end-to-end keys/);
  let list: string[] = [];
  t.backend.blocks = {
    list: () => Promise.resolve(list),
    block: (u: string) => Promise.resolve(list = [...new Set([...list, u])].sort()),
    unblock: (u: string) => Promise.resolve(list = list.filter((x) => x !== u)),
  };
  await t.run("/blocked");
  await t.run("/block @mallory");
  await t.run("/ignore MALLORY");
  await t.run("/blocked");
  await t.run("/whois MALLORY");
  // Writing to them is refused before a buffer opens for them (none is left empty); a look at the old one opens.
  const refused = /You blocked mallory: unblock them first \(\/unblock mallory, or parley unblock mallory\)/;
  await assert.rejects(t.run("/msg Mallory hi"), refused);
  await assert.rejects(t.run("/query mallory hi"), refused);
  assert.deepEqual([t.opened, t.sent], [[], []]);
  await t.run("/query mallory");
  assert.deepEqual(t.opened, [[{ kind: "user", name: "mallory" }, true]]);
  await t.run("/unblock mallory");
  await t.run("/whois mallory");
  assert.deepEqual(t.printed, [
    "Nobody is blocked here",
    "Blocked mallory: what they send is dropped here, unseen, and they are not told (your other devices follow); /unblock mallory undoes it",
    "mallory is blocked already (/blocked lists them)",
    "Blocked here: mallory",
    "MALLORY is offline (blocked here: /unblock)",
    "Unblocked mallory: what they send from now on arrives",
    "mallory is offline",
  ]);
});

Deno.test("COMMANDS /quit warns once while a file is under way, naming it; then leaves", async () => {
  const t = ctx(null);
  let quit = 0;
  t.c.quit = () => Promise.resolve(void quit++);
  const entry = (name: string, direction: "in" | "out", state: string) => ({
    fid: name,
    direction,
    peer: direction === "in" ? "alice" : "carol",
    name,
    size: 5_000_000,
    state,
  });
  t.backend.files = listingFiles([
    entry("big5.bin", "out", "sending"),
    entry("old.txt", "out", "delivered"),
    entry("in.bin", "in", "receiving"),
  ]);
  await t.run("/quit");
  assert.equal(quit, 0, "warned first");
  assert.deepEqual(t.printed, [
    "Under way: big5.bin to carol, in.bin from alice; it goes on the next time Parley runs. /quit again to leave now",
  ]);
  await t.run("/quit");
  assert.equal(quit, 1);
});

Deno.test("COMMANDS /names lists a room's members (@ admins, who is online); /rooms (also /list) lists mine; /clear empties the screen", async () => {
  const t = ctx({ kind: "room", name: "dev" });
  const presence = (user: string) => ({
    user,
    addr: "x:1",
    since: NOW,
    status: "free" as const,
    role: "user" as const,
  });
  t.backend.online = [presence("alice"), presence("carol")];
  await t.run("/rooms");
  t.backend.roomList = [
    { name: "dev", members: ["alice", "bob", "carol"], admins: ["alice"] },
    { name: "ops", members: ["alice", "b\x1b[2Job"], admins: ["alice"] },
  ];
  await t.run("/names");
  await t.run("/members #ops");
  await t.run("/list");
  await assert.rejects(t.run("/names #nope"), /You are not a member of #nope \(\/rooms lists yours\)/);
  assert.deepEqual(t.printed, [
    "You are in no room yet (/room create NAME USER… makes one)",
    "#dev: 3 members: @alice (online), bob, carol (online)",
    "#ops: 2 members: @alice (online), b^[[2Job",
    "You are in 2 rooms (/join #ROOM goes there):",
    "  #dev: alice, bob, carol",
    "  #ops: alice, b^[[2Job",
  ]);
  let cleared = 0;
  t.c.clearCurrent = () => void cleared++;
  await t.run("/clear");
  assert.equal(cleared, 1);
});

Deno.test("COMMANDS /mute and /unmute (this buffer, #ROOM, USER or *), /muted; the screen follows; without a list, why not", async () => {
  const t = ctx({ kind: "room", name: "dev" });
  await assert.rejects(t.run("/mute"), /This client keeps no mute list/);
  t.backend.local = memoryLocal();
  const shown: string[][] = [];
  t.c.mutedChanged = (names) => void shown.push(names);
  t.backend.roomList = [{ name: "dev", members: ["alice", "bob"], admins: ["alice"] }];
  t.backend.registered = new Set(["alice", "bob"]);
  await assert.rejects(t.run("/mute #dve"), /You are not in #dve \(\/rooms lists yours\)/);
  await assert.rejects(t.run("/mute bbo"), /There is no user named bbo/);
  await t.run("/mute");
  await t.run("/mute #DEV");
  await t.run("/mute @Bob");
  await t.run("/mute *");
  await t.run("/muted");
  await t.run("/unmute bob");
  await t.run("/unmute bob");
  await assert.rejects(t.run("/mute #"), /"#" names no conversation/);
  assert.deepEqual(t.printed, [
    "Muted #dev: its messages arrive without a bell or highlight; /unmute #dev undoes it",
    "#dev is muted already (/muted lists them)",
    "Muted bob: its messages arrive without a bell or highlight; /unmute bob undoes it",
    "Muted broadcasts (the status buffer): its messages arrive without a bell or highlight; /unmute * undoes it",
    "Muted here: #dev, broadcasts (the status buffer), bob",
    "Unmuted bob",
    "bob is not muted (/muted lists them)",
  ]);
  assert.deepEqual(shown.at(-1), ["#dev", "*"]);
  await t.run("/mute bob");
  await t.run("/whois bob");
  assert.equal(t.printed.at(-1), "bob is offline (muted here: /unmute)");
});

Deno.test("COMMANDS /topic shows, sets (for this room or #ROOM) and clears a room's topic; /rooms shows topics; refusals", async () => {
  const t = ctx({ kind: "room", name: "dev" });
  t.backend.roomList = [
    { name: "dev", members: ["alice", "bob"], admins: ["alice"] },
    { name: "ops", members: ["alice"], admins: ["alice"] },
  ];
  await assert.rejects(t.run("/topic"), /Room topics need end-to-end keys/);
  (t.backend as { rooms: RoomControls }).rooms = memoryTopics(t.backend.rooms, "alice", () => NOW - 120_000);
  await t.run("/topic");
  await t.run("/topic -delete");
  await t.run("/topic Release  on Friday");
  await t.run("/topic #OPS on call: \x1b[2Jbob"); // a room name in any case
  await t.run("/topic #1 priority");
  await t.run("/topic #ops");
  await t.run("/rooms");
  await t.run("/topic #dev -delete");
  await t.run("/topic");
  await assert.rejects(t.run("/topic #nope"), /You are not a member of #nope/);
  const dm = ctx({ kind: "user", name: "bob" });
  (dm.backend as { rooms: RoomControls }).rooms = memoryTopics(dm.backend.rooms, "alice", () => NOW);
  await assert.rejects(dm.run("/topic hello"), /Not in a room: give the room name/);
  assert.deepEqual(t.printed, [
    "#dev has no topic (/topic TEXT sets one)",
    "#dev has no topic to clear",
    "#ops topic: on call: ^[[2Jbob (set by alice, 2m ago)",
    "You are in 2 rooms (/join #ROOM goes there):",
    "  #dev: alice, bob",
    "    topic: #1 priority (set by alice, 2m ago)",
    "  #ops: alice",
    "    topic: on call: ^[[2Jbob (set by alice, 2m ago)",
    "#dev has no topic (/topic TEXT sets one)",
  ]);
  assert.deepEqual(t.added.map((m) => [m.to.name, m.topic]), [
    ["dev", "Release on Friday"],
    ["ops", "on call: \x1b[2Jbob"],
    ["dev", "#1 priority"],
    ["dev", ""],
  ]);
});

Deno.test("COMMANDS /highlight lists or adds a word or phrase, /unhighlight removes it; the screen follows; refusals", async () => {
  const t = ctx({ kind: "room", name: "dev" });
  await assert.rejects(t.run("/highlight deploy"), /This client keeps no highlight words/);
  t.backend.local = memoryLocal();
  const shown: string[][] = [];
  t.c.highlightsChanged = (words) => void shown.push(words);
  await t.run("/highlight");
  await t.run("/highlight  Deploy ");
  await t.run("/hilight release   train");
  await t.run("/highlight deploy");
  await t.run("/highlight ALICE");
  await t.run("/highlight");
  await t.run("/unhighlight DEPLOY");
  await t.run("/dehilight deploy");
  await assert.rejects(t.run("/highlight " + "x".repeat(65)), /at most 64 characters \(this one has 65\)/);
  await assert.rejects(t.run("/highlight a\u200bb"), /control characters/);
  assert.deepEqual(t.printed, [
    "Only your name highlights here (/highlight TEXT adds a word or phrase)",
    'Room lines holding "deploy" now highlight here; /unhighlight deploy undoes it',
    'Room lines holding "release train" now highlight here; /unhighlight release train undoes it',
    '"deploy" highlights already (/highlight lists them)',
    "Your name always highlights",
    'Highlighted here: your name, "deploy", "release train" (/unhighlight TEXT removes one)',
    '"deploy" no longer highlights',
    '"deploy" is not a highlight here (/highlight lists them)',
  ]);
  assert.deepEqual(shown, [
    ["deploy"],
    ["deploy", "release train"],
    ["deploy", "release train"],
    ["release train"],
    ["release train"],
  ]);
});

Deno.test("COMMANDS /buffer N|NAME (also /window) goes to a buffer by number, name or the start of one; else why not", async () => {
  const t = ctx({ kind: "room", name: "dev" });
  const shown: number[] = [];
  t.c.bufferLabels = () => ["status", "#dev", "#design", "dave", "dev", "#ops", "b\x1b[2Job"];
  t.c.showBuffer = (i) => void shown.push(i);
  for (const arg of ["3", "7", "dev", "#dev", "@Dave", "#o", "op", "DESIGN"]) await t.run(`/buffer ${arg}`);
  await t.run("/window 1");
  assert.deepEqual(shown, [2, 6, 4, 1, 3, 5, 5, 2, 0]);
  await assert.rejects(t.run("/buffer 8"), /There is no buffer 8: the list has 7/);
  await assert.rejects(t.run("/buffer 0"), /There is no buffer 0/);
  await assert.rejects(t.run("/buffer #de"), /"#de" starts #dev, #design: say which/);
  await assert.rejects(t.run("/buffer d"), /"d" starts #dev, #design, dave, dev: say which/);
  await assert.rejects(
    t.run("/buffer zed"),
    /No open buffer is named "zed" \(\/join #ROOM or \/query USER opens one\)/,
  );
  await t.run("/buffer b");
  assert.equal(shown.at(-1), 6, "the one name that starts so");
});
