/** core/action.ts: the "/me " marker is an action only with something after it; lists show "* alice waves". */
import assert from "node:assert/strict";
import { actionOf, asAction, saidBy } from "./action.ts";

Deno.test("actions: '/me waves' is alice waving; '/me' alone, '/mean' and ' /me x' are plain text", () => {
  assert.equal(actionOf(asAction("waves")), "waves");
  assert.equal(actionOf("/me waves\nand smiles"), "waves\nand smiles");
  for (const plain of ["/me", "/me ", "/me   ", "/mean it", " /me x", "hi /me x", "/ME shouts"]) {
    assert.equal(actionOf(plain), null, plain);
  }
  assert.equal(saidBy("alice", "/me waves"), "* alice waves");
  assert.equal(saidBy("alice", "hi"), "alice: hi");
});
