/**
 * The carriers of a file's age chunks (issue 70): one sending loop and one receiving window for every
 * way a file's chunks go from its sender towards its recipient — the direct socket (direct.ts
 * `pushDirect` and receive.ts `download`), a peer-mode channel (carried_out.ts and carried_in.ts) and
 * the relay's `file.put` requests (upload.ts `relayCarrier`, a window of them in flight) — behind
 * `ChunkCarrier`. tests/carrier_conformance.ts is the one suite every carrier runs.
 *
 * - `sendChunks`: the sender's loop over the batches cipher.ts `chunkPieces` reads and encrypts
 *   ahead; one batch is written while the next ones are made, each batch's sealed chunks freed once
 *   the carrier took it (not at a collection), up to the carrier's `window` of batches being put at
 *   once; the first chunk a carrier did not take (its `Lost`, else the first batch that failed) is
 *   where the transfer stopped (the recipient resumes there);
 * - `Pushes` (the receiver's window): batches handed to the `.part`'s writer (part_writer.ts), a few in
 *   flight, so one is decrypted while those before it are written;
 * - `batchBytes`: a batch received with its first chunk's index (a peer channel's `fdata`) checked —
 *   in order, whole chunks only, not past the size offered.
 */
import { concatBytes, release } from "../../common/bytes.ts";
import { BackendError } from "../backend.ts";
import { chunkCount, wholeChunks } from "./layout.ts";
import type { PartWriter } from "./part_writer.ts";

/** One way a file's chunks go to its recipient. */
export interface ChunkCarrier {
  /**
   * Sends the sealed chunks `parts`, chunk `i` first; resolves once taken, rejects once the carrier
   * broke or took them only in part: with `Lost` naming the first chunk not taken, else at chunk `i`.
   */
  put(i: number, parts: readonly Uint8Array[]): Promise<void>;
  /** Batches put at once, answered in order (a relay's requests in flight); 1 when absent. */
  readonly window?: number;
}

/** A carrier's refusal naming the first chunk the other end did not take. */
export class Lost extends Error {
  constructor(readonly at: number) {
    super(`the carrier took chunks before ${at} only`);
  }
}

/** A batch of sealed chunks as cipher.ts `chunkPieces` makes them: chunk `i` first. */
export interface Batch {
  i: number;
  parts: Uint8Array[];
}

/**
 * How a send over a carrier ended: `done` (every batch taken), `stopped` (its owner stopped it:
 * `stop()` said so) or `lost` (the carrier broke: the first chunk it did not take).
 */
export type SendEnd = "done" | "stopped" | { lost: number };

/**
 * Sends `batches` over `carrier` until the end, the carrier breaks or `stop()` holds. `taken` is told
 * of each batch the carrier took (its first chunk and its bytes). A batch that cannot be made
 * (the file could not be read, or changed) throws, unless the carrier broke first (then `lost`).
 */
export async function sendChunks(
  batches: AsyncGenerator<Batch>,
  carrier: ChunkCarrier,
  taken: (i: number, bytes: number) => void,
  stop: () => boolean = () => false,
): Promise<SendEnd> {
  // Up to `window` batches are put while the next one is read and encrypted; answered in order.
  const window = carrier.window ?? 1, sending: Promise<number | null>[] = [];
  let gone = Infinity; // the first chunk not taken so far: no batch past it is told of
  const put = (b: Batch) =>
    putBatch(carrier, b, (i, n) => i < gone && taken(i, n), stop).then((lost) => {
      if (lost !== null) gone = Math.min(gone, lost);
      return lost;
    });
  try {
    for (;;) {
      let b: IteratorResult<Batch>;
      try {
        b = await batches.next();
      } catch (e) {
        const lost = await firstLost(sending, 0);
        if (stop()) return "stopped";
        if (lost !== null) return { lost };
        throw e;
      }
      const lost = await firstLost(sending, b.done ? 0 : window - 1);
      if (stop()) return "stopped";
      if (lost !== null) return { lost };
      if (b.done) return "done";
      sending.push(put(b.value));
    }
  } finally {
    await Promise.all(sending);
    await batches.return(undefined).catch(() => {});
  }
}

/** Awaits the puts under way, oldest first, until `keep` are left; the first chunk not taken, if any. */
async function firstLost(sending: Promise<number | null>[], keep: number): Promise<number | null> {
  while (sending.length > keep) {
    const lost = await sending.shift()!;
    if (lost !== null) return lost;
  }
  return null;
}

/** Puts batch `b`; null once taken (its sealed chunks freed then), else the chunk it stopped at. */
async function putBatch(
  carrier: ChunkCarrier,
  b: Batch,
  taken: (i: number, bytes: number) => void,
  stop: () => boolean,
): Promise<number | null> {
  try {
    await carrier.put(b.i, b.parts);
  } catch (e) {
    return e instanceof Lost ? e.at : b.i;
  }
  let bytes = 0;
  for (const p of b.parts) (bytes += p.length, release(p));
  if (!stop()) taken(b.i, bytes);
  return null;
}

/** Batches being decrypted and written at once (≈ 1.5 MiB at most). */
export const IN_FLIGHT = 3;

/**
 * The receiver's window on a `.part`'s writer: each batch is decrypted while the ones before it are
 * written, at most IN_FLIGHT under way.
 */
export class Pushes {
  readonly #flying: Promise<void>[] = [];

  constructor(readonly w: PartWriter) {}

  /** Pushes `body`; resolves once at most IN_FLIGHT are under way, or all are written when it was the last. */
  async add(body: Uint8Array): Promise<void> {
    const pushed = this.w.push(body);
    pushed.catch(() => {}); // awaited below, in order
    this.#flying.push(pushed);
    if (this.#flying.length > IN_FLIGHT || this.w.complete) await this.#flying.shift();
    while (this.w.complete && this.#flying.length) await this.#flying.shift();
  }

  /** Waits for every push under way; throws the failure of any (a writer fails every push after a failed one). */
  async done(): Promise<void> {
    const all = this.#flying.splice(0);
    await Promise.allSettled(all);
    await all.at(-1);
  }
}

/**
 * The bytes of a batch starting at chunk `at` for a `size`-byte file whose next chunk due is `due`;
 * `file_order` when out of order, `file_size` when it ends inside a chunk or goes past the size.
 */
export function batchBytes(size: number, due: number, at: number, data: readonly Uint8Array[]): Uint8Array {
  if (at !== due) throw new BackendError("file_order", `chunk ${at} came where chunk ${due} was due`);
  const bytes = data.length === 1 ? data[0]! : concatBytes(data);
  // A batch holds whole chunks only: a size that does not fit the data shows here.
  const fit = wholeChunks(size, at, bytes.length);
  if (fit.rest) {
    const past = fit.next >= chunkCount(size);
    throw new BackendError(
      "file_size",
      past ? "more data than the size offered" : "a record ended inside a chunk",
    );
  }
  return bytes;
}
