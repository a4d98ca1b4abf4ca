/**
 * What peer mode's receiving side keeps of a file offered to it, and how an offer is judged
 * (files_in.ts runs the transfers): the `In` record and what of it the node's store keeps
 * (`booked`); an offer's checks before it may wait (`offerCheck`: a plain name, not too many waiting,
 * the age format, its key opens its header); and whether `--accept-files` takes it at once
 * (`autoVerdict`: verified peers only, within the size and the free space, files/policy.ts); and
 * the check of a data record (`recordData`: in order, whole chunks only, not past the size).
 */
import { concatBytes, fromBase64 } from "../../common/bytes.ts";
import { type ChunkCipher, FILE_FORMAT, openFileHeader } from "../../crypto/age_stream.ts";
import { BackendError } from "../backend.ts";
import { roomFor } from "../files/disk.ts";
import { chunkCount, wholeChunks } from "../files/layout.ts";
import { formatProblem, nameProblem } from "../files/offer.ts";
import type { PartWriter } from "../files/part_writer.ts";
import { DEFAULT_MAX_SIZE, judgeOffer } from "../files/policy.ts";
import type { Transfer, Via } from "./files_common.ts";
import type { FileRecord } from "./wire.ts";

export type InState = "offered" | "receiving" | "paused" | "done" | "rejected" | "failed";

/** A file offered to this node, received or being received. */
export interface In extends Transfer {
  dir: "down";
  key: string;
  hdr: string;
  /** opened from key and header when first needed (not kept in the book) */
  cipher?: ChunkCipher;
  state: InState;
  target?: string;
  /** the open `.part` while receiving */
  w?: PartWriter;
  /** pushes to `w` under way (at most IN_FLIGHT): a record is decrypted while the ones before it are written */
  flying?: Promise<void>[];
  next: number;
  saved?: PromiseWithResolvers<string>;
  /** the stall bound's timer while receiving (file_stall.ts) */
  stall?: ReturnType<typeof setTimeout>;
}

/** The states of a transfer not over yet. */
export const IN_OPEN: readonly InState[] = ["offered", "receiving", "paused"];
/** Offers waiting for an answer, from every peer together. */
export const MAX_WAITING = 32;

/** What the node's store keeps of each transfer (nothing of a run: channel, cipher, open file, timers). */
export function booked(ins: Iterable<In>): unknown[] {
  return [...ins].map((i) => {
    const {
      dir: _d,
      via: _v,
      gen: _g,
      cipher: _c,
      w: _w,
      next: _n,
      saved: _s,
      stall: _t,
      flying: _f,
      ...keep
    } = i;
    return keep;
  });
}

/** Why offer `r` is refused, or the cipher its key opens from its header. */
export async function offerCheck(
  r: Extract<FileRecord, { t: "foffer" }>,
  waiting: number,
): Promise<{ why: string } | { cipher: ChunkCipher }> {
  const problem = nameProblem(r.name);
  if (problem) return { why: problem };
  if (waiting >= MAX_WAITING) return { why: "too many offers are waiting" };
  if (r.fmt !== FILE_FORMAT) return { why: formatProblem(r.fmt) };
  try {
    return { cipher: await openFileHeader(fromBase64(r.key), fromBase64(r.hdr)) };
  } catch {
    return { why: "its key does not open its header" };
  }
}

/**
 * With `--accept-files` (`auto`), whether the offer is taken at once: from verified peers only, up
 * to 4 GiB and the free space of the download folder (files/policy.ts); null without it.
 */
export async function autoVerdict(
  auto: boolean | undefined,
  downloads: string | null,
  o: { from: string; name: string; size: number; verified: boolean },
): Promise<ReturnType<typeof judgeOffer> | null> {
  if (!auto) return null;
  const room = downloads ? await roomFor(downloads) : null;
  return judgeOffer({ anyone: false, maxSize: DEFAULT_MAX_SIZE }, { ...o, resumed: false }, o.verified, room);
}

/** The record of offer `r` (its name already made safe), waiting for an answer. */
export function offeredIn(
  peer: string,
  via: Via,
  r: Extract<FileRecord, { t: "foffer" }>,
  cipher: ChunkCipher,
): In {
  const { fid, name, size, sha256, key, hdr } = r;
  return {
    dir: "down",
    fid,
    peer,
    name,
    size,
    sha256,
    key,
    hdr,
    cipher,
    state: "offered",
    via,
    next: 0,
    gen: 0,
  };
}

/**
 * The bytes of a data record starting at chunk `at` for a `size`-byte file whose next chunk due is
 * `due`; `file_order` when out of order, `file_size` when it ends inside a chunk or goes past the size.
 */
export function recordData(size: number, due: number, at: number, data: readonly Uint8Array[]): Uint8Array {
  if (at !== due) throw new BackendError("file_order", `chunk ${at} came where chunk ${due} was due`);
  const bytes = data.length === 1 ? data[0]! : concatBytes(data);
  // A record holds whole chunks only: a size that does not fit the data shows here.
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
