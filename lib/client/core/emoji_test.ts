import assert from "node:assert/strict";
import { convertEmoji, emojiNames } from "./emoji.ts";

Deno.test("convertEmoji() converts the emoticons standing alone", () => {
  assert.equal(convertEmoji(":) :( :D ;) :P :["), "🙂 🙁 😃 😉 😛 🦇");
  assert.equal(convertEmoji("(L) (K) (8) (Y)"), "❤️ 💋 🎵 👍");
  assert.equal(convertEmoji("great :D!"), "great 😃!");
});

Deno.test("convertEmoji() leaves emoticon look-alikes inside words and URLs", () => {
  assert.equal(convertEmoji("see http://x.org/:Path f(8) a:)"), "see http://x.org/:Path f(8) a:)");
});

Deno.test("convertEmoji() converts known :name: shortcodes and keeps unknown ones", () => {
  assert.equal(convertEmoji("ship it :rocket: :no_such_emoji:"), "ship it 🚀 :no_such_emoji:");
  assert.equal(convertEmoji(":+1::heart:"), "👍❤️");
});

Deno.test("emojiNames() lists names by prefix, shortest first", () => {
  const names = emojiNames("rock");
  assert.ok(names.includes("rocket"));
  assert.ok(names.every((n) => n.startsWith("rock")));
  assert.deepEqual(emojiNames("zzzz_nothing"), []);
});

Deno.test("convertEmoji() converts :thumbsup:, :-) :-( ;-) and <3 (issue 14)", () => {
  assert.equal(convertEmoji("ok :thumbsup: :-) :-( ;-) <3"), "ok 👍 🙂 🙁 😉 ❤️");
  assert.equal(convertEmoji("a<3 b:-) x<3y"), "a<3 b:-) x<3y");
  assert.deepEqual(emojiNames("thu").slice(0, 2), ["thumbsup", "thumbsdown"]);
});
