import assert from "node:assert/strict";
import fc from "fast-check";
import { fromHex, toHex, utf8 } from "../common/bytes.ts";
import { flipBit } from "./_test_util.ts";
import { DecryptError, x25519Generate } from "./primitives.ts";
import {
  expandMessageKey,
  kdfCk,
  MAX_SKIP,
  MAX_STORED_SKIPPED,
  ratchetCounters,
  ratchetDecrypt,
  ratchetEncrypt,
  ratchetInitInitiator,
  ratchetInitResponder,
  type RatchetState,
  ReplayError,
  SKIPPED_TTL_MS,
  TooFarAheadError,
} from "./ratchet.ts";
import { toBase64 } from "../common/bytes.ts";

async function pair(): Promise<[RatchetState, RatchetState]> {
  const sk = crypto.getRandomValues(new Uint8Array(32));
  const ad = crypto.getRandomValues(new Uint8Array(128));
  const spk = await x25519Generate();
  const a = await ratchetInitInitiator(sk, ad, spk.pub);
  const b = ratchetInitResponder(sk, ad, { pub: toBase64(spk.pub), priv: toBase64(spk.priv) });
  return [a, b];
}

const T0 = Date.UTC(2026, 0, 1);
const AD = utf8.encode("ad");

async function send(s: RatchetState, text: string) {
  return await ratchetEncrypt(s, utf8.encode(text), AD);
}

Deno.test("kdfCk() and expandMessageKey() reproduce libsignal's chain-key answer", async () => {
  const { mk, ck } = await kdfCk(fromHex("8ab72d6f4cc5ac0d387eaf463378ddb28edd07385b1cb01250c715982e7ad48f"));
  assert.equal(toHex(ck), "28e8f8fee54b801eef7c5cfb2f17f32c7b334485bbb70fac6ec10342a246d15d");
  const keys = await expandMessageKey(mk, utf8.encode("WhisperMessageKeys"), 80);
  assert.equal(
    toHex(keys.subarray(0, 32)),
    "bf51e9d75e0e31031051f82a2491ffc084fa298b7793bd9db620056febf45217",
  );
  assert.equal(
    toHex(keys.subarray(32, 64)),
    "c6c77d6a73a354337a56435e34607dfe48e3ace14e77314dc6abc172e7a7030b",
  );
});

Deno.test("ratchetEncrypt()/ratchetDecrypt() round-trip a conversation both ways without mutating inputs", async () => {
  let [a, b] = await pair();
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 3; i++) {
      const before = JSON.stringify(a);
      const e = await send(a, `a${round}.${i}`);
      assert.equal(JSON.stringify(a), before);
      a = e.state;
      const d = await ratchetDecrypt(b, e.message, AD, T0);
      b = d.state;
      assert.equal(new TextDecoder().decode(d.plaintext), `a${round}.${i}`);
    }
    const e = await send(b, `b${round}`);
    b = e.state;
    const d = await ratchetDecrypt(a, e.message, AD, T0);
    a = d.state;
    assert.equal(new TextDecoder().decode(d.plaintext), `b${round}`);
  }
});

Deno.test("ratchetDecrypt() decrypts each message exactly once in any delivery order (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 8 }),
      fc.infiniteStream(fc.nat()),
      async (na, nb, rnd) => {
        let [a, b] = await pair();
        const msgs: { m: Uint8Array; text: string }[] = [];
        for (let i = 0; i < na; i++) {
          const e = await send(a, `A${i}`);
          a = e.state;
          msgs.push({ m: e.message, text: `A${i}` });
        }
        // Bob gets the first message, replies, Alice reads the reply and sends a second chain.
        const first = await ratchetDecrypt(b, msgs[0]!.m, AD, T0);
        b = first.state;
        const reply = await send(b, "R");
        b = reply.state;
        a = (await ratchetDecrypt(a, reply.message, AD, T0)).state;
        for (let i = 0; i < nb; i++) {
          const e = await send(a, `B${i}`);
          a = e.state;
          msgs.push({ m: e.message, text: `B${i}` });
        }
        const rest = msgs.slice(1);
        const it = rnd[Symbol.iterator]();
        for (let i = rest.length - 1; i > 0; i--) {
          const j = it.next().value! % (i + 1);
          [rest[i], rest[j]] = [rest[j]!, rest[i]!];
        }
        const delivered = [msgs[0]!, ...rest];
        for (const { m, text } of rest) {
          const d = await ratchetDecrypt(b, m, AD, T0);
          b = d.state;
          assert.equal(new TextDecoder().decode(d.plaintext), text);
        }
        assert.equal(b.skipped.length, 0);
        for (const { m } of delivered) {
          const before = JSON.stringify(b);
          await assert.rejects(ratchetDecrypt(b, m, AD, T0), DecryptError);
          assert.equal(JSON.stringify(b), before);
        }
      },
    ),
    { numRuns: 25 },
  );
});

