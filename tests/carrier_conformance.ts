/**
 * Shared conformance suite for `ChunkCarrier` (lib/client/files/carrier.ts; rule 8: one interface, one
 * suite, as for `Link`; here in tests/ as it writes files). Each carrier registers it
 * (carrier_conformance_test.ts: the direct socket of lib/client/files/direct.ts, the peer-mode channel
 * of lib/client/files/carried_out.ts, the relay of lib/client/files/upload.ts) with its batch and a
 * factory that builds, for the file about to be sent, a world of two
 * ends: the sending end is the carrier, the receiving end gives what came in order. The cases, each
 * over carrier.ts `sendChunks` and a `.part` filled by files/part_writer.ts through `Pushes`:
 * - a file of several batches arrives whole: every chunk authenticated at its index, the `.part`'s
 *   SHA-256 the file's, the sender told of each batch once in order, every sealed chunk freed once taken;
 * - a send from chunk K (a resume) carries chunks K on only, and they open at their index;
 * - a carrier cut while sending ends the send with the first chunk it did not take (a batch's first),
 *   after every batch it was told of, never `done`; the receiving end then ends too.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../lib/common/bytes.ts";
import { CHUNK_SIZE, ChunkedEncryptor, openFileHeader } from "../lib/crypto/age_stream.ts";
import {
  type Batch,
  batchBytes,
  type ChunkCarrier,
  Pushes,
  sendChunks,
} from "../lib/client/files/carrier.ts";
import { chunkPieces } from "../lib/client/files/cipher.ts";
import { openPart } from "../lib/client/files/disk.ts";
import { chunkOffset, cipherSize } from "../lib/client/files/layout.ts";
import { PartWriter } from "../lib/client/files/part_writer.ts";

/** Two ends of one carrier: `carrier` sends, `next` gives what the other end received. */
export interface CarrierWorld {
  carrier: ChunkCarrier;
  /**
   * The next batch received, with its first chunk's index where the carrier carries one (else the
   * receiver counts); null once the carrier ended.
   */
  next(): Promise<{ i?: number; data: Uint8Array } | null>;
  /** Breaks the carrier as a dropped connection does (both ends see it). */
  cut(): void;
  close(): Promise<void>;
}

