/**
 * Safety-number verification binds to the key the user compared (issue 33 point 1), through a real
 * server (port 0, TLS) that turns hostile between the comparison and the `verify`: it serves
 * another key for the contact, and `verify` must neither pin nor print that key.
 */
import assert from "node:assert/strict";
import type { BackendError } from "../lib/client/backend.ts";
import { sameIdentity } from "../lib/crypto/identity.ts";
import { ensureDeviceKeys } from "../lib/crypto/keystore.ts";
import { MemoryCryptoStore } from "../lib/crypto/state_store.ts";
import { startTestServer } from "./helpers.ts";

Deno.test("E2E verify: a key the server swaps in after the numbers were compared is not verified", async () => {
  const t = await startTestServer();
  try {
    let a = await t.e2eClient("alice");
    await t.e2eClient("bob");
    // alice reads the safety number to bob on the phone; it matches.
    const compared = await a.client.fingerprint("bob");
    const real = (await a.codec.dm.contact("bob"))!.identity;
    await a.client.close(); // one scripted command ends; the next starts afresh
    a = await t.e2eClient("alice", { register: false });
    // Now the server puts its own key in bob's directory entry, and alice's client fetches it.
    const mallory = (await ensureDeviceKeys(new MemoryCryptoStore(), Date.now(), 5))!;
    await t.srv.core.store.putIdentity("bob", JSON.stringify(mallory.identity), JSON.stringify(mallory.spk));
    await t.srv.core.store.addPrekeys("bob", mallory.opks);
    await assert.rejects(() => a.client.send({ kind: "user", name: "bob" }, "hello"), /changed/);
    // alice, having compared the number, types `verify bob`: refused, nothing pinned.
    await assert.rejects(() => a.client.verify("bob"), (e: BackendError) => e.code === "key_changed");
    const c = (await a.codec.dm.contact("bob"))!;
    assert.ok(sameIdentity(c.identity, real), "the pinned key is still bob's");
    assert.equal(c.verified, false);
    // She looks again and sees another number; she still holds the one bob confirmed.
    const swapped = await a.client.fingerprint("bob");
    assert.notEqual(swapped.safetyNumber, compared.safetyNumber);
    await assert.rejects(
      () => a.client.verify("bob", compared.safetyNumber!.slice(0, 20)),
      /not a safety number/,
    );
    // …with the number she compared, exactly bob's key is verified, and that number is printed.
    const v = await a.client.verify("bob", compared.safetyNumber!);
    assert.equal(v.safetyNumber, compared.safetyNumber);
    assert.notEqual(v.safetyNumber, swapped.safetyNumber);
    const after = (await a.codec.dm.contact("bob"))!;
    assert.ok(sameIdentity(after.identity, real) && after.verified && !after.pending, JSON.stringify(after));
    // A number that is no key's is refused, and so is a plain verify once the key changed again.
    await assert.rejects(
      () => a.client.verify("bob", "1".repeat(60)),
      (e: BackendError) => e.code === "number_mismatch",
    );
    await assert.rejects(() => a.client.send({ kind: "user", name: "bob" }, "hello"), /changed/);
    await assert.rejects(() => a.client.verify("bob"), (e: BackendError) => e.code === "key_changed");
    assert.ok(sameIdentity((await a.codec.dm.contact("bob"))!.identity, real));
  } finally {
    await t.stop();
  }
});

Deno.test("E2E verify: without a number, verify binds to the key whose number was shown last", async () => {
  const t = await startTestServer();
  try {
    let a = await t.e2eClient("alice");
    await t.e2eClient("bob");
    await a.client.send({ kind: "user", name: "bob" }, "first contact"); // pins bob's key unseen
    // Nothing was shown yet: there is nothing the user can have compared.
    await assert.rejects(() => a.client.verify("bob"), (e: BackendError) => e.code === "not_compared");
    const shown = await a.client.fingerprint("bob");
    const mallory = (await ensureDeviceKeys(new MemoryCryptoStore(), Date.now(), 5))!;
    await t.srv.core.store.putIdentity("bob", JSON.stringify(mallory.identity), JSON.stringify(mallory.spk));
    await t.srv.core.store.addPrekeys("bob", mallory.opks);
    // alice's client needs a new session (say bob added a device): it fetches the server's key,
    // which waits as pending; the user never saw its number, so the plain verify that follows the
    // comparison pins nothing.
    const before = await a.codec.dm.contact("bob");
    await a.codec.dm.store.commit({ put: {}, del: ["session:bob"] });
    await a.client.close();
    a = await t.e2eClient("alice", { register: false });
    await assert.rejects(() => a.client.send({ kind: "user", name: "bob" }, "again"), /changed/);
    await assert.rejects(() => a.client.verify("bob"), (e: BackendError) => e.code === "key_changed");
    const c = (await a.codec.dm.contact("bob"))!;
    assert.ok(sameIdentity(c.identity, before!.identity) && !c.verified);
    // Trust without a number is refused too (the key changed since the number shown)…
    await assert.rejects(() => a.client.commands.trust("bob"), (e: BackendError) => e.code === "key_changed");
    // …and after showing the new number, trust pins exactly it and prints it.
    const now = await a.client.fingerprint("bob");
    assert.notEqual(now.safetyNumber, shown.safetyNumber);
    const tr = await a.client.commands.trust("bob");
    assert.equal(tr.safetyNumber, now.safetyNumber);
    assert.ok(sameIdentity((await a.codec.dm.contact("bob"))!.identity, mallory.identity));
  } finally {
    await t.stop();
  }
});
