/**
 * `parley read` and `parley send` in memory (cli_testing.ts): their output lines, exit codes and
 * error lines are a fixed contract, pinned case by case.
 */
import assert from "node:assert/strict";
import { BackendError } from "../backend.ts";
import { cli, dev, type MemoryWorld, memoryWorld, msg, toAlice } from "./cli_testing.ts";

const bob = { kind: "user", name: "bob" } as const;

interface Case {
  name: string;
  argv: string[];
  given?: (w: MemoryWorld) => void;
  code?: number;
  out?: string[];
  err?: string[];
  then?: (w: MemoryWorld) => void;
}

async function table(cases: Case[]) {
  for (const k of cases) {
    const w = memoryWorld();
    k.given?.(w);
    const r = await cli(w, k.argv);
    assert.deepEqual(
      { code: r.code, out: r.out, err: r.err },
      { code: k.code ?? 0, out: k.out ?? [], err: k.err ?? [] },
      k.name,
    );
    k.then?.(w);
    w.store.close();
  }
}

const queue = (w: MemoryWorld) =>
  w.queue.push(
    msg(3, "bob", toAlice, "hi alice"),
    msg(2, "carol", dev, "build green"),
    msg(1, "alice", dev, "mine"),
  );

Deno.test("read: new messages oldest first, one line each, then acknowledged; filters pick one conversation", async () => {
  await table([
    {
      name: "everything new, by seq",
      argv: ["read"],
      given: queue,
      out: [
        "2026-01-01T11:59:00Z alice -> #dev: mine",
        "2026-01-01T11:58:00Z carol -> #dev: build green",
        "2026-01-01T11:57:00Z bob -> alice: hi alice",
      ],
      then: (w) => {
        assert.deepEqual(w.acked.sort(), [1, 2, 3]);
        assert.ok(w.store.isSeen(3), "shown is marked seen in the folder");
        assert.equal(w.logins[0]?.quiet, true, "a scripted command logs in quietly");
      },
    },
    { name: "nothing new", argv: ["read"], err: ["No new messages"] },
    {
      name: "--room: only that room, only its messages acknowledged",
      argv: ["read", "--room", "dev"],
      given: queue,
      out: ["2026-01-01T11:59:00Z alice -> #dev: mine", "2026-01-01T11:58:00Z carol -> #dev: build green"],
      then: (w) => assert.deepEqual(w.acked.sort(), [1, 2]),
    },
    {
      name: "--from: the direct conversation",
      argv: ["read", "--from", "Bob"],
      given: queue,
      out: ["2026-01-01T11:57:00Z bob -> alice: hi alice"],
      then: (w) => assert.deepEqual(w.acked, [3]),
    },
    {
      name: "--others: own lines not printed, all acknowledged",
      argv: ["read", "--room", "dev", "--others"],
      given: queue,
      out: ["2026-01-01T11:58:00Z carol -> #dev: build green"],
      then: (w) => assert.deepEqual(w.acked.sort(), [1, 2]),
    },
    {
      name: "a message some client of the folder showed already is not new",
      argv: ["read"],
      given: (w) => {
        queue(w);
        w.store.save([msg(3, "bob", toAlice, "hi alice")], true);
      },
      out: ["2026-01-01T11:59:00Z alice -> #dev: mine", "2026-01-01T11:58:00Z carol -> #dev: build green"],
    },
    {
      name: "--json: one array with read's fields",
      argv: ["read", "--json", "--from", "bob"],
      given: (w) => {
        w.queue.push(msg(4, "bob", toAlice, "/me waves", { replyTo: "abc" }));
        w.store.save(w.queue, false);
        w.store.applyEdit(4, "/me waves", NOW_EDIT); // the edit arrived in the same sync
      },
      out: [
        JSON.stringify([{
          seq: 4,
          id: "mid4xxxx",
          time: "2026-01-01T11:56:00Z",
          from: "bob",
          to: "alice",
          text: "/me waves",
          action: true,
          reply_to: "abc",
          edited: "2026-01-01T11:59:30Z",
        }]),
      ],
    },
    {
      name: "--since: history since then joins what is new",
      argv: ["read", "--room", "dev", "--since", "6m"],
      given: (w) => {
        w.pages.set("#dev", [msg(9, "dave", dev, "too old"), msg(5, "dave", dev, "recent")]);
        w.queue.push(msg(2, "carol", dev, "build green"));
      },
      out: ["2026-01-01T11:58:00Z carol -> #dev: build green", "2026-01-01T11:55:00Z dave -> #dev: recent"],
    },
  ]);
});

