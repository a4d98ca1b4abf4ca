/**
 * What two peer nodes say inside their authenticated channel (pure codec). Each record is one JSON
 * object, checked against its schema (valibot, strict: unknown keys and kinds are refused):
 *
 *   hello   {t:"hello", listen?, bundle}   first record both ways: where I listen ("host:port", or
 *                                          ":port" for "the address you reached me from") and my
 *                                          signed prekey bundle, to start a Double Ratchet (X3DH)
 *   msg     {t:"msg", mid, ts, env}        one message: DmManager envelope (base64), my id and time
 *   ack     {t:"ack", mid}                 saved: drop it from your outbox
 *   typing  {t:"typing", active}           the user is typing to you (or stopped)
 *   sig     {t:"sig", mid, env}            a signal (core/link.ts `signal`): a sealed body, never acked
 *   ping    {t:"ping"}                     keepalive (a channel silent for three periods is dropped)
 *   who     {t:"who"}                      /peers --discover: whom do you know? (answered to verified peers)
 *   intro   {t:"intro", peers}             name, address and identity of the peers I know (at most 64)
 *   foffer  {t:"foffer", fid, name, size,  /send: a file offered (files/carried.ts): plaintext name, size and
 *            sha256, key, fmt, hdr}        SHA-256 ("" until hashed: it follows as `fsum`), the one-time
 *                                          X25519 identity, "age" and the age header
 *   fhash   {t:"fhash", fid}               the offer waits for a person, who is shown its SHA-256: hash it now
 *   fsum    {t:"fsum", fid, sha256}        the SHA-256 of a file offered without it (hashed as it was read)
 *   fget    {t:"fget", fid, from}          accepted: send the ciphertext from chunk `from` (resume)
 *   fdata   {t:"fdata", fid, i, n}         whole age chunks from chunk `i` (at most PEER_BATCH): the
 *                                          `n` bytes come in the bulk frame right after this record
 *                                          (not JSON, not sealed again: each chunk authenticates itself
 *                                          under the file key), as on the direct path
 *   fend    {t:"fend", fid, ok, why?}      either way: saved (ok) or refused, cancelled, failed (why)
 *
 * `decodePeerRecord` throws `SyntaxError` on anything else; `joinFileData` when the bulk frame is not
 * the `n` bytes announced. In memory `fdata` holds its bytes (`FileData`); `encodeFileData` splits it
 * into the record and the bulk frame's parts.
 */
import * as v from "valibot";
import { utf8, utf8Strict } from "../../common/bytes.ts";
import type { PrekeyBundle } from "../../crypto/prekeys.ts";
import type { PublicIdentity } from "../../crypto/identity.ts";
import { ENC_CHUNK_SIZE, MAX_CHUNKS } from "../../crypto/age_stream.ts";
import { MAX_FILE_SIZE } from "../files/offer.ts";
import { type FileData, type FileHead, PEER_BATCH } from "../files/carried_common.ts";

export { type FileData, type FileRecord, isFileRecord } from "../files/carried_common.ts";

/** Chunks per `fdata` (files/carried_common.ts: the direct path's, under the channel's 1 MiB frame cap). */
export { PEER_BATCH };

const B64 = (max: number) => v.pipe(v.string(), v.maxLength(max), v.regex(/^[A-Za-z0-9+/]*={0,2}$/));
const Mid = v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/));
const Id = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
const Identity = v.strictObject({ sign: B64(64), dh: B64(64), sig: B64(128) });
const Addr = v.pipe(v.string(), v.maxLength(300), v.regex(/^[^\s]*:\d{1,5}$/));
const Fid = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{8,64}$/));
const Chunk = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_CHUNKS));
const Bundle = v.strictObject({
  identity: Identity,
  spk: v.strictObject({ id: Id, pub: B64(64), sig: B64(128) }),
});

const PeerRecordSchema = v.variant("t", [
  v.strictObject({
    t: v.literal("hello"),
    listen: v.optional(Addr),
    bundle: Bundle,
  }),
  v.strictObject({
    t: v.literal("msg"),
    mid: Mid,
    ts: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(8.64e15)),
    env: B64(1 << 20),
  }),
  v.strictObject({ t: v.literal("ack"), mid: Mid }),
  v.strictObject({ t: v.literal("typing"), active: v.boolean() }),
  v.strictObject({ t: v.literal("sig"), mid: Mid, env: B64(1 << 16) }),
  v.strictObject({ t: v.literal("ping") }),
  v.strictObject({ t: v.literal("who") }),
  v.strictObject({
    t: v.literal("intro"),
    peers: v.pipe(
      v.array(
        v.strictObject({
          name: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
          addr: Addr,
          identity: Identity,
        }),
      ),
      v.maxLength(64),
    ),
  }),
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
]);

export type PeerWireRecord =
  | { t: "hello"; listen?: string; bundle: PrekeyBundle }
  | { t: "msg"; mid: string; ts: number; env: string }
  | { t: "ack"; mid: string }
  | { t: "typing"; active: boolean }
  | { t: "sig"; mid: string; env: string }
  | { t: "ping" }
  | { t: "who" }
  | { t: "intro"; peers: { name: string; addr: string; identity: PublicIdentity }[] }
  | FileHead
  | { t: "fdata"; fid: string; i: number; n: number };

export function encodePeerRecord(r: PeerWireRecord): Uint8Array {
  return utf8.encode(JSON.stringify(r));
}

/** `fdata` as its record and the parts of the bulk frame that must follow it at once. */
export function encodeFileData(r: FileData): { head: Uint8Array; body: readonly Uint8Array[] } {
  const n = r.data.reduce((k, b) => k + b.length, 0);
  return { head: encodePeerRecord({ t: "fdata", fid: r.fid, i: r.i, n }), body: r.data };
}

/** An `fdata` record with the bulk frame that came after it; a frame of another length is refused. */
export function joinFileData(h: Extract<PeerWireRecord, { t: "fdata" }>, body: Uint8Array): FileData {
  if (body.length !== h.n) {
    throw new SyntaxError(`Bad peer record: ${body.length} bytes of data, ${h.n} announced`);
  }
  return { t: "fdata", fid: h.fid, i: h.i, data: [body] };
}

export function decodePeerRecord(b: Uint8Array): PeerWireRecord {
  let j: unknown;
  try {
    j = JSON.parse(utf8Strict.decode(b));
  } catch {
    throw new SyntaxError("Peer record is not JSON");
  }
  const r = v.safeParse(PeerRecordSchema, j);
  if (!r.success) throw new SyntaxError(`Bad peer record: ${r.issues[0]?.message ?? "invalid"}`);
  return r.output as PeerWireRecord;
}