Deno.test("ratchetDecrypt() rejects a bit flip in header, ciphertext or AD and leaves state unchanged (property)", async () => {
  let [a, b] = await pair();
  const msgs: Uint8Array[] = [];
  for (let i = 0; i < 4; i++) {
    const e = await send(a, `m${i}`);
    a = e.state;
    msgs.push(e.message);
  }
  b = (await ratchetDecrypt(b, msgs[0]!, AD, T0)).state;
  const snapshot = JSON.stringify(b);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.nat(), fc.boolean(), async (i, bit, inAd) => {
      const m = msgs[i]!;
      const p = inAd
        ? ratchetDecrypt(b, m, flipBit(AD, bit), T0)
        : ratchetDecrypt(b, flipBit(m, bit % (m.length * 8)), AD, T0);
      await assert.rejects(p);
      assert.equal(JSON.stringify(b), snapshot);
    }),
    { numRuns: 60 },
  );
});

Deno.test("ratchetDecrypt() rejects a message spliced from another session, state unchanged", async () => {
  const [a1, b1] = await pair();
  const [a2] = await pair();
  const good = await send(a1, "x");
  const other = await send(a2, "y");
  const before = JSON.stringify(b1);
  await assert.rejects(ratchetDecrypt(b1, other.message, AD, T0), DecryptError);
  assert.equal(JSON.stringify(b1), before);
  assert.equal(new TextDecoder().decode((await ratchetDecrypt(b1, good.message, AD, T0)).plaintext), "x");
});

Deno.test("ratchetDecrypt() rejects a header 10^6 messages ahead without deriving keys", async () => {
  let [a, b] = await pair();
  const e0 = await send(a, "0");
  a = e0.state;
  b = (await ratchetDecrypt(b, e0.message, AD, T0)).state;
  const e1 = await send(a, "1");
  const dv = (m: Uint8Array) => new DataView(m.buffer, m.byteOffset, m.byteLength);
  const sameChain = e1.message.slice();
  dv(sameChain).setUint32(37, 1_000_000);
  const newChain = e1.message.slice();
  newChain[1]! ^= 0x55; // a different ratchet key: a new chain
  dv(newChain).setUint32(37, 1_000_000);
  const bigPn = e1.message.slice();
  bigPn[1]! ^= 0x55;
  dv(bigPn).setUint32(33, 1_000_000);
  for (const m of [sameChain, newChain, bigPn]) {
    const steps = ratchetCounters.chainSteps;
    const dh = ratchetCounters.dhSteps;
    const before = JSON.stringify(b);
    await assert.rejects(ratchetDecrypt(b, m, AD, T0), TooFarAheadError);
    assert.equal(ratchetCounters.chainSteps, steps);
    assert.equal(ratchetCounters.dhSteps, dh);
    assert.equal(JSON.stringify(b), before);
  }
});

Deno.test("ratchetDecrypt() accepts a jump of exactly MAX_SKIP and rejects MAX_SKIP + 1", async () => {
  let [a, b] = await pair();
  const msgs: Uint8Array[] = [];
  for (let i = 0; i <= MAX_SKIP + 1; i++) {
    const e = await send(a, String(i));
    a = e.state;
    msgs.push(e.message);
  }
  await assert.rejects(ratchetDecrypt(b, msgs[MAX_SKIP + 1]!, AD, T0), TooFarAheadError);
  const d = await ratchetDecrypt(b, msgs[MAX_SKIP]!, AD, T0);
  assert.equal(d.state.skipped.length, MAX_SKIP);
});

Deno.test("ratchetDecrypt() removes a used message key from the state (forward secrecy)", async () => {
  let [a, b] = await pair();
  const msgs: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    const e = await send(a, String(i));
    a = e.state;
    msgs.push(e.message);
  }
  b = (await ratchetDecrypt(b, msgs[2]!, AD, T0)).state;
  assert.equal(b.skipped.length, 2);
  const mk0 = b.skipped.find((k) => k.n === 0)!.mk;
  const after = (await ratchetDecrypt(b, msgs[0]!, AD, T0)).state;
  assert.ok(!JSON.stringify(after).includes(mk0));
  assert.deepEqual(after.skipped.map((k) => k.n), [1]);
  await assert.rejects(ratchetDecrypt(after, msgs[0]!, AD, T0), ReplayError);
});

Deno.test("ratchetDecrypt() caps stored skipped keys and expires them after a week", async () => {
  let [a, b] = await pair();
  const msgs: Uint8Array[] = [];
  for (let i = 0; i < 4; i++) {
    const e = await send(a, String(i));
    a = e.state;
    msgs.push(e.message);
  }
  const filler = Array.from({ length: MAX_STORED_SKIPPED }, (_, n) => ({ dh: "x", n, mk: "AAAA", at: T0 }));
  const full: RatchetState = { ...b, skipped: filler };
  const r = await ratchetDecrypt(full, msgs[3]!, AD, T0);
  assert.equal(r.state.skipped.length, MAX_STORED_SKIPPED);
  assert.ok(r.state.skipped.some((k) => k.n === 0 && k.dh !== "x"));
  b = (await ratchetDecrypt(b, msgs[3]!, AD, T0)).state;
  assert.equal(b.skipped.length, 3);
  await assert.rejects(ratchetDecrypt(b, msgs[1]!, AD, T0 + SKIPPED_TTL_MS + 1), ReplayError);
  assert.equal(
    new TextDecoder().decode((await ratchetDecrypt(b, msgs[1]!, AD, T0 + SKIPPED_TTL_MS - 1)).plaintext),
    "1",
  );
});
