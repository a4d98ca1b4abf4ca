/**
 * Forged DMs that are well formed but come from a user with no session (issue 33 point 10): the
 * receiver reports each once and acknowledges it, so the next `read` neither reports nor decrypts
 * them again — even when no real message follows them.
 */
import assert from "node:assert/strict";
import { inbox, startTestServer } from "./helpers.ts";

/** A v1 DM envelope around a "normal" session message (no X3DH header): parses, but needs a session. */
function sessionlessDm(): Uint8Array {
  const junk = crypto.getRandomValues(new Uint8Array(120));
  return Uint8Array.of(1, ...crypto.getRandomValues(new Uint8Array(16)), 1, 1, 1, ...junk);
}

Deno.test("E2E: forged DMs from a user with no session are reported once, then acknowledged (issue 33.10)", async () => {
  const t = await startTestServer();
  try {
    const home = `${t.dir}/home-bob-forged`; // removed with the server's folder
    const b1 = await t.e2eClient("bob", { home });
    await b1.client.close();
    const mallory = await t.client("mallory");
    for (let i = 0; i < 5; i++) {
      await mallory.conn.request(
        "send",
        { to: { kind: "user", name: "bob" }, mid: `nosession-${i}` },
        sessionlessDm(),
      );
    }
    const b2 = await t.e2eClient("bob", { home, register: false });
    const notes = inbox(b2.client);
    const first = await b2.client.sync();
    await b2.client.ack(first);
    assert.deepEqual(first, []);
    assert.equal(
      notes.notices.filter((n) => n.startsWith("Could not read message")).length,
      5,
      notes.notices.join("\n"),
    );
    await b2.client.close();
    // The next read: nothing comes back, nothing is reported again.
    const b3 = await t.e2eClient("bob", { home, register: false });
    const again = inbox(b3.client);
    assert.deepEqual(await b3.client.sync(), []);
    assert.deepEqual(again.notices.filter((n) => n.startsWith("Could not read")), [], "reported again");
  } finally {
    await t.stop();
  }
});
