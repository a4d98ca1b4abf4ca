import assert from "node:assert/strict";
import { argKind, arity, findCommand, helpLines, parseLine } from "./parse.ts";
import { COMMANDS } from "./commands.ts";
import { parseDuration, parseSince } from "../../common/parse_time.ts";

const known = new Set(["bob", "carol"]);
const opts = { role: "user" as const, isUser: (n: string) => known.has(n) };
const admin = { ...opts, role: "admin" as const };

Deno.test("parseLine() sends plain text and //text as text", () => {
  assert.deepEqual(parseLine("hello", opts), { kind: "text", text: "hello" });
  assert.deepEqual(parseLine("//etc/hosts is a path", opts), { kind: "text", text: "/etc/hosts is a path" });
  assert.deepEqual(parseLine("   ", opts), { kind: "empty" });
});

Deno.test("parseLine() never sends an unknown command as text", () => {
  const p = parseLine("/frobnicate now", opts);
  assert.equal(p.kind, "error");
  assert.match((p as { message: string }).message, /Unknown command \/frobnicate/);
});

Deno.test("parseLine() reads USER: text as a DM only for known users", () => {
  assert.deepEqual(parseLine("bob: hi there", opts), { kind: "dm", user: "bob", text: "hi there" });
  assert.deepEqual(parseLine("bob:hi", opts), { kind: "dm", user: "bob", text: "hi" });
  assert.deepEqual(parseLine("note: buy milk", opts), { kind: "text", text: "note: buy milk" });
  assert.deepEqual(parseLine("bob:", opts), { kind: "text", text: "bob:" });
  assert.deepEqual(parseLine("https://x.org", opts), { kind: "text", text: "https://x.org" });
  const inRoom = { ...opts, inConversation: true };
  assert.deepEqual(parseLine("bob: hi there", inRoom), { kind: "text", text: "bob: hi there" });
});

Deno.test("parseLine() splits command arguments by the table's usage", () => {
  const msg = parseLine("/msg bob hello   world", opts);
  assert.equal(msg.kind, "command");
  assert.deepEqual((msg as { args: string[] }).args, ["bob", "hello   world"]);
  const room = parseLine("/room create team bob carol", opts);
  assert.deepEqual((room as { args: string[] }).args, ["create", "team", "bob carol"]);
  const kick = parseLine("/kick bob 600", admin);
  assert.deepEqual((kick as { args: string[] }).args, ["bob", "600"]);
  assert.equal(parseLine("/AWAY", opts).kind, "command");
});

Deno.test("parseLine() reports usage for wrong argument counts", () => {
  assert.deepEqual(parseLine("/msg bob", opts), { kind: "error", message: "Usage: /msg USER|#ROOM TEXT" });
  assert.deepEqual(parseLine("/whois", opts), { kind: "error", message: "Usage: /whois USER" });
  assert.deepEqual(parseLine("/who extra", opts), { kind: "error", message: "Usage: /who" });
  assert.deepEqual(parseLine("/ban bob", admin), {
    kind: "error",
    message: "Usage: /ban USER DURATION [REASON…]",
  });
});

Deno.test("parseLine() refuses admin commands to users", () => {
  for (const c of ["/kick bob", "/ban bob 60", "/kicked", "/grant bob", "/revoke bob"]) {
    assert.equal(parseLine(c, opts).kind, "error", c);
    assert.equal(parseLine(c, admin).kind, "command", c);
  }
  // IRC's /kick takes someone out of a channel: a user is told what does that here.
  assert.deepEqual(parseLine("/kick bob", opts), {
    kind: "error",
    message: "/kick needs admin rights (to take someone out of a room you administer: /room kick ROOM USER)",
  });
  assert.deepEqual(parseLine("/grant bob", opts), { kind: "error", message: "/grant needs admin rights" });
});

Deno.test("COMMANDS has one row per required command with usage, help and permission", () => {
  // Every existing name stays (adding a command is one new row; names are never renamed).
  const want =
    "help msg query join part room invite who whois busy free broadcast history inbox kick ban kicked grant revoke fingerprint verify trust videos play stream accept stop quit";
  const names = COMMANDS.map((c) => c.name);
  for (const n of want.split(" ")) assert.ok(names.includes(n), `/${n} is missing`);
  const all = COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  assert.equal(new Set(all).size, all.length, "names and aliases are unique");
  for (const c of COMMANDS) assert.ok(c.help && (c.permission === "user" || c.permission === "admin"));
  assert.deepEqual(arity("USER [SECONDS]"), { min: 1, max: 2, rest: false });
  assert.deepEqual(arity("create NAME USER…"), { min: 3, max: 3, rest: true });
});

