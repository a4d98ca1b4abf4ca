/**
 * PartWriter (disk.ts), the production chunk writer of downloads: bytes after the final chunk are
 * refused with DecryptError, whether they come in the push that holds the final chunk or in a
 * later one, and nothing past the file's plaintext reaches the `.part` (issue 35: deleting the
 * `extra` check passed every test); a push's plaintext is written synchronously, all of it, then hashed.
 */
import assert from "node:assert/strict";
import { concatBytes, sha256Hex } from "../../common/bytes.ts";
import { CHUNK_SIZE, ChunkedEncryptor, FILE_HEADER_LEN, openFileHeader } from "../../crypto/age_stream.ts";
import { openPart } from "./disk.ts";
import { PartWriter } from "./part_writer.ts";
import { encodeFrame, FrameDecoder } from "../../protocol/frame.ts";

const data = (n: number) => new Uint8Array(n).map((_, i) => (i * 7 + (i >> 8)) & 255);

Deno.test("PartWriter: data after the final chunk is refused, in the same push or a later one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const size = 2 * CHUNK_SIZE + 100, d = data(size);
    const key = new Uint8Array(32).fill(9);
    const e = await ChunkedEncryptor.create(key);
    const body = concatBytes([e.push(d), e.finish()]);
    assert.equal(e.header.length, FILE_HEADER_LEN);
    const cipher = await openFileHeader(key, e.header);
    const writer = async (name: string) => {
      const p = await openPart(`${dir}/${name}.part`, size);
      return { p, w: new PartWriter(p.out, cipher, size, p.next, p.hash) };
    };
    // The honest stream: written whole, nothing refused.
    {
      const { p, w } = await writer("ok");
      await w.push(body);
      assert.ok(w.done);
      p.out.close();
      assert.equal(await sha256Hex(await Deno.readFile(`${dir}/ok.part`)), await sha256Hex(d));
    }
    // One trailing byte in the push that holds the final chunk.
    {
      const { p, w } = await writer("same");
      await assert.rejects(w.push(concatBytes([body, new Uint8Array([0])])), /after the final chunk/);
      p.out.close();
      assert.ok((await Deno.stat(`${dir}/same.part`)).size <= size, "nothing past the plaintext");
    }
    // The final chunk in one push, trailing bytes in the next.
    {
      const { p, w } = await writer("later");
      await w.push(body);
      await assert.rejects(w.push(new Uint8Array(16)), /after the final chunk/);
      p.out.close();
      assert.equal((await Deno.stat(`${dir}/later.part`)).size, size);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PartWriter frees a frame's own body once decrypted, keeps one it does not own, and a partial chunk's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const size = 3 * CHUNK_SIZE, d = data(size);
    const key = new Uint8Array(32).fill(3);
    const e = await ChunkedEncryptor.create(key);
    const body = concatBytes([e.push(d), e.finish()]);
    const cipher = await openFileHeader(key, e.header);
    const p = await openPart(`${dir}/f.part`, size);
    const w = new PartWriter(p.out, cipher, size, p.next, p.hash);
    // Frames as the owning decoder gives them (frame.ts): the first two chunks, then a chunk and a half.
    const frames = (b: Uint8Array) =>
      new FrameDecoder(1 << 20, { owns: true }).push(encodeFrame({ t: "ok" }, b));
    const one = CHUNK_SIZE + 16;
    const [a] = frames(body.slice(0, 2 * one)), [b] = frames(body.slice(2 * one, 2 * one + one / 2));
    const notOwn = body.subarray(2 * one + one / 2);
    await w.push(a!.body);
    assert.equal(a!.body.length, 0, "a whole frame's own body is freed once its chunks are decrypted");
    await w.push(b!.body);
    assert.equal(b!.body.length, one / 2, "a body with a partial chunk still wanted stays");
    await w.push(notOwn);
    assert.equal(notOwn.length, one / 2, "a body no frame owns stays");
    assert.ok(w.done);
    p.out.close();
    assert.equal(await sha256Hex(await Deno.readFile(`${dir}/f.part`)), await sha256Hex(d));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PartWriter: a push's plaintext is written on this thread, all of it, then hashed (issue 36)", async () => {
  const size = 3 * CHUNK_SIZE + 9, d = data(size);
  const key = new Uint8Array(32).fill(4);
  const e = await ChunkedEncryptor.create(key);
  const body = concatBytes([e.push(d), e.finish()]);
  const file: Uint8Array[] = [], order: string[] = [];
  const out = {
    // The file system takes at most 100,000 bytes a call: the rest must be written again.
    writeSync: (b: Uint8Array) => {
      const n = Math.min(b.length, 100_000);
      file.push(b.slice(0, n));
      order.push("write");
      return n;
    },
    write: () => Promise.reject(new Error("an awaited write")),
  } as unknown as Deno.FsFile;
  const hash = { update: () => void order.push("hash"), hex: () => "" };
  const w = new PartWriter(out, await openFileHeader(key, e.header), size, 0, hash);
  await w.push(body);
  assert.ok(w.done);
  const got = concatBytes(file);
  assert.equal(got.length, d.length, "every byte written");
  assert.ok(got.every((x, i) => x === d[i]), "in order");
  assert.deepEqual(order, ["write", "write", "hash"], "written whole before it is hashed");
});
