/** A failed step of a streaming decryptor poisons every later step, in both file formats. */
import assert from "node:assert/strict";
import { concatBytes } from "../common/bytes.ts";
import * as age from "./age_stream.ts";
import * as old from "./file_aead.ts";
import { StickyFailure } from "./sticky.ts";

Deno.test("StickyFailure: after one failure every step throws the same error; set() poisons later steps", async () => {
  const s = new StickyFailure();
  assert.equal(await s.run(() => Promise.resolve(1)), 1);
  const boom = new Error("boom");
  await assert.rejects(s.run(() => Promise.reject(boom)), (e) => e === boom);
  await assert.rejects(s.run(() => Promise.resolve(2)), (e) => e === boom);
  const t = new StickyFailure();
  t.set(new Error("done"));
  await assert.rejects(t.run(() => Promise.resolve(3)), /done/);
});

async function poisoned(
  make: () => { push(b: Uint8Array): Promise<Uint8Array>; finish(): Promise<Uint8Array> },
  ct: Uint8Array,
  bodyStart: number,
) {
  // Flip a bit in the first chunk: that push fails; the good rest must never come out.
  const bad = ct.slice();
  bad[bodyStart + 5]! ^= 1;
  const d = make();
  const cut = bodyStart + 2 * age.ENC_CHUNK_SIZE;
  await assert.rejects(d.push(bad.subarray(0, cut)));
  await assert.rejects(d.push(ct.subarray(cut)), "a push after a failure fails too");
  await assert.rejects(d.finish(), "and so does finish");
}

Deno.test("age StreamDecryptor: a tampered chunk poisons the rest of the stream", async () => {
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const pt = new Uint8Array(3 * age.CHUNK_SIZE + 10).fill(7);
  const e = await age.ChunkedEncryptor.create(secret);
  const ct = concatBytes([e.header, e.push(pt), e.finish()]);
  await poisoned(() => new age.StreamDecryptor(secret), ct, e.header.length);
});

Deno.test("old-format StreamDecryptor: a tampered chunk poisons the rest of the stream", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32)), ctx = new Uint8Array([1, 2]);
  const pt = new Uint8Array(3 * old.CHUNK_SIZE + 10).fill(7);
  const ct = await old.encryptFile(key, ctx, pt);
  await poisoned(() => new old.StreamDecryptor(key, ctx), ct, old.FILE_HEADER_LEN);
});
