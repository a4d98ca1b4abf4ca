import assert from "node:assert/strict";
import { utf8 } from "../common/bytes.ts";
import { ManualClock } from "../common/clock.ts";
import { flipBit } from "./_test_util.ts";
import { DmManager, KeyChangedError, NoSessionError } from "./dm.ts";
import { ensureDeviceKeys, type PrekeyUpload, rotateSignedPrekeyIfDue } from "./keystore.ts";
import type { PrekeyBundle } from "./prekeys.ts";
import { DecryptError } from "./primitives.ts";
import { ReplayError } from "./ratchet.ts";
import { MemoryCryptoStore } from "./state_store.ts";
import { BadBundleError } from "./x3dh.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const clock = new ManualClock();

/** A fake server: hands out each one-time prekey once. */
function bundleFrom(up: PrekeyUpload): PrekeyBundle {
  const opk = up.opks.shift();
  return opk ? { identity: up.identity, spk: up.spk, opk } : { identity: up.identity, spk: up.spk };
}

async function user(name: string) {
  const store = new MemoryCryptoStore();
  const up = (await ensureDeviceKeys(store, clock.now(), 3))!;
  return { name, store, up, dm: new DmManager({ store, me: name, clock }) };
}

Deno.test("DmManager first contact, reply and TOFU pinning", async () => {
  const alice = await user("alice");
  const bob = await user("bob");
  await assert.rejects(alice.dm.encryptDm("bob", null, utf8.encode("x")), NoSessionError);
  const e1 = await alice.dm.encryptDm("bob", bundleFrom(bob.up), utf8.encode("hello bob"));
  const e2 = await alice.dm.encryptDm("bob", null, utf8.encode("still there?"));
  assert.equal(dec(await bob.dm.decryptDm("alice", e2)), "still there?");
  assert.equal(dec(await bob.dm.decryptDm("alice", e1)), "hello bob");
  assert.equal(bob.store.get("opk:1"), undefined);
  const r = await bob.dm.encryptDm("alice", null, utf8.encode("hi alice"));
  assert.equal(dec(await alice.dm.decryptDm("bob", r)), "hi alice");
  assert.equal((await alice.dm.contact("bob"))!.identity.sign, bob.up.identity.sign);
  assert.equal((await bob.dm.contact("alice"))!.identity.sign, alice.up.identity.sign);
  assert.equal(await alice.dm.safetyNumber("bob"), await bob.dm.safetyNumber("alice"));
});

Deno.test("DmManager.accept(): the key verified, accepted again unverified, stays verified; another key is not", async () => {
  const alice = await user("alice");
  const bob = await user("bob");
  await alice.dm.encryptDm("bob", bundleFrom(bob.up), utf8.encode("hi"));
  await alice.dm.accept("bob", bob.up.identity, true);
  await alice.dm.accept("bob", bob.up.identity, false);
  assert.equal((await alice.dm.contact("bob"))!.verified, true);
  await alice.dm.accept("bob", (await user("bob")).up.identity, false);
  assert.equal((await alice.dm.contact("bob"))!.verified, false);
});

Deno.test("DmManager.decryptDm() rejects replays, bit flips and re-addressed envelopes with state unchanged", async () => {
  const alice = await user("alice");
  const bob = await user("bob");
  const carol = await user("carol");
  const e1 = await alice.dm.encryptDm("bob", bundleFrom(bob.up), utf8.encode("one"));
  await bob.dm.decryptDm("alice", e1);
  const e2 = await alice.dm.encryptDm("bob", null, utf8.encode("two"));
  const snap = bob.store.snapshot();
  await assert.rejects(bob.dm.decryptDm("alice", e1), ReplayError);
  for (const bit of [5, 20 * 8, (e2.length - 2) * 8]) {
    await assert.rejects(bob.dm.decryptDm("alice", flipBit(e2, bit)));
  }
  await assert.rejects(bob.dm.decryptDm("carol", e2), DecryptError);
  assert.equal(bob.store.snapshot(), snap, "replays and bit flips change nothing");
  // An envelope from another conversation spliced in: refused, and (unlike before) it does not mark
  // alice's key as changed — a key counts as changed only when a message decrypts under it.
  const c1 = await carol.dm.encryptDm("bob", bundleFrom(bob.up), utf8.encode("carol"));
  await assert.rejects(bob.dm.decryptDm("alice", c1), DecryptError);
  assert.equal(bob.store.snapshot(), snap, "state unchanged, no pending key");
  assert.equal((await bob.dm.contact("alice"))!.pending, undefined);
  assert.equal(dec(await bob.dm.decryptDm("alice", e2)), "two");
  await assert.rejects(bob.dm.decryptDm("alice", e2), ReplayError);
});