const NOW_EDIT = Date.UTC(2026, 0, 1, 11, 59, 30);

Deno.test("read: usage errors exit 2, other refusals 1, each one line on standard error", async () => {
  await table([
    {
      name: "two conversations",
      argv: ["read", "--from", "bob", "--room", "dev"],
      code: 2,
      err: ["parley: Use only one of --from, --room and --broadcast"],
    },
    {
      name: "a bad name",
      argv: ["read", "--room", "a b"],
      code: 2,
      err: ['parley: --room: "a b" is not a valid name'],
    },
    {
      name: "a bad time",
      argv: ["read", "--since", "someday"],
      code: 1,
      err: ['parley: "someday" is not a time (try 2h, 3d, 2026-01-31 or 1 Jun 2026 16:00)'],
    },
    {
      name: "--all needs a conversation",
      argv: ["read", "--all"],
      code: 2,
      err: [
        "parley: --all and --before page through one conversation: add --from USER, --room ROOM or --broadcast",
      ],
    },
    {
      name: "--before takes a seq",
      argv: ["read", "--room", "dev", "--before", "0"],
      code: 2,
      err: ['parley: --before takes a message\'s seq (a whole number above 0), not "0"'],
    },
    {
      name: "--all is not --follow",
      argv: ["read", "--room", "dev", "--all", "--follow"],
      code: 2,
      err: ["parley: --all and --before print history, not with --follow"],
    },
  ]);
});

Deno.test("read --before/--all: one page and where the older ones start; every page oldest first", async () => {
  await table([
    {
      name: "--before: the page and the next --before",
      argv: ["read", "--room", "dev", "--before", "8"],
      given: (w) =>
        w.pages.set("#dev", [
          msg(9, "dave", dev, "newer"),
          msg(7, "dave", dev, "b"),
          msg(6, "eve", dev, "a"),
        ]),
      out: ["2026-01-01T11:54:00Z eve -> #dev: a", "2026-01-01T11:53:00Z dave -> #dev: b"],
      err: ["Older messages: --before 6"],
      then: (w) => assert.deepEqual(w.acked, [], "--before leaves the queue for the next read"),
    },
    {
      name: "--before with nothing there",
      argv: ["read", "--room", "dev", "--before", "3"],
      err: ["No messages before seq 3"],
    },
    {
      name: "--all: pages and the queue, acknowledged",
      argv: ["read", "--from", "bob", "--all"],
      given: (w) => {
        w.pages.set("bob", [msg(7, "bob", toAlice, "old")]);
        w.queue.push(msg(8, "bob", toAlice, "new"), msg(2, "carol", dev, "elsewhere"));
      },
      out: ["2026-01-01T11:53:00Z bob -> alice: old", "2026-01-01T11:52:00Z bob -> alice: new"],
      then: (w) => assert.deepEqual(w.acked, [8]),
    },
  ]);
});

