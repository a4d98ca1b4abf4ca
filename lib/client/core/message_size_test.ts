import assert from "node:assert/strict";
import { BackendError } from "../backend.ts";
import {
  checkFrameSize,
  checkTextSize,
  isPermanentRefusal,
  payloadBytes,
  PER_COPY,
  textLimit,
} from "./message_size.ts";

const CAP = 1024 * 1024;

Deno.test("message_size: the limit shrinks with the copies a DM is sealed into, and the bound holds at it", () => {
  const one = textLimit(CAP, 1, true);
  const three = textLimit(CAP, 3, true);
  assert.ok(one > 700_000 && one < CAP, String(one));
  assert.ok(three < one / 2.9, `${three} vs ${one}`);
  for (const copies of [1, 2, 5]) {
    const p = textLimit(CAP, copies, true);
    const sealed = copies * (Math.ceil((p * 4) / 3) + PER_COPY) + 256;
    assert.ok(sealed <= CAP - 4096, `${copies} copies: ${sealed}`);
  }
  assert.equal(textLimit(CAP, 1, false), CAP - 4096, "plain: the text itself");
});

Deno.test("message_size: a text over the limit is refused with the limit; escapes count", () => {
  const limit = textLimit(CAP, 1, true);
  checkTextSize("x".repeat(limit - 2), CAP, 1, true); // the JSON quotes are the other two bytes
  const e = (() => {
    try {
      checkTextSize("x".repeat(1_500_000), CAP, 2, true);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(e instanceof BackendError && e.code === "frame_too_large");
  assert.match(e.message, new RegExp(`at most ${textLimit(CAP, 2, true)} bytes .* sealed for 2 devices`));
  assert.equal(payloadBytes("\n"), 4, "a newline is sent as \\n inside quotes");
  assert.throws(() => checkTextSize("\u0001".repeat(limit / 4), CAP, 1, true), /too long/);
  assert.ok(isPermanentRefusal(e));
  assert.ok(!isPermanentRefusal(new BackendError("rate_limited", "slow down")));
  assert.throws(() => checkFrameSize(CAP + 1, CAP, "y"), /frames of at most 1048576 bytes/);
  checkFrameSize(CAP, CAP, "y");
});