Deno.test("DmManager: the recipient is bound into the DM's associated data", async () => {
  const alice = await user("alice");
  const bob = await user("bob");
  const e1 = await alice.dm.encryptDm("bob", bundleFrom(bob.up), utf8.encode("for bob"));
  const e2 = await alice.dm.encryptDm("bob", null, utf8.encode("still for bob"));
  // Bob's keys under another name: an envelope addressed to bob does not open as someone else's.
  const notBob = new DmManager({ store: bob.store, me: "bobby", clock });
  await assert.rejects(notBob.decryptDm("alice", e1), DecryptError);
  assert.equal(dec(await bob.dm.decryptDm("alice", e1)), "for bob");
  await assert.rejects(notBob.decryptDm("alice", e2), DecryptError);
  assert.equal(dec(await bob.dm.decryptDm("alice", e2)), "still for bob");
});

Deno.test("DmManager blocks a changed identity key until trust() and reports both safety numbers", async () => {
  const alice = await user("alice");
  const bob = await user("bob");
  await bob.dm.decryptDm("alice", await alice.dm.encryptDm("bob", bundleFrom(bob.up), utf8.encode("hi")));
  const oldNumber = await alice.dm.safetyNumber("bob");
  // Bob reinstalls: new identity, new prekeys.
  const bob2 = await user("bob");
  const e = await alice.dm.encryptDm("bob", null, utf8.encode("on the old session")); // old session still used
  await assert.rejects(bob2.dm.decryptDm("alice", e), DecryptError);
  const fresh = await bob2.dm.encryptDm("alice", bundleFrom(alice.up), utf8.encode("new me"));
  const err = await alice.dm.decryptDm("bob", fresh).catch((x) => x);
  assert.ok(err instanceof KeyChangedError);
  assert.equal(err.oldSafetyNumber, oldNumber);
  assert.notEqual(err.newSafetyNumber, oldNumber);
  await assert.rejects(alice.dm.encryptDm("bob", null, utf8.encode("blocked")), KeyChangedError);
  await alice.dm.trust("bob");
  assert.equal(dec(await alice.dm.decryptDm("bob", fresh)), "new me");
  const back = await alice.dm.encryptDm("bob", null, utf8.encode("welcome back"));
  assert.equal(dec(await bob2.dm.decryptDm("alice", back)), "welcome back");
  await alice.dm.verify("bob");
  assert.equal((await alice.dm.contact("bob"))!.verified, true);
});

Deno.test("DmManager.encryptDm() refuses a bad bundle and a bundle with a different pinned identity", async () => {
  const alice = await user("alice");
  const bob = await user("bob");
  const mallory = await user("mallory");
  const b = bundleFrom(bob.up);
  await assert.rejects(
    alice.dm.encryptDm("bob", { ...b, spk: { ...b.spk, sig: mallory.up.spk.sig } }, utf8.encode("x")),
    BadBundleError,
  );
  await alice.dm.encryptDm("bob", b, utf8.encode("x"));
  alice.store.commit({ put: {}, del: ["session:bob"] });
  await assert.rejects(alice.dm.encryptDm("bob", bundleFrom(mallory.up), utf8.encode("x")), KeyChangedError);
});

