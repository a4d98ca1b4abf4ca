/**
 * disk.ts: a `.part` reopened to resume keeps its whole verified chunks and loses a torn tail;
 * `cipherPieces` gives the same bytes as one-shot encryption from any offset (its one read buffer
 * reused while earlier batches are still being encrypted), and shows the plaintext it read to
 * `FileSum`, which gives the file's SHA-256 however the pieces came; `roomFor` gives the free space of a
 * download folder (null without system access); `partGoes`, the one rule of both modes for a failed
 * download's `.part`: removed when the file is at fault, kept (to resume) on a lost connection, a stall
 * or a disk error.
 */
import assert from "node:assert/strict";
import { concatBytes, sha256Hex } from "../../common/bytes.ts";
import { CHUNK_SIZE, ChunkedEncryptor, openFileHeader } from "../../crypto/age_stream.ts";
import { cipherPieces } from "./cipher.ts";
import { FileSum, openPart, partGoes, roomFor } from "./disk.ts";
import { DecryptError } from "../../crypto/primitives.ts";
import { BackendError } from "../backend.ts";
import { cipherSize } from "./layout.ts";

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

Deno.test("cipherPieces: pieces from any offset join into the age file's tail", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const size of [0, 1, CHUNK_SIZE, 3 * CHUNK_SIZE + 5, 11 * CHUNK_SIZE + 7]) {
      const d = data(size), path = `${dir}/f${size}`;
      await Deno.writeFile(path, d);
      const key = new Uint8Array(32).fill(3);
      const e = await ChunkedEncryptor.create(key);
      const whole = concatBytes([e.header, e.push(d), e.finish()]);
      assert.equal(whole.length, cipherSize(size));
      const cipher = await openFileHeader(key, e.header);
      for (const pos of [0, 3, 183, 184, 185, whole.length - 17, whole.length - 1]) {
        if (pos < 0 || pos >= whole.length) continue;
        const file = await Deno.open(path);
        try {
          const got: Uint8Array[] = [], sum = new FileSum(path, size);
          const src = {
            file,
            cipher,
            header: e.header,
            size,
            seen: (o: number, b: Uint8Array) => sum.seen(o, b),
          };
          for await (const parts of cipherPieces(src, pos, 2, 3)) got.push(...parts);
          assert.deepEqual(concatBytes(got), whole.subarray(pos), `size ${size} from ${pos}`);
          sum.finish();
          assert.equal(await sum.done, await sha256Hex(d), `sum of size ${size} from ${pos}`);
        } finally {
          file.close();
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileSum: in order, read again, resumed part way, finished early: always the file's SHA-256", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const size = 5 * CHUNK_SIZE + 3, d = data(size), path = `${dir}/f`;
    await Deno.writeFile(path, d);
    const want = await sha256Hex(d);
    const piece = (i: number) => d.subarray(i * CHUNK_SIZE, (i + 2) * CHUNK_SIZE);
    // In order, a batch read again after a partial take: no file read needed.
    const a = new FileSum(`${dir}/gone`, size);
    for (const i of [0, 2, 2, 1, 4]) a.seen(i * CHUNK_SIZE, piece(i));
    assert.equal(await a.done, want);
    // A resumed sender starts part way: the file is hashed on its own.
    const b = new FileSum(path, size);
    b.seen(2 * CHUNK_SIZE, piece(2));
    assert.equal(await b.done, want);
    // Finished before the end was seen (the server had it all already).
    const c = new FileSum(path, size);
    c.seen(0, piece(0));
    c.finish();
    assert.equal(await c.done, want);
    assert.equal(await new FileSum(`${dir}/none`, 0).done, await sha256Hex(new Uint8Array(0)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("roomFor: the free space of a download folder not made yet, plus what its .part holds", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const free = await roomFor(`${dir}/not/yet`);
    assert.ok(free !== null && free > 0, `free ${free}`);
    await Deno.writeFile(`${dir}/f.part`, new Uint8Array(4096));
    const withPart = (await roomFor(dir, `${dir}/f.part`))!;
    // The same file system: the .part's bytes count as room (the free space may move meanwhile).
    assert.ok(Math.abs(withPart - 4096 - free) < 64 * 1024 * 1024, `${withPart} vs ${free}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "roomFor: unknown (null) without system access, and nothing is asked",
  permissions: { read: true, write: false, sys: false },
  fn: async () => {
    assert.equal(await roomFor("/tmp"), null);
  },
});

Deno.test("partGoes: a .part goes on tamper, refusal or withdrawal; it stays on a lost connection, a stall, the disk", () => {
  const fault = (code: string) => new BackendError(code, code);
  for (
    const e of [
      new DecryptError(),
      ...["file_order", "file_size", "file_corrupt", "file_cancelled"].map(fault),
    ]
  ) {
    assert.equal(partGoes(e), true, `${e.message}: the file is at fault`);
  }
  for (const e of [fault("file_withdrawn"), fault("file_taken"), fault("no_such_file")]) {
    assert.equal(partGoes(e), true, `${e.message}: refused or withdrawn`);
  }
  const kept = [
    fault("not_connected"),
    fault("transfer_stalled"),
    fault("direct_only"),
    new Deno.errors.ConnectionReset("reset"),
    new Deno.errors.WriteZero("disk"),
    new Error("connection lost"),
  ];
  for (const e of kept) assert.equal(partGoes(e), false, `${e.message}: kept to resume`);
});
