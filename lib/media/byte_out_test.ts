import assert from "node:assert/strict";
import { ByteOut } from "./byte_out.ts";

Deno.test("ByteOut writes numbers, colours and bytes, grows past its first buffer, and copies out", () => {
  const o = new ByteOut(4);
  o.num(0);
  o.byte(0x20);
  o.num(255);
  o.byte(0x20);
  o.num(256);
  o.byte(0x20);
  o.num(123456);
  o.byte(0x20);
  o.rgb(0x0a14ff);
  o.put(new TextEncoder().encode("▀".repeat(10)));
  const text = new TextDecoder().decode(o.bytes());
  assert.equal(text, "0 255 256 123456 10;20;255" + "▀".repeat(10));
  const copy = o.bytes();
  o.reset();
  o.byte(0x41);
  assert.equal(new TextDecoder().decode(o.bytes()), "A");
  assert.equal(copy.length, text.length + 20, "an earlier copy is not changed by later writes");
});
