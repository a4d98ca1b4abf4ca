/**
 * The relay side of sending a file (issue 12; `FileTransfers.send` in transfers.ts drives it, from the
 * offset the server reports): the age ciphertext goes in `file.put` bodies of RELAY_BATCH chunks,
 * WINDOW of them in flight (the server handles one connection's requests in order) and AHEAD more
 * read and encrypted (cipher.ts). A body taken only in part sends on from where the server got.
 * In `auto` mode, as soon as the recipient's direct path answers, the rest goes there
 * (direct.ts); if that breaks off, the relay goes on from the server's offset. Opens nothing:
 * the file handle comes in `src`.
 */
import { release } from "../../common/bytes.ts";
import type { PeerChannel } from "../../net/peer_net.ts";
import { BackendError } from "../backend.ts";
import { AHEAD, cipherPieces, partsLength, type Source } from "./cipher.ts";
import { pushDirect } from "./direct.ts";
import { cipherSize, RELAY_BATCH } from "./layout.ts";
import type { Stall } from "./stall.ts";

/** Request bodies in flight per transfer: hides the round trip of one request. */
const WINDOW = 4;
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

/** Uploads from `have` (the server's offset) to the end, or hands over to the direct path. */
export async function relayUpload(u: Upload, have: number): Promise<"direct" | "relay"> {
  const total = cipherSize(u.src.size);
  const inflight: { end: number; put: Promise<number>; body: Uint8Array[] }[] = [];
  let pos = have;
  let pieces = cipherPieces(u.src, pos, RELAY_BATCH, AHEAD);
  try {
    while (have < total) {
      const ch = await u.direct();
      if (ch) { // the recipient is reachable: the rest goes straight to it
        await Promise.allSettled(inflight.splice(0).map((x) => x.put));
        await pieces.return(undefined);
        if (await pushDirect(ch, u.src, u.progress)) return "direct";
        pos = have = await u.put(0, EMPTY); // broke off: the relay goes on
        pieces = cipherPieces(u.src, pos, RELAY_BATCH, AHEAD);
        continue;
      }
      while (pos < total && inflight.length < WINDOW) {
        const body = (await pieces.next()).value!;
        const put = u.put(pos, body);
        put.catch(() => {}); // awaited in order below
        inflight.push({ end: pos += partsLength(body), put, body });
      }
      u.progress(have);
      u.stall?.moved(have);
      const first = inflight.shift()!;
      const next = await (u.stall ? u.stall.race(first.put) : first.put);
      // Framed and sent: the sealed chunks are freed now, not at the next collection (the header stays).
      for (const b of first.body) if (b.buffer !== u.src.header.buffer) release(b);
      if (next <= have) {
        throw new BackendError("file_stalled", "The server did not take the file's data");
      }
      if (next !== first.end) { // taken only in part: drop what follows and go on from there
        await Promise.allSettled(inflight.splice(0).map((x) => x.put));
        await pieces.return(undefined);
        pos = next;
        pieces = cipherPieces(u.src, pos, RELAY_BATCH, AHEAD);
      }
      have = next;
    }
    return "relay";
  } finally {
    await Promise.allSettled(inflight.map((x) => x.put));
    await pieces.return(undefined);
  }
}
