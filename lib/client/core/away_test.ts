import assert from "node:assert/strict";
import { utf8 } from "../../common/bytes.ts";
import type { ChatMessage } from "../backend.ts";
import { AWAY_ASKED_MS, AwayReplies, decodeAway, encodeAway } from "./away.ts";
import type { SendHost } from "./sending.ts";

Deno.test("away: the signal's payload round-trips; a malformed, empty, multi-line, too long or re-sent one is nothing", () => {
  assert.equal(decodeAway(encodeAway("m1", "gone for lunch"), "m1"), "gone for lunch");
  assert.equal(decodeAway(encodeAway("m1", "gone"), "m2"), null, "under another mid (replayed)");
  assert.equal(decodeAway(encodeAway("m1", ""), "m1"), null);
  assert.equal(decodeAway(encodeAway("m1", "a\nb"), "m1"), null);
  assert.equal(decodeAway(encodeAway("m1", "x".repeat(301)), "m1"), null);
  assert.equal(decodeAway(encodeAway("m1", "x".repeat(300)), "m1"), "x".repeat(300));
  assert.equal(decodeAway(utf8.encode('{"v":1,"k":"away","mid":"m1","text":3}'), "m1"), null);
  assert.equal(decodeAway(utf8.encode('{"v":1,"k":"typing","mid":"m1","active":true}'), "m1"), null);
  assert.equal(decodeAway(new Uint8Array([0xff, 0xfe]), "m1"), null);
});

Deno.test("away: only a live direct text of someone else is answered, once per sender (any case) and reason", async () => {
  const signals: string[] = [];
  const h = {
    user: "alice",
    clock: { now: () => 1 },
    codec: {
      sealSignal: (to: { name?: string }, p: Uint8Array) => {
        signals.push(`${to.name}:${new TextDecoder().decode(p)}`);
        return Promise.resolve(null); // nobody to seal for: nothing goes out, and no error
      },
    },
    opened: () => Promise.resolve(),
    session: { sends: {} }, // ids of the core's own
  } as unknown as SendHost;
  const away = new AwayReplies(h);
  const dm = (o: Partial<ChatMessage>): ChatMessage => ({
    seq: 5,
    mid: "m",
    ts: 1,
    from: "bob",
    to: { kind: "user", name: "alice" },
    text: "hi",
    ...o,
  });
  await away.answer(dm({}));
  assert.equal(signals.length, 0, "no reason: nothing");
  assert.throws(() => away.set("a\nb"), /An away reason is one line/);
  away.set("lunch");
  for (
    const m of [
      dm({ from: "alice", to: { kind: "user", name: "bob" } }), // my other device's DM
      dm({ replay: true }),
      dm({ setting: true }),
      dm({ seq: 0 }),
      dm({ to: { kind: "room", name: "dev" } }),
      dm({ to: { kind: "broadcast" } }),
    ]
  ) await away.answer(m);
  assert.equal(signals.length, 0, "none of these is answered");
  await away.answer(dm({}));
  await away.answer(dm({ from: "Bob" }));
  assert.equal(signals.length, 1, "once per sender, names in any case");
  assert.match(signals[0]!, /^bob:\{"v":1,"k":"away","mid":"[^"]+","text":"lunch"\}$/);
  away.set("lunch");
  await away.answer(dm({}));
  assert.equal(signals.length, 1, "the same reason set again is no news");
  away.set("meeting");
  await away.answer(dm({}));
  assert.equal(signals.length, 2, "a new reason is told again");
  const sealSignal = (h.codec as { sealSignal: unknown }).sealSignal;
  (h.codec as { sealSignal: unknown }).sealSignal = () => Promise.reject(new Error("connection lost"));
  await assert.rejects(() => away.answer(dm({ from: "carol" })), /connection lost/);
  (h.codec as { sealSignal: unknown }).sealSignal = sealSignal;
  await away.answer(dm({ from: "carol" }));
  assert.equal(signals.at(-1)?.startsWith("carol:"), true, "not sent the first time: told on the next");
});

Deno.test("away (issue 69 A1): a reply is expected only after a direct text to its sender, within the bound, once", async () => {
  let now = 1_000_000;
  const h = { user: "alice", clock: { now: () => now } } as unknown as SendHost;
  const away = new AwayReplies(h);
  assert.equal(away.expects("mallory"), false, "nobody asked mallory");
  away.sent("Bob");
  assert.equal(away.expects("bob"), true, "a DM sent bob: his reply (any case)");
  assert.equal(away.expects("bob"), false, "one reply per ask");
  away.sent("bob");
  now += AWAY_ASKED_MS + 1;
  assert.equal(away.expects("bob"), false, "too long ago");
  const mine = {
    seq: 9,
    mid: "m9",
    ts: now,
    from: "alice",
    to: { kind: "user" as const, name: "carol" },
    text: "hi",
  };
  await away.answer(mine); // a DM of mine from another device, arriving here
  assert.equal(away.expects("carol"), true, "one's other device asked carol");
});
