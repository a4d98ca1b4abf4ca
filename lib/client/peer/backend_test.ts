/** PeerBackend's typing (peer/backend.ts): client mode's gate, one "typing" per peer every 3 s, cleared by a send. */
import assert from "node:assert/strict";
import { ManualClock } from "../../common/clock.ts";
import { PeerBackend } from "./backend.ts";
import { testNode } from "./events_testing.ts";
import { TYPING_RESEND_MS } from "../core/typing.ts";

Deno.test("peer backend: typing goes at most once per peer every 3 s, a stop only while it may show, a send clears it", async () => {
  const clock = new ManualClock(1_000_000);
  const node = await testNode("alice", { clock });
  try {
    const said: string[] = [];
    node.typing = (peer, active) => void said.push(`${peer} ${active}`);
    const b = new PeerBackend(node);
    const bob = { kind: "user" as const, name: "bob" };
    b.typing.set(bob, true);
    b.typing.set(bob, true); // a keystroke later: not again
    clock.advance(TYPING_RESEND_MS);
    b.typing.set(bob, true);
    b.typing.set(bob, false);
    b.typing.set(bob, false); // nothing shows any more: no second stop
    b.typing.set(bob, true);
    await b.send(bob, "hi").catch(() => {}); // no such peer here: refused, the indicator is cleared all the same
    b.typing.set(bob, true);
    assert.deepEqual(said, ["bob true", "bob true", "bob false", "bob true", "bob true"]);
  } finally {
    await node.close();
  }
});
