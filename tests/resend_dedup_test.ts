/**
 * Issue 35: the server's de-duplication of a resend. A client whose reply was lost sends the same
 * message again under the same mid; the server must answer `dup: true` with the first copy's seq and
 * ts and keep one row, even when the resend arrives later and its ciphertext differs (a re-encryption).
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/common/clock.ts";
import { startTestServer } from "./helpers.ts";

Deno.test("send: a resend with the same sender and mid but a new ts and body is answered dup and stored once", async () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1));
  const t = await startTestServer({ quotaBytes: 100 }, { clock });
  try {
    const alice = await t.client("alice");
    await t.client("bob");
    const to = { kind: "user", name: "bob" };
    const mid = "resend-mid-0001";
    const enc = new TextEncoder();
    const first = await alice.conn.request("send", { to, mid }, enc.encode("first ciphertext"));
    assert.equal(first.header.dup, undefined, "the first copy is new");
    clock.advance(60_000); // the resend comes a minute later (a new server ts)...
    const again = await alice.conn.request(
      "send",
      { to, mid },
      enc.encode("re-encrypted, longer ciphertext"),
    );
    assert.equal(again.header.dup, true, "...and is answered as a duplicate");
    assert.deepEqual(
      [again.header.seq, again.header.ts],
      [first.header.seq, first.header.ts],
      "the first copy's seq and ts",
    );
    const rows = (await t.srv.core.store.since(0, 1000)).filter((m) => m.sender === "alice" && m.mid === mid);
    assert.equal(rows.length, 1, "one row for the mid");
    assert.equal(new TextDecoder().decode(rows[0]!.body), "first ciphertext", "the first body is kept");
    assert.equal(await t.srv.core.store.storedBytes("alice"), "first ciphertext".length);
    // The resend's quota reservation was given back: the rest of the 100 bytes still fits.
    const rest = new Uint8Array(100 - "first ciphertext".length);
    assert.equal(
      (await alice.conn.request("send", { to, mid: "resend-mid-0002" }, rest)).header.dup,
      undefined,
    );
  } finally {
    await t.stop();
  }
});
