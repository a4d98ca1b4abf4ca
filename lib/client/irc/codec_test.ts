/** Tables of the IRC codec (codec.ts) and the name mapping (names.ts). */
import assert from "node:assert/strict";
import {
  escapeTagValue,
  fromIrcText,
  type IrcMessage,
  LineReader,
  MAX_LINE,
  parseLine,
  serialize,
  splitText,
  toIrcText,
  unescapeTagValue,
} from "./codec.ts";
import { BROADCAST_CHANNEL, ircTarget, nickOf, parleyTarget, userOf } from "./names.ts";

Deno.test("irc codec: lines parse into tags, source, command and params", () => {
  const cases: [string, unknown][] = [
    ["PING x", { tags: {}, command: "PING", params: ["x"] }],
    ["privmsg #dev :hello there", { tags: {}, command: "PRIVMSG", params: ["#dev", "hello there"] }],
    [":a!b@c PRIVMSG bob :", { tags: {}, source: "a!b@c", command: "PRIVMSG", params: ["bob", ""] }],
    ["NICK  alice  ", { tags: {}, command: "NICK", params: ["alice"] }],
    ["USER a 0 * :Alice A\r\n", { tags: {}, command: "USER", params: ["a", "0", "*", "Alice A"] }],
    ["@+draft/reply=abc;time=2020 TAGMSG bob", {
      tags: { "+draft/reply": "abc", time: "2020" },
      command: "TAGMSG",
      params: ["bob"],
    }],
    ["@a=x\\sy\\:z\\\\;b PRIVMSG x :y", {
      tags: { a: "x y;z\\", b: "" },
      command: "PRIVMSG",
      params: ["x", "y"],
    }],
    ["001 a :b :c", { tags: {}, command: "001", params: ["a", "b :c"] }],
  ];
  for (const [line, want] of cases) {
    const r = parseLine(line);
    assert.ok(r.ok, line);
    assert.deepEqual(r.msg, want, line);
  }
});

Deno.test("irc codec: bad lines are refused with a reason", () => {
  const cases: [string, string][] = [
    ["", "empty"],
    ["   ", "empty"],
    ["@a=b", "malformed"],
    [":src", "malformed"],
    ["PRIV-MSG x", "malformed"],
    ["12 x", "malformed"],
    ["@bad!tag=1 PING x", "malformed"],
    ["X " + "a ".repeat(15) + "b", "malformed"],
    ["PRIVMSG x :" + "a".repeat(500), "input_too_long"],
    ["@a=" + "b".repeat(4093) + " PING x", "tags_too_long"],
  ];
  for (const [line, why] of cases) assert.deepEqual(parseLine(line), { ok: false, why }, line.slice(0, 40));
  // At the limits exactly: 510 bytes of body, 4094 of tags.
  const body = "PRIVMSG x :" + "é".repeat(249) + "a";
  assert.equal(new TextEncoder().encode(body).length, 510);
  assert.ok(parseLine(body).ok);
  assert.ok(parseLine("@a=" + "b".repeat(4091) + " PING x").ok);
});

Deno.test("irc codec: tag values escape and unescape (IRCv3 table)", () => {
  const cases: [string, string][] = [
    ["a;b c\\d\re\nf", "a\\:b\\sc\\\\d\\re\\nf"],
    ["", ""],
    ["plain", "plain"],
  ];
  for (const [v, wire] of cases) {
    assert.equal(escapeTagValue(v), wire);
    assert.equal(unescapeTagValue(wire), v);
  }
  assert.equal(unescapeTagValue("a\\b"), "ab", "an unknown escape drops the backslash");
  assert.equal(unescapeTagValue("ab\\"), "ab", "a trailing backslash is dropped");
});

Deno.test("irc codec: serialize writes what parse reads; bad middles throw", () => {
  const msgs: IrcMessage[] = [
    {
      tags: { time: "2026-01-01T00:00:00.000Z", "+draft/react": "👍 ;x" },
      source: "a!a@p",
      command: "PRIVMSG",
      params: ["#r", "hi :)"],
    },
    { tags: {}, command: "PRIVMSG", params: ["bob", ""] },
    { tags: {}, command: "PRIVMSG", params: ["bob", ":)"] },
    { tags: { batch: "" }, command: "001", params: ["alice", "Welcome"] },
  ];
  for (const m of msgs) {
    const r = parseLine(serialize(m));
    assert.ok(r.ok);
    assert.deepEqual(r.msg, m);
  }
  assert.throws(() => serialize({ tags: {}, command: "X", params: ["a b", "c"] }));
  assert.throws(() => serialize({ tags: {}, command: "X", params: ["a\r\nQUIT"] }));
});

Deno.test("irc codec: CTCP ACTION is Parley's /me; other CTCP is not a text", () => {
  assert.equal(fromIrcText("\x01ACTION waves\x01"), "/me waves");
  assert.equal(fromIrcText("\x01ACTION waves"), "/me waves");
  assert.equal(fromIrcText("\x01VERSION\x01"), null);
  assert.equal(fromIrcText("hello"), "hello");
  assert.equal(toIrcText("/me waves"), "\x01ACTION waves\x01");
  assert.equal(toIrcText("hello"), "hello");
});

Deno.test("irc codec: a long text is cut into lines that fit, on character boundaries", () => {
  assert.deepEqual(splitText("a\nb\r\n\nc", 10), ["a", "b", " ", "c"]);
  const parts = splitText("é".repeat(30), 7);
  assert.ok(parts.every((p) => new TextEncoder().encode(p).length <= 7));
  assert.equal(parts.join(""), "é".repeat(30));
  assert.deepEqual(splitText("hello world again", 12), ["hello world ", "again"]);
});

Deno.test("irc codec: LineReader splits lines byte at a time and drops an overlong one once", () => {
  const r = new LineReader();
  const got: unknown[] = [];
  for (const b of new TextEncoder().encode("PING a\r\nPING é\n")) got.push(...r.push(new Uint8Array([b])));
  assert.deepEqual(got, [{ line: "PING a" }, { line: "PING é" }]);
  const long = new Uint8Array(MAX_LINE + 100).fill(65);
  assert.deepEqual(r.push(long), [{ tooLong: true }]);
  assert.deepEqual(r.push(new Uint8Array(50).fill(65)), []);
  assert.deepEqual(r.push(new TextEncoder().encode("tail\nPING b\n")), [{ line: "PING b" }]);
});

Deno.test("irc names: Parley names map to nicks and channels and back", () => {
  const cases: [string, string][] = [["alice", "alice"], ["a.b", "a|b"], ["7up", "_7up"], ["x-y_z", "x-y_z"]];
  for (const [user, nick] of cases) {
    assert.equal(nickOf(user), nick);
    assert.equal(userOf(nick), user);
    assert.equal(userOf(nick.toUpperCase()), user);
  }
  assert.equal(userOf("_alice"), null, "no Parley name starts with _");
  assert.equal(userOf("a.b"), null, "a dot is no nick's");
  assert.deepEqual(parleyTarget("#dev.ops"), { kind: "room", name: "dev.ops" });
  assert.deepEqual(parleyTarget(BROADCAST_CHANNEL), { kind: "broadcast" });
  assert.deepEqual(parleyTarget("_7up"), { kind: "user", name: "7up" });
  assert.equal(parleyTarget("#bad room"), null);
  assert.equal(ircTarget({ kind: "room", name: "dev" }), "#dev");
  assert.equal(ircTarget({ kind: "user", name: "a.b" }), "a|b");
});
