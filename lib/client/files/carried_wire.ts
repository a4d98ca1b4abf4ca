/**
 * The records of a carried transfer (files/carried.ts and its halves) as they travel inside a peer
 * channel (pure codec pieces; peer/wire.ts decodes every record of the channel, these among them):
 *
 *   foffer  {t:"foffer", fid, name, size,  /send: a file offered: plaintext name, size and SHA-256 ("" until
 *            sha256, key, fmt, hdr}        hashed: it follows as `fsum`), the one-time X25519 identity,
 *                                          "age" and the age header
 *   fhash   {t:"fhash", fid}               the offer waits for a person, who is shown its SHA-256: hash it now
 *   fsum    {t:"fsum", fid, sha256}        the SHA-256 of a file offered without it (hashed as it was read)
 *   fget    {t:"fget", fid, from}          accepted: send the ciphertext from chunk `from` (resume)
 *   fdata   {t:"fdata", fid, i, n}         whole age chunks from chunk `i` (at most PEER_BATCH): the
 *                                          `n` bytes come in the bulk frame right after this record
 *                                          (not JSON, not sealed again: each chunk authenticates itself
 *                                          under the file key), as on the direct path
 *   fend    {t:"fend", fid, ok, why?}      either way: saved (ok) or refused, cancelled, failed (why)
 *
 * In memory `fdata` holds its bytes (`FileData`, carried_common.ts); `encodeFileData` splits it into
 * the record and the bulk frame's parts, `joinFileData` joins them again (a frame of another length
 * than announced is refused with a `SyntaxError`).
 */
import * as v from "valibot";
import { utf8 } from "../../common/bytes.ts";
import { ENC_CHUNK_SIZE, MAX_CHUNKS } from "../../crypto/age_stream.ts";
import { MAX_FILE_SIZE } from "./offer.ts";
import { type FileData, PEER_BATCH } from "./carried_common.ts";

const B64 = (max: number) => v.pipe(v.string(), v.maxLength(max), v.regex(/^[A-Za-z0-9+/]*={0,2}$/));
const Fid = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,64}$/));
const Chunk = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_CHUNKS));

/** The schemas of the file records (strict: unknown keys are refused), for the channel's one variant. */
export const FILE_RECORD_SCHEMAS = [
  v.strictObject({
    t: v.literal("foffer"),
    fid: Fid,
    name: v.pipe(v.string(), v.minLength(1), v.maxLength(1024)),
    size: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_FILE_SIZE)),
    sha256: v.pipe(v.string(), v.regex(/^([0-9a-f]{64})?$/)),
    key: v.pipe(B64(44), v.length(44)),
    // Checked by the receiver (an offer of another format is refused with its reason).
    fmt: v.optional(v.pipe(v.string(), v.maxLength(64))),
    hdr: B64(1024),
  }),
  v.strictObject({ t: v.literal("fhash"), fid: Fid }),
  v.strictObject({ t: v.literal("fsum"), fid: Fid, sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)) }),
  v.strictObject({ t: v.literal("fget"), fid: Fid, from: Chunk }),
  // One batch of whole chunks: PEER_BATCH × (64 KiB + tag) bytes at most, in the next (bulk) frame.
  v.strictObject({
    t: v.literal("fdata"),
    fid: Fid,
    i: Chunk,
    n: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(PEER_BATCH * ENC_CHUNK_SIZE)),
  }),
  v.strictObject({
    t: v.literal("fend"),
    fid: Fid,
    ok: v.boolean(),
    why: v.optional(v.pipe(v.string(), v.maxLength(300))),
  }),
] as const;

/** An `fdata` record as it travels: the bulk frame's `n` bytes follow it. */
export type FileDataHead = { t: "fdata"; fid: string; i: number; n: number };

/** `fdata` as its record and the parts of the bulk frame that must follow it at once. */
export function encodeFileData(r: FileData): { head: Uint8Array; body: readonly Uint8Array[] } {
  const n = r.data.reduce((k, b) => k + b.length, 0);
  const head: FileDataHead = { t: "fdata", fid: r.fid, i: r.i, n };
  return { head: utf8.encode(JSON.stringify(head)), body: r.data };
}

/** An `fdata` record with the bulk frame that came after it; a frame of another length is refused. */
export function joinFileData(h: FileDataHead, body: Uint8Array): FileData {
  if (body.length !== h.n) {
    throw new SyntaxError(`Bad peer record: ${body.length} bytes of data, ${h.n} announced`);
  }
  return { t: "fdata", fid: h.fid, i: h.i, data: [body] };
}