Deno.test("send: where and when it went (or JSON); the text as sent", async () => {
  await table([
    {
      name: "to a user",
      argv: ["send", "bob", "hello", "there"],
      out: ["Sent to bob at 2026-01-01T12:00:00Z"],
      then: (w) => assert.deepEqual(w.b.sent.map((m) => [m.to, m.text]), [[bob, "hello there"]]),
    },
    { name: "to a room", argv: ["send", "#dev", "green"], out: ["Sent to #dev at 2026-01-01T12:00:00Z"] },
    {
      name: "to everyone",
      argv: ["send", "--broadcast", "restart", "at", "noon"],
      out: ["Sent to * at 2026-01-01T12:00:00Z"],
      then: (w) => assert.equal(w.b.sent[0]?.text, "restart at noon"),
    },
    {
      name: "--json",
      argv: ["send", "--json", "bob", "x"],
      out: ['{"id":"s101","seq":101,"time":"2026-01-01T12:00:00Z","to":"bob"}'],
    },
    {
      name: "emoji converted, not with --raw",
      argv: ["send", "bob", ":rocket:"],
      out: ["Sent to bob at 2026-01-01T12:00:00Z"],
      then: (w) => assert.equal(w.b.sent[0]?.text, "\u{1F680}"),
    },
    {
      name: "--raw",
      argv: ["send", "--raw", "bob", ":rocket:"],
      out: ["Sent to bob at 2026-01-01T12:00:00Z"],
      then: (w) => assert.equal(w.b.sent[0]?.text, ":rocket:"),
    },
    {
      name: "--me",
      argv: ["send", "--me", "#dev", "deploys"],
      out: ["Sent to #dev at 2026-01-01T12:00:00Z"],
      then: (w) => assert.equal(w.b.sent[0]?.text, "/me deploys"),
    },
    {
      name: "--reply-to",
      argv: ["send", "--reply-to", "3kq0aZ8mXb1c", "bob", "yes"],
      out: ["Sent to bob at 2026-01-01T12:00:00Z"],
      then: (w) => assert.equal(w.b.sent[0]?.replyTo, "3kq0aZ8mXb1c"),
    },
  ]);
});

Deno.test("send: refusals before anything is sent, and the server's refusal, as one line", async () => {
  const none = (w: MemoryWorld) => assert.deepEqual(w.b.sent, []);
  await table([
    {
      name: "no target",
      argv: ["send"],
      code: 2,
      err: ["parley: Say who to send to: send USER TEXT, send '#ROOM' TEXT or send --broadcast TEXT"],
      then: none,
    },
    {
      name: "no text",
      argv: ["send", "bob"],
      code: 2,
      err: ["parley: There is no text to send"],
      then: none,
    },
    {
      name: "a bad --reply-to",
      argv: ["send", "--reply-to", "no!", "bob", "x"],
      code: 2,
      err: ["parley: --reply-to takes a message's id (read --json shows each message's id)"],
      then: none,
    },
    {
      name: "--lines with a text",
      argv: ["send", "--lines", "bob", "x"],
      code: 2,
      err: ["parley: --lines sends the lines of standard input: give - (or no text) as the text"],
      then: none,
    },
    {
      name: "the connection closed",
      argv: ["send", "bob", "x"],
      given: (w) => w.b.failures.set("send", new BackendError("closed", "The connection closed")),
      code: 1,
      err: ["parley: The connection closed"],
    },
  ]);
});

Deno.test("who and status: one line per person; the status said back", async () => {
  await table([
    {
      name: "who",
      argv: ["who"],
      given: (w) =>
        w.b.online = [
          {
            user: "bob",
            addr: "10.0.0.2:5000",
            since: Date.UTC(2026, 0, 1, 11),
            status: "busy",
            role: "admin",
          },
          { user: "carol", addr: "", since: Date.UTC(2026, 0, 1, 10), status: "free", role: "user" },
        ],
      out: [
        "bob              busy 10.0.0.2:5000          active since 2026-01-01T11:00:00Z admin",
        "carol            free -                      active since 2026-01-01T10:00:00Z",
      ],
    },
    { name: "status", argv: ["status", "busy"], out: ["Status: busy"] },
    {
      name: "a bad status",
      argv: ["status", "away"],
      code: 2,
      err: ['parley: Status is busy or free, not "away"'],
    },
  ]);
});