/** A file of `size` bytes in a fresh folder, its age key and header. */
async function aFile(size: number) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/f.bin`;
  const plain = new Uint8Array(size).map((_, i) => (i * 7 + (i >> 16)) & 255);
  await Deno.writeFile(path, plain);
  const key = new Uint8Array(32).fill(9);
  const { header } = await ChunkedEncryptor.create(key);
  return { dir, path, plain, cipher: await openFileHeader(key, header), header };
}

/** Receives into a `.part` from chunk `from` until the file is complete or the carrier ends. */
async function receive(w: CarrierWorld, writer: PartWriter): Promise<{ firsts: number[]; bytes: number }> {
  const pushes = new Pushes(writer), firsts: number[] = [];
  let bytes = 0;
  while (!writer.complete) {
    const got = await w.next();
    if (!got) break;
    const at = got.i ?? writer.issued;
    firsts.push(at);
    bytes += got.data.length;
    await pushes.add(batchBytes(writer.size, writer.issued, at, [got.data]));
  }
  await pushes.done();
  return { firsts, bytes };
}

/** `batches`, each batch's parts noted in `made` as it is made. */
async function* watched(batches: AsyncGenerator<Batch>, made: Uint8Array[][]): AsyncGenerator<Batch> {
  for await (const b of batches) yield (made.push(b.parts), b);
}

/** Sends file `f` from chunk `from` on `w` and receives it into a `.part` started at that chunk. */
async function sendAndTake(
  w: CarrierWorld,
  batch: number,
  f: Awaited<ReturnType<typeof aFile>>,
  from: number,
) {
  const size = f.plain.length;
  const file = await Deno.open(f.path);
  const { out, hash } = await openPart(`${f.dir}/f.part`, size);
  try {
    const writer = new PartWriter(out, f.cipher, size, from, hash);
    const made: Uint8Array[][] = [], told: number[] = [];
    const src = { file, cipher: f.cipher, header: f.header, size };
    const [end, got] = await Promise.all([
      sendChunks(watched(chunkPieces(src, from, batch), made), w.carrier, (i) => told.push(i)),
      receive(w, writer),
    ]);
    return { end, got, told, made, writer, sha256: hash.hex() };
  } finally {
    file.close();
    out.close();
  }
}

/** The file a world is built for: its age header and size, the chunk its send starts at. */
export interface WorldFile {
  header: Uint8Array;
  size: number;
  from: number;
}

/**
 * Registers the suite for one carrier of `batch` chunks per batch (`make` builds a fresh world per
 * case, for the file it sends).
 */
export function carrierConformance(
  name: string,
  batch: number,
  make: (f: WorldFile) => Promise<CarrierWorld>,
): void {
  Deno.test(`carrier ${name}: a file of several batches arrives whole, verified, its chunks freed once taken`, async () => {
    const size = Math.round(3.5 * batch * CHUNK_SIZE) + 11;
    const f = await aFile(size);
    const w = await make({ header: f.header, size, from: 0 });
    try {
      const r = await sendAndTake(w, batch, f, 0);
      assert.equal(r.end, "done");
      assert.ok(r.writer.done, "every chunk written");
      assert.equal(r.sha256, await sha256Hex(f.plain), "the .part holds the file");
      assert.deepEqual(r.told, [0, 1, 2, 3].map((k) => k * batch), "each batch told once, in order");
      assert.deepEqual(r.got.firsts, r.told, "received in the order sent");
      assert.equal(r.got.bytes, cipherSize(size) - chunkOffset(0));
      for (const [k, parts] of r.made.entries()) {
        assert.ok(parts.every((p) => p.length === 0), `batch ${k}: its sealed chunks freed once taken`);
      }
    } finally {
      await w.close();
      await Deno.remove(f.dir, { recursive: true });
    }
  });

  Deno.test(`carrier ${name}: a send from chunk K (a resume) carries chunks K on only, opened at their index`, async () => {
    const size = 3 * batch * CHUNK_SIZE + 5, from = batch + 3;
    const f = await aFile(size);
    const w = await make({ header: f.header, size, from });
    try {
      const r = await sendAndTake(w, batch, f, from);
      assert.equal(r.end, "done");
      assert.equal(r.got.firsts[0], from, "the first batch starts at chunk K");
      assert.equal(r.got.bytes, cipherSize(size) - chunkOffset(from), "nothing before chunk K");
      assert.ok(r.writer.done, "chunks K on authenticated at their index");
      assert.equal(r.sha256, await sha256Hex(f.plain.subarray(from * CHUNK_SIZE)));
    } finally {
      await w.close();
      await Deno.remove(f.dir, { recursive: true });
    }
  });

  Deno.test(`carrier ${name}: a carrier cut while sending ends the send at the first chunk it did not take`, async () => {
    const size = 40 * batch * CHUNK_SIZE;
    const f = await aFile(size);
    const w = await make({ header: f.header, size, from: 0 });
    const file = await Deno.open(f.path);
    try {
      const told: number[] = [];
      const src = { file, cipher: f.cipher, header: f.header, size };
      const sending = sendChunks(chunkPieces(src, 0, batch), w.carrier, (i) => told.push(i));
      assert.ok(await w.next(), "the first batch came");
      w.cut();
      const end = await sending;
      assert.notEqual(end, "done");
      assert.notEqual(end, "stopped");
      const lost = (end as { lost: number }).lost;
      assert.equal(lost % batch, 0, "a batch's first chunk");
      assert.ok(lost >= batch && lost < 40 * batch, `lost at ${lost}`);
      assert.ok(told.every((i) => i < lost), "told only of batches before it");
      for (let got; (got = await w.next());) assert.ok((got.i ?? 0) < lost);
    } finally {
      file.close();
      await w.close();
      await Deno.remove(f.dir, { recursive: true });
    }
  });
}
