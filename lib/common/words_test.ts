import assert from "node:assert/strict";
import { agree, counted } from "./words.ts";

Deno.test("counted and agree: singular for exactly 1, plural otherwise, irregular plurals given", () => {
  assert.equal(counted(1, "message"), "1 message");
  assert.equal(counted(0, "message"), "0 messages");
  assert.equal(counted(2, "file"), "2 files");
  assert.equal(agree(1, "is", "are"), "is");
  assert.equal(agree(3, "is", "are"), "are");
  assert.equal(agree(2, "peer"), "peers");
});
