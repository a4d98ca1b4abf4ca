import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes, equalBytes, fromHex, toHex } from "../common/bytes.ts";
import { flipBit, type Json, loadVectors } from "./_test_util.ts";
import {
  CHUNK_SIZE,
  ChunkCipher,
  ChunkDecryptor,
  ChunkedEncryptor,
  decryptFile,
  ENC_CHUNK_SIZE,
  encryptFile,
  FILE_HEADER_LEN,
  fileContext,
  StreamDecryptor,
} from "./file_aead.ts";
import { DecryptError, sha512 } from "./primitives.ts";

async function inflate(hex: string): Promise<Uint8Array> {
  const stream = new Blob([fromHex(hex) as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("deflate"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const KEY = crypto.getRandomValues(new Uint8Array(32));
const CTX = fileContext("t-1", "alice", "bob");

Deno.test("decryptFile() passes Wycheproof c2sp_chunked_encryption_aes_256_gcm", async () => {
  const d = await loadVectors("c2sp_chunked_encryption_aes_256_gcm_test.json");
  let n = 0;
  for (const g of d.testGroups) {
    for (const t of g.tests as Json[]) {
      const ct = await inflate(t.ct);
      const key = fromHex(t.key);
      if (t.result === "valid") {
        const pt = await decryptFile(key, fromHex(t.ctx), ct);
        assert.equal(pt.length, t.msgLength, `tc ${t.tcId}`);
        assert.equal(toHex(await sha512(pt)), t.msgSha512, `tc ${t.tcId}`);
        // raw mode is deterministic: re-encrypting gives the same chunks
        const raw = new ChunkCipher(fromHex(t.aeadKey), fromHex(t.baseNonce));
        const chunks: Uint8Array[] = [];
        for (let i = 0; i * CHUNK_SIZE <= pt.length; i++) {
          chunks.push(
            await raw.encryptChunk(i, pt.subarray(i * CHUNK_SIZE, Math.min(pt.length, (i + 1) * CHUNK_SIZE))),
          );
        }
        assert.ok(equalBytes(concatBytes(chunks), ct.subarray(FILE_HEADER_LEN)), `tc ${t.tcId} raw`);
      } else if ((t.flags as string[]).includes("InvalidKeySize")) {
        await assert.rejects(decryptFile(key, fromHex(t.ctx), ct), RangeError, `tc ${t.tcId}`);
      } else {
        // streaming: may yield a valid prefix, must then fail and keep failing
        const s = new StreamDecryptor(key, fromHex(t.ctx));
        let out: Uint8Array = new Uint8Array(0);
        let failed = false;
        try {
          out = await s.push(ct);
          await s.finish();
        } catch (e) {
          assert.ok(e instanceof DecryptError, `tc ${t.tcId}: ${e}`);
          failed = true;
        }
        assert.ok(failed, `tc ${t.tcId} must fail`);
        assert.ok(out.length <= (t.msgLength ?? 0), `tc ${t.tcId} prefix`);
        await assert.rejects(s.finish(), DecryptError);
      }
      n++;
    }
  }
  assert.equal(n, d.numberOfTests);
});

Deno.test("encryptFile()/decryptFile() round-trip sizes around chunk boundaries", async () => {
  for (const len of [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE + 5]) {
    const pt = crypto.getRandomValues(new Uint8Array(len));
    const ct = await encryptFile(KEY, CTX, pt);
    assert.equal(
      ct.length,
      FILE_HEADER_LEN + Math.floor(len / CHUNK_SIZE) * ENC_CHUNK_SIZE + (len % CHUNK_SIZE) + 16,
    );
    assert.deepEqual(await decryptFile(KEY, CTX, ct), pt);
    await assert.rejects(decryptFile(KEY, fileContext("t-1", "alice", "carol"), ct), DecryptError);
    if (len > 0) await assert.rejects(decryptFile(KEY, CTX, ct.subarray(0, ct.length - 1)), DecryptError);
  }
});

Deno.test("ChunkedEncryptor and StreamDecryptor agree under arbitrary splits (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 3 * CHUNK_SIZE + 100 }),
      fc.array(fc.integer({ min: 1, max: 20000 }), { minLength: 1, maxLength: 8 }),
      async (len, cuts) => {
        const pt = new Uint8Array(len).map((_, i) => i * 7);
        const e = await ChunkedEncryptor.create(KEY, CTX);
        const parts = [e.header];
        let off = 0;
        for (const c of cuts) {
          parts.push(await e.push(pt.subarray(off, Math.min(len, off + c))));
          off = Math.min(len, off + c);
        }
        parts.push(await e.push(pt.subarray(off)), await e.finish());
        const ct = concatBytes(parts);
        const d = new StreamDecryptor(KEY, CTX);
        const out: Uint8Array[] = [];
        let p = 0;
        for (const c of cuts) {
          out.push(await d.push(ct.subarray(p, Math.min(ct.length, p + c))));
          p = Math.min(ct.length, p + c);
        }
        out.push(await d.push(ct.subarray(p)), await d.finish());
        assert.deepEqual(concatBytes(out), pt);
      },
    ),
    { numRuns: 15 },
  );
});

Deno.test("ChunkDecryptor.decryptNext() rejects replayed, bit-flipped, reordered or spliced chunks with state unchanged", async () => {
  const pt = crypto.getRandomValues(new Uint8Array(2 * CHUNK_SIZE + 10));
  const ct = await encryptFile(KEY, CTX, pt);
  const other = await encryptFile(KEY, CTX, pt);
  const chunk = (c: Uint8Array, i: number) =>
    c.subarray(
      FILE_HEADER_LEN + i * ENC_CHUNK_SIZE,
      Math.min(c.length, FILE_HEADER_LEN + (i + 1) * ENC_CHUNK_SIZE),
    );
  const d = await ChunkDecryptor.create(KEY, CTX, ct.subarray(0, FILE_HEADER_LEN));
  assert.deepEqual((await d.decryptNext(chunk(ct, 0))).plaintext, pt.subarray(0, CHUNK_SIZE));
  for (
    const bad of [chunk(ct, 0), flipBit(chunk(ct, 1), 77), chunk(ct, 2), chunk(other, 1), new Uint8Array(3)]
  ) {
    await assert.rejects(d.decryptNext(bad), DecryptError);
    assert.equal(d.nextIndex, 1);
    assert.equal(d.done, false);
  }
  assert.equal((await d.decryptNext(chunk(ct, 1))).final, false);
  const last = await d.decryptNext(chunk(ct, 2));
  assert.ok(last.final);
  assert.deepEqual(last.plaintext, pt.subarray(2 * CHUNK_SIZE));
  await assert.rejects(d.decryptNext(chunk(ct, 2)), DecryptError);
  await assert.rejects(ChunkDecryptor.create(KEY, CTX, other.subarray(0, FILE_HEADER_LEN - 1)), DecryptError);
  await assert.rejects(
    ChunkDecryptor.create(KEY, fileContext("t-2", "alice", "bob"), ct.subarray(0, FILE_HEADER_LEN)),
    DecryptError,
  );
});
