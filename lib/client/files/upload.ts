/**
 * The relay side of sending a file (issue 12; `FileTransfers.send` in transfers.ts drives it, from the
 * offset the server reports): the relay is a carrier (carrier.ts `ChunkCarrier`, `relayCarrier`) whose
 * batches of RELAY_BATCH chunks go in `file.put` bodies, WINDOW of them in flight (the server handles
 * one connection's requests in order) while cipher.ts reads and encrypts AHEAD more. A body taken
 * only in part is the carrier's `Lost`: the send goes on from where the server got. In `auto` mode,
 * as soon as the recipient's direct path answers, the rest goes there (direct.ts); if that breaks
 * off, the relay goes on from the server's offset. Opens nothing: the file handle comes in `src`.
 */
import type { PeerChannel } from "../../net/peer_net.ts";
import { FILE_HEADER_LEN } from "../../crypto/age_stream.ts";
import { BackendError } from "../backend.ts";
import { type Batch, type ChunkCarrier, Lost, sendChunks } from "./carrier.ts";
import { chunkPieces, partsLength, type Source } from "./cipher.ts";
import { pushDirect } from "./direct.ts";
import { chunkOffset, cipherSize, RELAY_BATCH, wholeChunks } from "./layout.ts";
import type { Stall } from "./stall.ts";

/** Request bodies in flight per transfer: hides the round trip of one request. */
export const WINDOW = 4;
const EMPTY = new Uint8Array(0);

export interface Upload {
  src: Source;
  /** Sends a body at ciphertext offset `off`; resolves with how far the server has the file. */
  put(off: number, body: Uint8Array | readonly Uint8Array[]): Promise<number>;
  /** A channel straight to the recipient when its direct path is open now, else null. */
  direct(): Promise<PeerChannel | null>;
  progress(done: number): void;
  /** Bounds the wait for the server's answers (stall.ts); unbounded without. */
  stall?: Stall;
}

/** The relay as a carrier from the server's offset `have`: `have` follows the server's answers. */
export interface RelayCarrier extends ChunkCarrier {
  readonly have: number;
  /** Why the carrier broke (a refusal, a lost connection, a stall), unless it only took a body in part. */
  readonly failure: unknown;
}

/** The chunk holding ciphertext offset `off` of a `size`-byte file (the header counts as chunk 0's). */
export function chunkAt(size: number, off: number): number {
  return off < FILE_HEADER_LEN ? 0 : wholeChunks(size, 0, off - FILE_HEADER_LEN).next;
}

/** `parts` without their first `n` bytes. */
function cutFront(parts: readonly Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of parts) {
    if (n >= p.length) n -= p.length;
    else (out.push(n ? p.subarray(n) : p), n = 0);
  }
  return out;
}

/**
 * The relay from the server's offset `have` as a carrier: chunk `i`'s batch is a `file.put` at its
 * offset (the header first for chunk 0; what the server has cut off the first), WINDOW in flight. An
 * answer short of the body's end (or past it) is `Lost` at the chunk the server got to; any later
 * answer then too. A refusal, a lost connection or a stall is kept in `failure` and ends the send.
 */
export function relayCarrier(u: Upload, have: number): RelayCarrier {
  const start = have;
  let broke: number | null = null, failure: unknown = null;
  const put = async (i: number, parts: readonly Uint8Array[]) => {
    const at = i === 0 ? 0 : chunkOffset(i), whole = i === 0 ? [u.src.header, ...parts] : parts;
    const body = at < start ? cutFront(whole, start - at) : whole, off = Math.max(at, start);
    const asked = u.put(off, body);
    const next = await (u.stall ? u.stall.race(asked) : asked);
    if (broke !== null) throw new Lost(broke);
    if (next <= have) throw new BackendError("file_stalled", "The server did not take the file's data");
    have = next;
    u.stall?.moved(have);
    if (next !== off + partsLength(body)) throw new Lost(broke = chunkAt(u.src.size, next));
  };
  return {
    window: WINDOW,
    get have() {
      return have;
    },
    get failure() {
      return failure;
    },
    put: (i, parts) =>
      put(i, parts).catch((e) => {
        if (!(e instanceof Lost)) failure ??= e;
        throw e instanceof Lost ? e : new Lost(broke ?? i);
      }),
  };
}

/** `batches`, until the recipient's direct path answers (then `to.ch` holds its channel). */
async function* untilDirect(
  batches: AsyncGenerator<Batch>,
  u: Upload,
  to: { ch: PeerChannel | null },
): AsyncGenerator<Batch> {
  try {
    for (;;) {
      if ((to.ch = await u.direct())) return;
      const b = await batches.next();
      if (b.done) return;
      yield b.value;
    }
  } finally {
    await batches.return(undefined);
  }
}

/** Uploads from `have` (the server's offset) to the end, or hands over to the direct path. */
export async function relayUpload(u: Upload, have: number): Promise<"direct" | "relay"> {
  const total = cipherSize(u.src.size);
  while (have < total) {
    const carrier = relayCarrier(u, have), to = { ch: null as PeerChannel | null };
    u.progress(have);
    u.stall?.moved(have);
    const batches = chunkPieces(u.src, chunkAt(u.src.size, have), RELAY_BATCH);
    await sendChunks(untilDirect(batches, u, to), carrier, () => u.progress(carrier.have), () => !!to.ch);
    have = carrier.have;
    if (!to.ch) { // all sent, or taken in part: on from the server's offset
      if (carrier.failure) throw carrier.failure;
      continue;
    }
    if (await pushDirect(to.ch, u.src, u.progress)) return "direct";
    have = await u.put(0, EMPTY); // broke off: the relay goes on
  }
  return "relay";
}