Deno.test("helpLines() lists commands for the role and explains one", () => {
  const user = helpLines("user").join("\n");
  assert.match(user, /\/msg USER\|#ROOM TEXT/);
  assert.doesNotMatch(user, /\/grant/);
  assert.match(helpLines("admin").join("\n"), /\/grant USER/);
  // The screen shows the end of the list: it says how to read the rest, and the keys come apart.
  assert.match(
    helpLines("user").at(-1)!,
    /^\d+ commands, from the top \(PgUp\); \/help COMMAND explains one, \/help keys lists the keys$/,
  );
  assert.doesNotMatch(user, /Ctrl-N, Ctrl-P/);
  assert.equal(helpLines("user", "keys")[0], "Keys:");
  assert.deepEqual(helpLines("user", "away"), [
    "/away [REASON…]",
    "  As on IRC: with REASON, /busy REASON; alone, back (/free) when you are busy, else /busy",
  ]);
});

Deno.test("parseDuration() and parseSince() read seconds, units and dates", () => {
  assert.equal(parseDuration("600"), 600_000);
  assert.equal(parseDuration("10m"), 600_000);
  assert.equal(parseDuration("2h"), 7_200_000);
  assert.throws(() => parseDuration("soon"), /not a duration/);
  const now = Date.UTC(2026, 0, 2);
  assert.equal(parseSince("1d", now), Date.UTC(2026, 0, 1));
  assert.equal(parseSince("2026-01-01", now), Date.UTC(2026, 0, 1));
  assert.equal(parseSince("2026-01-01T10:30", now), Date.UTC(2026, 0, 1, 10, 30));
  assert.throws(() => parseSince("yesterday", now), /not a time/);
});

Deno.test("parseSince() is the one grammar of /history and `read --since`: zones and seconds too", () => {
  const now = Date.UTC(2026, 1, 2); // after the times below: a time ahead of now is refused (parse_time_test.ts)
  assert.equal(parseSince("2026-01-31T12:00:00Z", now), Date.UTC(2026, 0, 31, 12));
  assert.equal(parseSince("2026-01-31T12:00:00.250Z", now), Date.UTC(2026, 0, 31, 12, 0, 0, 250));
  assert.equal(parseSince("2026-01-31T14:00:00+02:00", now), Date.UTC(2026, 0, 31, 12));
  assert.equal(parseSince("2026-01-31T12:00:07", now), Date.UTC(2026, 0, 31, 12, 0, 7));
  for (const bad of ["2026-01-31 junk", "2026-13-45", "2026-01-31T12:00:00Q"]) {
    assert.throws(() => parseSince(bad, now), /not a time/, bad);
  }
});

Deno.test("parseLine(): /send-file names a file send; /send stays its alias and says so (one vocabulary)", async () => {
  const printed: string[] = [];
  const ran: string[][] = [];
  const sendFile = COMMANDS.find((c) => c.name === "send-file")!;
  assert.ok(sendFile.aliases?.includes("send"));
  const commands = [{ ...sendFile, run: (_c: unknown, a: string[]) => void ran.push(a) }];
  const ctx = { print: (t: string) => printed.push(t) } as unknown as Parameters<typeof sendFile.run>[0];
  for (const line of ["/send-file bob 2", "/send bob notes.txt"]) {
    const p = parseLine(line, { ...opts, commands });
    assert.ok(p.kind === "command" && p.spec.name === "send-file", line);
    await p.spec.run(ctx, p.args);
  }
  assert.deepEqual(ran, [["bob", "2"], ["bob", "notes.txt"]]);
  assert.equal(printed.length, 1, "only the old name prints the hint");
  assert.match(printed[0]!, /\/send-file/);
});

Deno.test("argKind() reads #ROOM|@USER (/watch-together) as a room or an @user", () => {
  const spec = findCommand("watch-together")!;
  assert.equal(argKind(spec, 0), "conv");
  assert.equal(argKind(spec, 1), "video");
  assert.equal(argKind(findCommand("msg")!, 0), "user");
  assert.equal(argKind(findCommand("mute")!, 0), "conv", "/mute: a room or a user");
  assert.equal(argKind(findCommand("names")!, 0), "room");
});