Deno.test("DmManager converges when both sides start a session at once", async () => {
  const alice = await user("alice");
  const bob = await user("bob");
  const fromA = await alice.dm.encryptDm("bob", bundleFrom(bob.up), utf8.encode("a1"));
  const fromB = await bob.dm.encryptDm("alice", bundleFrom(alice.up), utf8.encode("b1"));
  assert.equal(dec(await bob.dm.decryptDm("alice", fromA)), "a1");
  assert.equal(dec(await alice.dm.decryptDm("bob", fromB)), "b1");
  for (let i = 0; i < 3; i++) {
    assert.equal(
      dec(await bob.dm.decryptDm("alice", await alice.dm.encryptDm("bob", null, utf8.encode(`a${i}`)))),
      `a${i}`,
    );
    assert.equal(
      dec(await alice.dm.decryptDm("bob", await bob.dm.encryptDm("alice", null, utf8.encode(`b${i}`)))),
      `b${i}`,
    );
  }
});

Deno.test("rotateSignedPrekeyIfDue() rotates weekly and old prekeys still open late first messages", async () => {
  const alice = await user("alice");
  const bob = await user("bob");
  const oldBundle = bundleFrom(bob.up);
  assert.equal(await rotateSignedPrekeyIfDue(bob.store, clock.now()), null);
  const next = await rotateSignedPrekeyIfDue(bob.store, clock.now() + 8 * 24 * 3600 * 1000);
  assert.equal(next!.id, 2);
  const e = await alice.dm.encryptDm("bob", oldBundle, utf8.encode("late"));
  assert.equal(dec(await bob.dm.decryptDm("alice", e)), "late");
  await assert.rejects(bob.dm.decryptDm("alice", flipBit(e, 8 * 40)), DecryptError);
});

Deno.test("DmManager: a second new key under a pinned name never replaces the one waiting (issue 33.1)", async () => {
  const { chooseKey } = await import("./pending_keys.ts");
  const { identitySafetyNumber } = await import("./safety_number.ts");
  const alice = await user("alice");
  const bob = await user("bob");
  await bob.dm.decryptDm("alice", await alice.dm.encryptDm("bob", bundleFrom(bob.up), utf8.encode("hi")));
  // Bob reinstalls; alice's client shows the new number and alice compares it with bob.
  const bob2 = await user("bob");
  await alice.dm.decryptDm(
    "bob",
    await bob2.dm.encryptDm("alice", bundleFrom(alice.up), utf8.encode("new me")),
  )
    .catch((e) => assert.ok(e instanceof KeyChangedError));
  const compared = (await alice.dm.contact("bob"))!.pending!;
  // Meanwhile an attacker with a key of its own writes as bob: its key is kept beside, not instead.
  const mallory = await user("bob");
  const forged = await mallory.dm.encryptDm("alice", bundleFrom(alice.up), utf8.encode("it's me"));
  const warned = await alice.dm.decryptDm("bob", forged).catch((e) => e);
  assert.ok(warned instanceof KeyChangedError && warned.waiting === 2, "the user is told two keys wait");
  const c = (await alice.dm.contact("bob"))!;
  assert.equal(c.pending!.sign, compared.sign, "the key alice compared still waits");
  assert.deepEqual(c.others?.map((k) => k.sign), [mallory.up.identity.sign]);
  // A verify without the number is ambiguous now; with bob's number it is bob2's key.
  const numberOf = (k: typeof compared) => identitySafetyNumber("alice", alice.up.identity, "bob", k);
  assert.deepEqual(await chooseKey({ ...c, shown: compared }, { needShown: true, numberOf }), {
    refused: "ambiguous",
  });
  const got = await chooseKey(c, { number: await numberOf(bob2.up.identity), needShown: true, numberOf });
  assert.ok("key" in got && got.key.sign === bob2.up.identity.sign);
  await alice.dm.accept("bob", bob2.up.identity, true);
  const after = (await alice.dm.contact("bob"))!;
  assert.ok(
    after.verified && !after.pending && !after.others && after.identity.sign === bob2.up.identity.sign,
  );
});
