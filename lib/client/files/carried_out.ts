/**
 * The sending of one peer-mode file (carried.ts has the contract and the front): the age file's
 * chunks from chunk FROM on, PEER_BATCH chunks per `fdata` and its bulk frame, over the peer channel
 * as a carrier (`channelCarrier`) in files/carrier.ts's one sending loop `sendChunks`; the first
 * batch that could not be written is where the transfer pauses. And `Out`, what the sender keeps
 * of a file.
 */
import { fromBase64 } from "../../common/bytes.ts";
import { CHUNK_SIZE, type ChunkCipher, openFileHeader } from "../../crypto/age_stream.ts";
import { type ChunkCarrier, sendChunks, type SendEnd } from "./carrier.ts";
import { cipherChunks, type FileSum } from "./disk.ts";
import type { CarriedOutState } from "./book.ts";
import { type PeerFilesHost, progress, type Transfer, type Via } from "./carried_common.ts";
import { PEER_BATCH } from "./carried_common.ts";

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
  state: CarriedOutState;
  /** when it was offered (ms; none in an earlier version's book) */
  ts?: number;
}

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
  const batches = cipherChunks(o.path, o.cipher, o, from, PEER_BATCH, seen);
  const sent = (i: number) =>
    progress(ctx.host, o, Math.min(o.size, (i + PEER_BATCH) * CHUNK_SIZE), "active");
  let end: SendEnd;
  try {
    end = await sendChunks(batches, channelCarrier(via, o.fid), sent, () => o.gen !== gen);
  } catch (e) {
    await via.say({ t: "fend", fid: o.fid, ok: false, why: (e as Error).message }).catch(() => {});
    return ctx.end(false, (e as Error).message);
  }
  if (end === "stopped") return;
  if (end !== "done") return paused(ctx.host, o, end.lost);
  o.state = "sent-all"; // the peer's fend says whether it was saved
  sum?.finish(); // a no-op once every byte was seen on the way
}

/** A peer channel as a carrier (files/carrier.ts): each batch an `fdata` record and its bulk frame. */
export function channelCarrier(via: Via, fid: string): ChunkCarrier {
  return { put: (i, data) => via.say({ t: "fdata", fid, i, data }) };
}

function paused(host: PeerFilesHost, o: Out, i: number): void {
  o.state = "paused";
  progress(host, o, i * CHUNK_SIZE, "failed");
  const text =
    `Sending ${o.name} to ${o.peer} stopped: the connection dropped; it goes on when ${o.peer} is back`;
  host.emit({ type: "notice", text, level: "warn" });
}
