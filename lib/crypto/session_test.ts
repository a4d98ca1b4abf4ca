import assert from "node:assert/strict";
import { fromBase64, toBase64, utf8 } from "../common/bytes.ts";
import { flipBit, loadVectors } from "./_test_util.ts";
import { generateIdentity, type IdentityKeyPair, publicIdentity, verifyPublicIdentity } from "./identity.ts";
import {
  buildBundle,
  generateOneTimePrekeys,
  generateSignedPrekey,
  type OneTimePrekey,
  type SignedPrekey,
} from "./prekeys.ts";
import { isPrekeyBundleShape, verifyBundle } from "./prekey_verify.ts";
import { DecryptError } from "./primitives.ts";
import { acceptSession, initiateSession, sessionDecrypt, sessionEncrypt } from "./session.ts";
import { BadBundleError } from "./x3dh.ts";

async function bob(): Promise<{ id: IdentityKeyPair; spk: SignedPrekey; opks: OneTimePrekey[] }> {
  const id = await generateIdentity();
  return { id, spk: await generateSignedPrekey(id, 7, 0), opks: await generateOneTimePrekeys(100, 2) };
}

function lookup(b: { spk: SignedPrekey; opks: OneTimePrekey[] }) {
  return {
    spk: (i: number) => (i === b.spk.id ? b.spk : undefined),
    opk: (i: number) => b.opks.find((o) => o.id === i),
  };
}

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("verifyPublicIdentity() accepts a fresh identity and refuses a swapped DH key", async () => {
  const a = publicIdentity(await generateIdentity());
  const other = publicIdentity(await generateIdentity());
  assert.ok(await verifyPublicIdentity(a));
  assert.equal(await verifyPublicIdentity({ ...a, dh: other.dh }), false);
  assert.equal(await verifyPublicIdentity({ ...a, sig: "bad" }), false);
});

Deno.test("verifyBundle() accepts a good bundle and refuses bad prekey or identity signatures", async () => {
  const b = await bob();
  const bundle = buildBundle(b.id, b.spk, b.opks[0]);
  assert.ok(isPrekeyBundleShape(bundle));
  assert.ok(await verifyBundle(bundle));
  const badSig = { ...bundle, spk: { ...bundle.spk, sig: toBase64(flipBit(fromBase64(bundle.spk.sig), 3)) } };
  assert.equal(await verifyBundle(badSig), false);
  const otherSpk = await generateSignedPrekey(b.id, 8, 0);
  assert.equal(await verifyBundle({ ...bundle, spk: { ...bundle.spk, pub: otherSpk.pub } }), false);
  assert.equal(await verifyBundle({ ...bundle, spk: { ...bundle.spk, id: 9 } }), false);
  const mallory = await generateIdentity();
  assert.equal(await verifyBundle({ ...bundle, identity: publicIdentity(mallory) }), false);
  assert.equal(await verifyBundle({ identity: bundle.identity }), false);
  assert.equal(isPrekeyBundleShape({ ...bundle, opk: { id: -1, pub: bundle.spk.pub } }), false);
});

Deno.test("initiateSession() refuses a bundle with a bad prekey signature", async () => {
  const a = await generateIdentity();
  const b = await bob();
  const bundle = buildBundle(b.id, b.spk);
  bundle.spk.sig = toBase64(flipBit(fromBase64(bundle.spk.sig), 100));
  await assert.rejects(initiateSession(a, bundle), BadBundleError);
});

