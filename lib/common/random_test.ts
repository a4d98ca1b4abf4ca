import assert from "node:assert/strict";
import { randomId } from "./random.ts";

Deno.test("randomId is the source's bytes as lower-case hex, two digits each, leading zeros kept", () => {
  const src = (n: number) => Uint8Array.from({ length: n }, (_, i) => [0x00, 0x0a, 0xff, 0x10][i % 4]!);
  assert.equal(randomId(src, 4), "000aff10");
  assert.equal(randomId(src), "000aff10".repeat(4), "16 bytes by default");
  assert.match(randomId(), /^[0-9a-f]{32}$/);
  assert.notEqual(randomId(), randomId());
});
