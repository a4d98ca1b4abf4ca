/**
 * `PartWriter` (issue 12): the one writer of a download's `.part`, for the relay, the direct path
 * and peer mode. It takes ciphertext in any piece sizes, authenticates each whole chunk by its index
 * (age_stream.ts, the vector-tested decryptor: the one home of the chunk rule) and writes only
 * verified plaintext, hashing it as it goes; a few pushes may be in flight at once. It writes to a
 * handle its caller opened (disk.ts `openPart`) and opens nothing, synchronously: into the page
 * cache that costs less than an awaited write, which copies the plaintext once more and hands it
 * to another thread and back per push (issue 36; the sender reads the same way, cipher.ts).
 */
import { concatBytes, release } from "../../common/bytes.ts";
import type { ChunkCipher } from "../../crypto/age_stream.ts";
import { releaseBody } from "../../protocol/frame.ts";
import { DecryptError } from "../../crypto/primitives.ts";
import type { PartHash } from "./disk.ts";
import { Garbage } from "./garbage.ts";
import { chunkCount, chunkLength } from "./layout.ts";

/**
 * Takes ciphertext in order from chunk `next` on (any piece sizes), authenticates each whole chunk by
 * its index and writes its plaintext; a chunk that fails throws DecryptError before anything of it is
 * written. A push's chunks are decrypted at once, while the pushes before it are still being
 * written: a caller may keep a few pushes in flight (each settles after those before it; after a
 * failed one, every later one fails too). `restart()`, with no push in flight, drops a partial
 * chunk and any failure (the bytes will come again from another source).
 */
export class PartWriter {
  #pending: Uint8Array = new Uint8Array(0);
  /** Chunks handed to decryption so far (`next`: written so far). */
  #issued: number;
  #tail: Promise<void> = Promise.resolve();
  /** Where a push's plaintexts are joined for one write (reused: writes run one after another). */
  #joined = new Uint8Array(0);
  /** What the socket below leaves behind per byte received, collected now and then (garbage.ts). */
  readonly #garbage = new Garbage();
  constructor(
    readonly out: Deno.FsFile,
    readonly cipher: ChunkCipher,
    readonly size: number,
    public next: number,
    readonly hash: PartHash,
  ) {
    this.#issued = next;
  }
  get done(): boolean {
    return this.next >= chunkCount(this.size);
  }
  /** The chunk the next push starts with (pushes still under way included). */
  get issued(): number {
    return this.#issued;
  }
  /** Every chunk has been pushed (some may still be under way: await their pushes). */
  get complete(): boolean {
    return this.#issued >= chunkCount(this.size);
  }
  restart(): void {
    this.#pending = new Uint8Array(0);
    this.#issued = this.next;
    this.#tail = Promise.resolve();
  }
  push(body: Uint8Array): Promise<void> {
    const pending = this.#pending.length ? concatBytes([this.#pending, body]) : body;
    // Every whole chunk at hand is authenticated (in parallel) before any of them is written.
    const parts: Promise<Uint8Array>[] = [];
    const count = chunkCount(this.size);
    let off = 0, k = this.#issued;
    for (let cl; k < count && pending.length - off >= (cl = chunkLength(this.size, k)); k++) {
      parts.push(this.cipher.decryptChunk(k, pending.subarray(off, off += cl), k === count - 1));
    }
    const extra = k >= count && off < pending.length;
    this.#pending = pending.subarray(off);
    // Decryption copied what it needed: a frame's own buffer is freed now, unless a partial chunk is kept.
    if (pending === body && off === body.length) releaseBody(body);
    this.#issued = k;
    const opened = Promise.all(parts);
    opened.catch(() => {}); // awaited below, once the pushes before this one are written
    const prev = this.#tail;
    const run = (async () => {
      await prev;
      const pts = await opened;
      if (pts.length) {
        const pt = pts.length === 1 ? pts[0]! : this.#join(pts);
        this.#write(pt);
        this.hash.update(pt);
        this.next = k;
        if (pts.length === 1) release(pt);
        this.#garbage.made(pt.length);
      }
      if (extra) throw new DecryptError("Data after the final chunk");
    })();
    this.#tail = run;
    return run;
  }
  /** All of `pt` at the file's position, on this thread (a write may take only part of it). */
  #write(pt: Uint8Array): void {
    for (let o = 0; o < pt.length;) o += this.out.writeSync(o === 0 ? pt : pt.subarray(o));
  }
  #join(pts: Uint8Array[]): Uint8Array {
    let n = 0;
    for (const p of pts) n += p.length;
    if (this.#joined.length < n) this.#joined = new Uint8Array(n);
    n = 0;
    for (const p of pts) {
      this.#joined.set(p, n);
      n += p.length;
      release(p);
    }
    return this.#joined.subarray(0, n);
  }
}
