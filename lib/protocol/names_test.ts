import assert from "node:assert/strict";
import { normalizeName, withoutHash } from "./names.ts";

Deno.test("withoutHash: drops one leading # of a typed room name, nothing else", () => {
  assert.deepEqual(["#dev", "dev", "##dev", "", "a#b"].map(withoutHash), ["dev", "dev", "#dev", "", "a#b"]);
});

Deno.test("normalizeName: NFKC, lower case, one leading # dropped, ASCII rule", () => {
  assert.deepEqual(["#Dev", "ＤＥＶ", "＃dev", "##dev", "dév"].map(normalizeName), [
    "dev",
    "dev",
    "dev",
    null,
    null,
  ]);
});
