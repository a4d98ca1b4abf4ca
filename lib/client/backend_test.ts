/**
 * `ChatBackend`'s size (issue 70): its optional members are counted, so that one more cannot come back
 * silently — a new behaviour belongs in a capability object of backend.ts `Capabilities` (owned
 * state: `changes`, `files`, `rooms`…), not as one more optional method the surfaces test one by one.
 */
import assert from "node:assert/strict";
import { CAPABILITIES } from "./backend.ts";
import { OPTIONAL_MEMBERS } from "./backend_conformance.ts";

Deno.test("ChatBackend: its optional members are counted; capabilities group the rest", () => {
  assert.equal(
    OPTIONAL_MEMBERS.length,
    23,
    "an optional member was added or removed: group it in a capability object, then change this count",
  );
  assert.ok(CAPABILITIES.includes("changes"), "edits, reactions and disappearing times are one capability");
  for (const m of ["changeMessage", "react", "editsOf", "setExpiry", "expiry"]) {
    assert.ok(!(OPTIONAL_MEMBERS as string[]).includes(m), `${m} is the changes capability's`);
  }
  for (const m of ["catchUp", "markSeen", "read"]) {
    assert.ok(!(OPTIONAL_MEMBERS as string[]).includes(m), `${m} is the feed capability's`);
  }
  for (const m of ["pendingCount", "dropOutbox"]) {
    assert.ok(!(OPTIONAL_MEMBERS as string[]).includes(m), `${m} is the outbox capability's`);
  }
});
