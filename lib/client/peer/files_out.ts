/**
 * The sending loop of one peer-mode file (files.ts has the contract and the front): the age file's
 * chunks from chunk FROM on, PEER_BATCH chunks per `fdata` and its bulk frame, AHEAD batches read
 * and encrypted ahead (files/disk.ts `cipherChunks`), each batch freed once the channel took it;
 * the first that could not be written is where the transfer pauses. And `Out`, what the sender keeps
 * of a file.
 */
import { fromBase64, release } from "../../common/bytes.ts";
import { CHUNK_SIZE, type ChunkCipher, openFileHeader } from "../../crypto/age_stream.ts";
import { cipherChunks, type FileSum } from "../files/disk.ts";
import { type PeerFilesHost, progress, type Transfer, type Via } from "./files_common.ts";
import { PEER_BATCH } from "./wire.ts";

/** Batches encrypted ahead of the channel (bounded memory: ≈ 2 MiB), as on the direct path. */
const AHEAD = 4;

export type OutState = "offered" | "sending" | "sent-all" | "paused" | "sent" | "failed";
export interface Out extends Transfer {
  dir: "up";
  path: string;
  mtime: number;
  /** opened from key and header when first needed (not kept in the book) */
  cipher?: ChunkCipher;
  /** the SHA-256 being taken while `sha256` is "" (not kept in the book) */
  sum?: FileSum;
  /** the channel it was offered on without its SHA-256 (`fsum` goes there only) */
  bare?: Via;
  key: string;
  hdr: string;
  state: OutState;
  /** when it was offered (ms; none in an earlier version's book) */
  ts?: number;
}

/** The states of a file not over yet. */
export const OUT_OPEN: readonly OutState[] = ["offered", "sending", "sent-all", "paused"];

/**
 * Sends `o` on `via` from chunk `from` until the end, the channel drops (paused: the peer's next
 * `fget` goes on) or reading fails (`end`: the transfer fails); its `sum` sees what is read.
 */
export async function pump(
  o: Out,
  via: Via,
  from: number,
  ctx: { host: PeerFilesHost; end(ok: false, why: string): void },
): Promise<void> {
  const gen = ++o.gen;
  o.via = via;
  o.state = "sending";
  o.cipher ??= await openFileHeader(fromBase64(o.key), fromBase64(o.hdr));
  if (o.gen !== gen) return;
  const sum = o.sum;
  const seen = sum && ((pos: number, pt: Uint8Array) => sum.seen(pos, pt));
  const it = cipherChunks(o.path, o.cipher, o, from, PEER_BATCH, AHEAD, seen);
  // One batch is written while the next one is read and encrypted: the first that could not be
  // written (the channel dropped) is where the transfer pauses.
  let sending: Promise<number | null> = Promise.resolve(null);
  try {
    for (;;) {
      let b: IteratorResult<{ i: number; parts: Uint8Array[] }>;
      try {
        b = await it.next();
      } catch (e) {
        const lost = await sending;
        if (o.gen !== gen) return;
        if (lost !== null) return paused(ctx.host, o, lost);
        await via.say({ t: "fend", fid: o.fid, ok: false, why: (e as Error).message }).catch(() => {});
        return ctx.end(false, (e as Error).message);
      }
      const lost = await sending;
      if (o.gen !== gen) return;
      if (lost !== null) return paused(ctx.host, o, lost);
      if (b.done) break;
      sending = sendBatch(ctx.host, o, gen, via, b.value.i, b.value.parts);
    }
    o.state = "sent-all"; // the peer's fend says whether it was saved
    sum?.finish(); // a no-op once every byte was seen on the way
  } finally {
    await sending;
    await it.return(undefined).catch(() => {});
  }
}

/**
 * Writes batch `i` of `o` on the channel; null once written (its sealed chunks freed then, not at
 * a collection), else the chunk it stopped at.
 */
async function sendBatch(
  host: PeerFilesHost,
  o: Out,
  gen: number,
  via: Via,
  i: number,
  parts: Uint8Array[],
): Promise<number | null> {
  try {
    await via.say({ t: "fdata", fid: o.fid, i, data: parts });
  } catch {
    return i;
  }
  for (const p of parts) release(p);
  if (o.gen === gen) progress(host, o, Math.min(o.size, (i + PEER_BATCH) * CHUNK_SIZE), "active");
  return null;
}

function paused(host: PeerFilesHost, o: Out, i: number): void {
  o.state = "paused";
  progress(host, o, i * CHUNK_SIZE, "failed");
  const text =
    `Sending ${o.name} to ${o.peer} stopped: the connection dropped; it goes on when ${o.peer} is back`;
  host.emit({ type: "notice", text, level: "warn" });
}
