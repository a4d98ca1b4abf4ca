import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import { decodeTyping, encodeTyping, TYPING_RESEND_MS, TYPING_SHOWN_MS, TypingGate } from "./typing.ts";

Deno.test("TypingGate: at most one 'typing' per conversation every 3 s, each conversation on its own", () => {
  const clock = new ManualClock();
  const g = new TypingGate(clock);
  assert.equal(g.allow("user:bob", true), true);
  clock.advance(TYPING_RESEND_MS - 1);
  assert.equal(g.allow("user:bob", true), false, "within 3 s: nothing new goes out");
  assert.equal(g.allow("room:dev", true), true, "another conversation is not held back");
  clock.advance(1);
  assert.equal(g.allow("user:bob", true), true, "after 3 s it is sent again");
  assert.equal(g.allow("user:bob", true), false);
});

Deno.test("TypingGate: 'stopped' goes out only while the last 'typing' may still show (6 s)", () => {
  const clock = new ManualClock();
  const g = new TypingGate(clock);
  assert.equal(g.allow("user:bob", false), false, "nothing was typed: no stop");
  g.allow("user:bob", true);
  clock.advance(TYPING_SHOWN_MS - 1);
  assert.equal(g.allow("user:bob", false), true, "shown still: the stop clears it");
  assert.equal(g.allow("user:bob", false), false, "one stop only");
  g.allow("user:bob", true);
  clock.advance(TYPING_SHOWN_MS);
  assert.equal(g.allow("user:bob", false), false, "after 6 s the receiver cleared it by itself");
  // after a stop, typing again is sent at once (not held for 3 s)
  g.allow("user:bob", true);
  clock.advance(100);
  g.allow("user:bob", false);
  assert.equal(g.allow("user:bob", true), true);
});

Deno.test("TypingGate: a sent message clears the conversation: no stop follows, the next keystroke types again", () => {
  const clock = new ManualClock();
  const g = new TypingGate(clock);
  g.allow("user:bob", true);
  clock.advance(500);
  g.sent("user:bob");
  assert.equal(g.allow("user:bob", false), false, "the message itself clears it at the receiver");
  assert.equal(g.allow("user:bob", true), true, "typing the next message shows at once");
});

Deno.test("typing payload: bound to its message id, anything else is not a typing event", () => {
  assert.deepEqual(decodeTyping(encodeTyping("m1234567", true), "m1234567"), { active: true });
  assert.deepEqual(decodeTyping(encodeTyping("m1234567", false), "m1234567"), { active: false });
  assert.equal(decodeTyping(encodeTyping("m1234567", true), "other123"), null, "replayed under another id");
  assert.equal(
    decodeTyping(new TextEncoder().encode('{"v":1,"k":"text","mid":"m1","text":"hi"}'), "m1"),
    null,
  );
  assert.equal(decodeTyping(new Uint8Array([0xff, 0x00]), "m1"), null);
});
