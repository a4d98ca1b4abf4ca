/**
 * file_disk.ts: a `.part` reopened to resume keeps its whole verified chunks and loses a torn tail;
 * `cipherPieces` gives the same bytes as one-shot encryption from any offset.
 */
import assert from "node:assert/strict";
import { concatBytes, sha256Hex } from "../common/bytes.ts";
import { CHUNK_SIZE, ChunkedEncryptor, openFileHeader } from "../crypto/file_aead.ts";
import { cipherPieces } from "./file_cipher.ts";
import { openPart } from "./file_disk.ts";
import { cipherSize } from "./file_offer.ts";

const data = (n: number) => new Uint8Array(n).map((_, i) => (i * 31 + (i >> 9)) & 255);

Deno.test("openPart: whole chunks are kept (and hashed), a torn tail is cut", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const size = 5 * CHUNK_SIZE + 10, d = data(size), part = `${dir}/f.part`;
    for (const [have, next] of [[0, 0], [2 * CHUNK_SIZE, 2], [2 * CHUNK_SIZE + 77, 2]] as const) {
      await Deno.writeFile(part, d.subarray(0, have));
      const p = await openPart(part, size);
      try {
        assert.equal(p.next, next);
        assert.equal((await p.out.stat()).size, next * CHUNK_SIZE, `from ${have} bytes`);
        assert.equal(p.hash.hex(), await sha256Hex(d.subarray(0, next * CHUNK_SIZE)));
      } finally {
        p.out.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cipherPieces: pieces from any offset join into the C2SP ciphertext's tail", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const size of [0, 1, CHUNK_SIZE, 3 * CHUNK_SIZE + 5]) {
      const d = data(size), path = `${dir}/f${size}`;
      await Deno.writeFile(path, d);
      const key = new Uint8Array(32).fill(3), ctx = new Uint8Array([1, 2]);
      const e = await ChunkedEncryptor.create(key, ctx);
      const whole = concatBytes([e.header, await e.push(d), await e.finish()]);
      assert.equal(whole.length, cipherSize(size));
      const cipher = await openFileHeader(key, ctx, e.header);
      for (const pos of [0, 3, 56, 57, whole.length - 17, whole.length - 1]) {
        if (pos < 0 || pos >= whole.length) continue;
        const file = await Deno.open(path);
        try {
          const got: Uint8Array[] = [];
          for await (const parts of cipherPieces(file, cipher, e.header, size, pos, 2, 3)) got.push(...parts);
          assert.deepEqual(concatBytes(got), whole.subarray(pos), `size ${size} from ${pos}`);
        } finally {
          file.close();
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
