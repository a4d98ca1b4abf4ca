import assert from "node:assert/strict";
import { equalBytes, utf8 } from "../common/bytes.ts";
import { flipBit } from "./_test_util.ts";
import { generateIdentity, type IdentityKeyPair, publicIdentity, sameIdentity } from "./identity.ts";
import { HandshakeError, initiateHandshake, respondHandshake, type SecureChannel } from "./peer_handshake.ts";
import { DecryptError } from "./primitives.ts";

const alice = await generateIdentity();
const bob = await generateIdentity();
const mallory = await generateIdentity();

async function pair(
  a: IdentityKeyPair = alice,
  b: IdentityKeyPair = bob,
  opts: { purpose?: string; purposes?: string[]; tamper?: (step: number, m: Uint8Array) => Uint8Array } = {},
): Promise<{ i: SecureChannel; r: SecureChannel }> {
  const t = opts.tamper ?? ((_s, m) => m);
  const ini = await initiateHandshake({
    identity: a,
    name: "alice",
    purpose: opts.purpose ?? "parley-peer-v1",
  });
  const res = await respondHandshake(
    { identity: b, name: "bob", purposes: opts.purposes ?? ["parley-peer-v1"] },
    t(1, ini.hello),
  );
  const fin = await ini.finish(t(2, res.reply));
  const r = await res.finish(t(3, fin.message));
  return { i: fin.channel, r };
}

Deno.test("peer handshake: both sides learn the other's verified identity and name, same transcript", async () => {
  const { i, r } = await pair();
  assert.ok(sameIdentity(i.peer, publicIdentity(bob)));
  assert.ok(sameIdentity(r.peer, publicIdentity(alice)));
  assert.equal(i.peerName, "bob");
  assert.equal(r.peerName, "alice");
  assert.equal(r.purpose, "parley-peer-v1");
  assert.ok(equalBytes(i.transcript, r.transcript));
  const m = await i.seal(utf8.encode("hello"));
  assert.equal(new TextDecoder().decode(await r.open(m)), "hello");
  const back = await r.seal(utf8.encode("hi"));
  assert.equal(new TextDecoder().decode(await i.open(back)), "hi");
  // The two directions use different keys: a record cannot be reflected back to its sender.
  const own = await i.seal(utf8.encode("x"));
  await assert.rejects(i.open(own), DecryptError);
});

Deno.test("peer handshake: records are in order only — flip, replay, reorder, drop all fail", async () => {
  const enc = (s: string) => utf8.encode(s);
  {
    const { i, r } = await pair();
    const m = await i.seal(enc("a"));
    await assert.rejects(r.open(flipBit(m, 3)), DecryptError);
    await assert.rejects(r.open(m), DecryptError, "after a failure the channel refuses everything");
  }
  {
    const { i, r } = await pair();
    const m = await i.seal(enc("a"));
    await r.open(m);
    await assert.rejects(r.open(m), DecryptError, "replay");
  }
  {
    const { i, r } = await pair();
    const m1 = await i.seal(enc("1"));
    const m2 = await i.seal(enc("2"));
    await assert.rejects(r.open(m2), DecryptError, "reorder / drop");
    void m1;
  }
  {
    // A record from another channel between the same two people does not open.
    const a = await pair();
    const b = await pair();
    await assert.rejects(b.r.open(await a.i.seal(enc("x"))), DecryptError);
  }
});

Deno.test("peer handshake: a flipped bit in any handshake message is refused", async () => {
  for (const step of [1, 2, 3]) {
    for (const bit of [0, 9, 50, 300, 900, 1500]) {
      let size = 0;
      const tamper = (s: number, m: Uint8Array) => {
        if (s !== step) return m;
        size = m.length;
        return flipBit(m, bit % (m.length * 8));
      };
      const r = await pair(alice, bob, { tamper }).then(() => "ok", (e) => e);
      // Flipping a bit of a claimed name changes the transcript, so signatures fail too.
      assert.ok(
        r instanceof HandshakeError || r instanceof DecryptError,
        `step ${step} bit ${bit}/${size}: ${r}`,
      );
    }
  }
});

Deno.test("peer handshake: wrong expected identity, wrong purpose, replayed message 3 are refused", async () => {
  // Initiator expects bob but mallory answers.
  const ini = await initiateHandshake({
    identity: alice,
    purpose: "parley-peer-v1",
    expect: publicIdentity(bob),
  });
  const res = await respondHandshake({ identity: mallory, purposes: ["parley-peer-v1"] }, ini.hello);
  await assert.rejects(ini.finish(res.reply), HandshakeError);
  // Responder expects bob but alice calls.
  const ini2 = await initiateHandshake({ identity: alice, purpose: "parley-peer-v1" });
  await assert.rejects(
    respondHandshake(
      { identity: bob, purposes: ["parley-peer-v1"], expect: publicIdentity(mallory) },
      ini2.hello,
    ),
    HandshakeError,
  );
  // A file-path channel is not a chat channel.
  await assert.rejects(pair(alice, bob, { purpose: "parley-file-v1" }), HandshakeError);
  const ok = await pair(alice, bob, {
    purpose: "parley-file-v1",
    purposes: ["parley-peer-v1", "parley-file-v1"],
  });
  assert.equal(ok.r.purpose, "parley-file-v1");
  // Message 3 of one handshake does not finish another (fresh ephemerals → new transcript).
  const a = await initiateHandshake({ identity: alice, purpose: "parley-peer-v1" });
  const ra = await respondHandshake({ identity: bob, purposes: ["parley-peer-v1"] }, a.hello);
  const fa = await a.finish(ra.reply);
  await ra.finish(fa.message);
  const rb = await respondHandshake({ identity: bob, purposes: ["parley-peer-v1"] }, a.hello); // replayed hello
  await assert.rejects(rb.finish(fa.message), HandshakeError);
});

Deno.test("peer handshake: an identity swapped in message 2 (re-signed DH, wrong signer) is refused", async () => {
  // Mallory relays bob's reply but puts her own identity in it: bob's signature does not verify under it.
  const ini = await initiateHandshake({ identity: alice, purpose: "parley-peer-v1" });
  const res = await respondHandshake({ identity: bob, purposes: ["parley-peer-v1"] }, ini.hello);
  const { encodePublicIdentity } = await import("./identity.ts");
  const reply = res.reply.slice();
  reply.set(encodePublicIdentity(publicIdentity(mallory)), 1 + 4 + 32 + 4);
  await assert.rejects(ini.finish(reply), HandshakeError);
  // Garbage and truncations: HandshakeError, never another exception.
  for (
    const junk of [
      new Uint8Array(0),
      Uint8Array.of(1),
      Uint8Array.of(1, 0, 0, 0, 200),
      ini.hello.slice(0, 40),
    ]
  ) {
    await assert.rejects(
      respondHandshake({ identity: bob, purposes: ["parley-peer-v1"] }, junk),
      HandshakeError,
    );
  }
});