Deno.test("acceptSession() opens a session from a prekey message with and without a one-time prekey", async () => {
  for (const withOpk of [true, false]) {
    const a = await generateIdentity();
    const b = await bob();
    let { state: as } = await initiateSession(a, buildBundle(b.id, b.spk, withOpk ? b.opks[1] : undefined));
    const e1 = await sessionEncrypt(as, utf8.encode("one"));
    as = e1.state;
    const e2 = await sessionEncrypt(as, utf8.encode("two"));
    as = e2.state;
    const acc = await acceptSession(b.id, lookup(b), e1.message);
    assert.equal(dec(acc.plaintext), "one");
    assert.equal(acc.usedOpkId, withOpk ? 101 : undefined);
    assert.deepEqual(acc.peer, publicIdentity(a));
    let bs = acc.state;
    const d2 = await sessionDecrypt(bs, e2.message);
    bs = d2.state;
    assert.equal(dec(d2.plaintext), "two");
    const r = await sessionEncrypt(bs, utf8.encode("reply"));
    const d = await sessionDecrypt(as, r.message);
    assert.equal(dec(d.plaintext), "reply");
    assert.equal(d.state.pending, undefined);
    const after = await sessionEncrypt(d.state, utf8.encode("normal"));
    assert.equal(after.message[1], 1);
  }
});

Deno.test("acceptSession() refuses a tampered sender identity, unknown prekeys and a bit flip", async () => {
  const a = await generateIdentity();
  const b = await bob();
  const { state } = await initiateSession(a, buildBundle(b.id, b.spk, b.opks[0]));
  const e = await sessionEncrypt(state, utf8.encode("hi"));
  // identity sig (bytes 66..130): a changed sender identity fails its self-signature
  await assert.rejects(acceptSession(b.id, lookup(b), flipBit(e.message, 70 * 8)), DecryptError);
  // sender DH key swapped (bytes 34..66)
  await assert.rejects(acceptSession(b.id, lookup(b), flipBit(e.message, 40 * 8)), DecryptError);
  await assert.rejects(
    acceptSession(b.id, { spk: () => undefined, opk: () => undefined }, e.message),
    DecryptError,
  );
  await assert.rejects(acceptSession(b.id, { ...lookup(b), opk: () => undefined }, e.message), DecryptError);
  for (const bit of [131 * 8, 200 * 8, (e.message.length - 3) * 8]) {
    await assert.rejects(acceptSession(b.id, lookup(b), flipBit(e.message, bit)));
  }
  assert.equal(dec((await acceptSession(b.id, lookup(b), e.message)).plaintext), "hi");
});

Deno.test("sessionDecrypt() rejects a caller-AD mismatch and a prekey message from another session", async () => {
  const a = await generateIdentity();
  const b = await bob();
  const s1 = (await initiateSession(a, buildBundle(b.id, b.spk))).state;
  const s2 = (await initiateSession(a, buildBundle(b.id, b.spk))).state;
  const e1 = await sessionEncrypt(s1, utf8.encode("x"), utf8.encode("ad1"));
  const acc = await acceptSession(b.id, lookup(b), e1.message, utf8.encode("ad1"));
  await assert.rejects(acceptSession(b.id, lookup(b), e1.message, utf8.encode("ad2")), DecryptError);
  const e2 = await sessionEncrypt(s2, utf8.encode("y"));
  const before = JSON.stringify(acc.state);
  await assert.rejects(sessionDecrypt(acc.state, e2.message), DecryptError);
  assert.equal(JSON.stringify(acc.state), before);
});

Deno.test("acceptSession()/sessionDecrypt() open a session recorded with the primitives before issue 15 (known answer)", async () => {
  // Pins Parley's own derivations end to end (X3DH and ratchet HKDF labels, HMAC chain, AD layout,
  // AES-GCM): a changed label or primitive path fails here even when both sides would still agree.
  const g = await loadVectors("session_golden.json");
  const ad = utf8.encode(g.ad);
  const [m1, m2] = g.messages.map((m: { message: string }) => fromBase64(m.message));
  const opened = await acceptSession(g.bob, { spk: () => g.spk, opk: () => g.opk }, m1!, ad);
  assert.equal(dec(opened.plaintext), g.messages[0].plaintext);
  assert.equal(opened.usedOpkId, 42);
  const second = await sessionDecrypt(opened.state, m2!, ad);
  assert.equal(dec(second.plaintext), g.messages[1].plaintext);
  await assert.rejects(
    acceptSession(g.bob, { spk: () => g.spk, opk: () => g.opk }, flipBit(m1!, 8 * 200), ad),
  );
});
