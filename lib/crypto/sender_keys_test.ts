import assert from "node:assert/strict";
import fc from "fast-check";
import { utf8 } from "../common/bytes.ts";
import { flipBit } from "./_test_util.ts";
import { DecryptError } from "./primitives.ts";
import { ratchetCounters, ReplayError, TooFarAheadError } from "./ratchet.ts";
import {
  createSenderKey,
  decryptRoom,
  encryptRoom,
  markRotate,
  needsRotation,
  processDistribution,
  ROOM_MAX_SKIP,
  ROOM_ROTATE_EVERY,
  type RoomReceiverState,
  rotateSenderKey,
  RotationRequiredError,
  senderKeyDistribution,
  type SenderKeyState,
} from "./sender_keys.ts";

const T0 = Date.UTC(2026, 0, 1);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function room(name = "general"): Promise<{ s: SenderKeyState; r: RoomReceiverState }> {
  const s = await createSenderKey(name, 3);
  return { s, r: processDistribution(null, "alice", senderKeyDistribution(s)) };
}

async function sendN(s: SenderKeyState, n: number, ad = new Uint8Array(0)) {
  const msgs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const e = await encryptRoom(s, utf8.encode(`m${i}`), ad);
    s = e.state;
    msgs.push(e.message);
  }
  return { s, msgs };
}

Deno.test("decryptRoom() decrypts each message exactly once in any delivery order (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 12 }).chain((n) =>
        fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n })
      ),
      async (order) => {
        const { s, r } = await room();
        const { msgs } = await sendN(s, order.length);
        let st = r;
        for (const i of order) {
          const d = await decryptRoom(st, msgs[i]!, undefined, T0);
          st = d.state;
          assert.equal(dec(d.plaintext), `m${i}`);
          assert.equal(d.header.iteration, i);
        }
        for (const m of msgs) {
          const before = JSON.stringify(st);
          await assert.rejects(decryptRoom(st, m, undefined, T0), ReplayError);
          assert.equal(JSON.stringify(st), before);
        }
      },
    ),
    { numRuns: 25 },
  );
});

Deno.test("decryptRoom() rejects bit flips in header, ciphertext, signature or AD with state unchanged (property)", async () => {
  const { s, r } = await room();
  const ad = utf8.encode("alice");
  const { msgs } = await sendN(s, 2, ad);
  const snapshot = JSON.stringify(r);
  await fc.assert(
    fc.asyncProperty(fc.nat(), fc.boolean(), async (bit, inAd) => {
      const m = msgs[1]!;
      const p = inAd
        ? decryptRoom(r, m, flipBit(ad, bit), T0)
        : decryptRoom(r, flipBit(m, bit % (m.length * 8)), ad, T0);
      await assert.rejects(p);
      assert.equal(JSON.stringify(r), snapshot);
    }),
    { numRuns: 60 },
  );
  assert.equal(dec((await decryptRoom(r, msgs[1]!, ad, T0)).plaintext), "m1");
});

Deno.test("decryptRoom() rejects a message spliced from another room or another sender", async () => {
  const a = await room("general");
  const b = await room("random");
  const c = await room("general");
  const fromB = (await encryptRoom(b.s, utf8.encode("x"))).message;
  const fromC = (await encryptRoom(c.s, utf8.encode("x"))).message;
  const before = JSON.stringify(a.r);
  await assert.rejects(decryptRoom(a.r, fromB, undefined, T0), DecryptError);
  await assert.rejects(decryptRoom(a.r, fromC, undefined, T0), DecryptError);
  // same chain id forged onto another sender's message: the signature fails
  const forged = fromC.slice();
  new DataView(forged.buffer).setUint32(2 + 7 + 4, a.s.chainId);
  await assert.rejects(decryptRoom(a.r, forged, undefined, T0), DecryptError);
  assert.equal(JSON.stringify(a.r), before);
});

Deno.test("decryptRoom() rejects a jump beyond ROOM_MAX_SKIP without deriving keys", async () => {
  const { s, r } = await room();
  const { msgs } = await sendN(s, 1);
  const m = msgs[0]!.slice();
  // re-signing is impossible for an attacker; a sender with the key could still try: sign a far iteration
  const far = await encryptRoom({ ...s, iteration: ROOM_MAX_SKIP + 1 }, utf8.encode("far"));
  await assert.rejects(decryptRoom(r, far.message, undefined, T0), TooFarAheadError);
  const far6 = await encryptRoom({ ...s, iteration: 1_000_000 }, utf8.encode("far"));
  const steps = ratchetCounters.chainSteps;
  await assert.rejects(decryptRoom(r, far6.message, undefined, T0), TooFarAheadError);
  assert.equal(ratchetCounters.chainSteps, steps);
  assert.equal(dec((await decryptRoom(r, m, undefined, T0)).plaintext), "m0");
});

Deno.test("needsRotation() turns true after ROOM_ROTATE_EVERY messages and after markRotate()", async () => {
  const { s } = await room();
  assert.equal(needsRotation(s), false);
  assert.ok(needsRotation(markRotate(s)));
  await assert.rejects(encryptRoom(markRotate(s), utf8.encode("x")), RotationRequiredError);
  const worn = { ...s, sent: ROOM_ROTATE_EVERY };
  assert.ok(needsRotation(worn));
  await assert.rejects(encryptRoom(worn, utf8.encode("x")), RotationRequiredError);
  const fresh = await rotateSenderKey(worn, 4);
  assert.equal(needsRotation(fresh), false);
  assert.equal(fresh.epoch, 4);
  assert.notEqual(fresh.ck, s.ck);
});

Deno.test("processDistribution() keeps older chains for in-flight messages and never rewinds a chain", async () => {
  const { s, r } = await room();
  const old = await sendN(s, 2);
  const next = await rotateSenderKey(old.s, 4);
  let st = processDistribution(r, "alice", senderKeyDistribution(next));
  const e = await encryptRoom(next, utf8.encode("new"));
  assert.equal(dec((await decryptRoom(st, e.message, undefined, T0)).plaintext), "new");
  const d = await decryptRoom(st, old.msgs[1]!, undefined, T0);
  st = d.state;
  assert.equal(dec(d.plaintext), "m1");
  // re-sending the original distribution must not re-enable a replay
  st = processDistribution(st, "alice", senderKeyDistribution(s));
  await assert.rejects(decryptRoom(st, old.msgs[1]!, undefined, T0), ReplayError);
  assert.throws(() => processDistribution(st, "bob", senderKeyDistribution(next)));
});
