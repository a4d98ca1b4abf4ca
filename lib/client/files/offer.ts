/**
 * Pure parts of file transfers (issue 12), no I/O:
 * - the offer: an end-to-end encrypted DM control payload `{v: 1, k: "file", mid, fid, name, size,
 *   key, fmt, sha256}` (file id, plaintext name and size, the transfer's one-time X25519 identity,
 *   `fmt: "age"`: the payload format, any other or none refused; the plaintext SHA-256), bound to
 *   its message id like every payload; the receiving codec files it in the
 *   transfer records (book.ts `offerWrites`) and it is never shown as a chat line. A sender that has not hashed
 *   the file yet offers it with `sha256: ""` (it hashes while it sends) and sends the sum later as
 *   `{v: 1, k: "file-sum", mid, fid, sha256}` (book.ts `sumWrites` files it); the recipient renames its
 *   `.part` only once it has the sum and the file matches it;
 * - (the ciphertext layout of an age file as Parley writes it: layout.ts);
 * - (the records kept of transfers, their typed states and their bound: book.ts); waiting offer N
 *   (`pickOffer`) and file sent N (`pickSent`);
 * - the withdrawal `{v: 1, k: "file-gone", mid, fid}`: the sender took its offer back (the server's
 *   copy is gone too); book.ts `goneWrites` marks the offer withdrawn, only when it came from that sender and
 *   was not saved yet;
 * - the direct-path candidate `{v: 1, k: "file-ready", mid, fid, host, port, token}`: the recipient,
 *   having accepted, listens on `host:port` and tells the sender (end to end, so the server sees
 *   neither the address nor the token) where to connect and which token to present first;
 * (What a received name becomes on disk: file_name.ts.)
 */
import { fromBase64, toBase64, utf8, utf8Strict } from "../../common/bytes.ts";
import { FILE_FORMAT } from "../../crypto/age_stream.ts";
import { BackendError } from "../backend.ts";

export interface FileOffer {
  fid: string;
  name: string;
  /** Plaintext bytes. */
  size: number;
  key: Uint8Array;
  /** Plaintext SHA-256, lower-case hex. */
  sha256: string;
}

/** Largest file offered or accepted (plaintext): 1 TiB. */
export const MAX_FILE_SIZE = 2 ** 40 - 2 ** 30;

export function encodeFileOffer(mid: string, o: FileOffer): Uint8Array {
  return utf8.encode(JSON.stringify({
    v: 1,
    k: "file",
    mid,
    fid: o.fid,
    name: o.name,
    size: o.size,
    key: toBase64(o.key),
    fmt: FILE_FORMAT,
    sha256: o.sha256,
  }));
}

/** The offer in an opened DM body, null for another payload kind; SyntaxError when malformed or replayed. */
export function decodeFileOffer(b: Uint8Array, mid: string): FileOffer | null {
  const p = payloadOf(b, "file");
  if (!p) return null;
  const ok = p.v === 1 && typeof p.fid === "string" && /^[A-Za-z0-9_-]{8,64}$/.test(p.fid) &&
    typeof p.name === "string" && p.name.length <= 32768 && typeof p.size === "number" &&
    Number.isInteger(p.size) && p.size >= 0 && p.size <= MAX_FILE_SIZE && typeof p.key === "string" &&
    typeof p.sha256 === "string" && /^([0-9a-f]{64})?$/.test(p.sha256);
  if (!ok) throw new SyntaxError("Malformed file offer");
  if (p.mid !== mid) throw new SyntaxError("The message was re-sent under another id (replay)");
  if (p.fmt !== FILE_FORMAT) throw new SyntaxError(formatProblem(p.fmt));
  let key: Uint8Array;
  try {
    key = fromBase64(p.key as string);
  } catch {
    throw new SyntaxError("Malformed file offer");
  }
  if (key.length !== 32) throw new SyntaxError("A file key must be 32 bytes");
  return {
    fid: p.fid as string,
    name: p.name as string,
    size: p.size as number,
    key,
    sha256: p.sha256 as string,
  };
}

/** Where the recipient of a file waits for its sender to connect directly (direct.ts). */
export interface FileReady {
  fid: string;
  host: string;
  port: number;
  /** 32 random bytes the sender presents as its first record (base64). */
  token: string;
}

export function encodeFileReady(mid: string, r: FileReady): Uint8Array {
  return utf8.encode(JSON.stringify({ v: 1, k: "file-ready", mid, ...r }));
}

/** The candidate in an opened DM body, null for another payload kind; SyntaxError when malformed or replayed. */
export function decodeFileReady(b: Uint8Array, mid: string): FileReady | null {
  const p = payloadOf(b, "file-ready");
  if (!p) return null;
  const ok = p.v === 1 && typeof p.fid === "string" && /^[A-Za-z0-9_-]{8,64}$/.test(p.fid) &&
    typeof p.host === "string" && /^[0-9A-Fa-f.:]{2,64}$/.test(p.host) && Number.isInteger(p.port) &&
    (p.port as number) > 0 && (p.port as number) < 65536 && typeof p.token === "string" &&
    /^[A-Za-z0-9+/]{43}=$/.test(p.token);
  if (!ok) throw new SyntaxError("Malformed file candidate");
  if (p.mid !== mid) throw new SyntaxError("The message was re-sent under another id (replay)");
  return { fid: p.fid as string, host: p.host as string, port: p.port as number, token: p.token as string };
}

/** An opened DM body as JSON when it is a payload of kind `k`, else null. */
function payloadOf(b: Uint8Array, k: string): Record<string, unknown> | null {
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(utf8Strict.decode(b));
  } catch {
    return null;
  }
  return typeof p === "object" && p !== null && p.k === k ? p : null;
}

export function encodeFileSum(mid: string, fid: string, sha256: string): Uint8Array {
  return utf8.encode(JSON.stringify({ v: 1, k: "file-sum", mid, fid, sha256 }));
}

/** The SHA-256 sent after an offer, null for another payload kind; SyntaxError when malformed or replayed. */
export function decodeFileSum(b: Uint8Array, mid: string): { fid: string; sha256: string } | null {
  const p = payloadOf(b, "file-sum");
  if (!p) return null;
  const ok = p.v === 1 && typeof p.fid === "string" && /^[A-Za-z0-9_-]{8,64}$/.test(p.fid) &&
    typeof p.sha256 === "string" && /^[0-9a-f]{64}$/.test(p.sha256);
  if (!ok) throw new SyntaxError("Malformed file SHA-256");
  if (p.mid !== mid) throw new SyntaxError("The message was re-sent under another id (replay)");
  return { fid: p.fid as string, sha256: p.sha256 as string };
}

export function encodeFileGone(mid: string, fid: string): Uint8Array {
  return utf8.encode(JSON.stringify({ v: 1, k: "file-gone", mid, fid }));
}

/** The withdrawn file's id, null for another payload kind; SyntaxError when malformed or replayed. */
export function decodeFileGone(b: Uint8Array, mid: string): { fid: string } | null {
  const p = payloadOf(b, "file-gone");
  if (!p) return null;
  if (!(p.v === 1 && typeof p.fid === "string" && /^[A-Za-z0-9_-]{8,64}$/.test(p.fid))) {
    throw new SyntaxError("Malformed file withdrawal");
  }
  if (p.mid !== mid) throw new SyntaxError("The message was re-sent under another id (replay)");
  return { fid: p.fid as string };
}

/**
 * Waiting offer `n` (from 1) of `waiting` (oldest first, as `/files` numbers them), or `no_offer`: the
 * one rule of `/accept N` and `/reject N` in both modes (desk.ts, carried_offer.ts).
 */
export function pickOffer<T>(waiting: readonly T[], n = 1): T {
  const r = waiting[n - 1];
  if (r !== undefined) return r;
  throw new BackendError(
    "no_offer",
    waiting.length ? `There are only ${waiting.length} file offers` : "No file is offered to you",
  );
}

/**
 * The file sent that `/files` numbers `n` (its `w`: sent, not taken by its recipient yet), or
 * `no_such_file`: the one rule of `/withdraw N` in both modes (desk.ts, carried_desk.ts).
 */
export function pickSent<T extends { w?: number }>(list: readonly T[], n: number): T {
  const e = list.find((x) => x.w === n);
  if (e) return e;
  throw new BackendError("no_such_file", `There is no file ${n} being sent (/files numbers them)`);
}

/** Why an offer's payload format is refused (none: the C2SP chunked format before age). */
export function formatProblem(fmt: unknown): string {
  return fmt === undefined
    ? "The file was offered in the old format (C2SP chunked): ask the sender to update Parley"
    : `The file was offered in a format this Parley does not know (${
      // JSON, not String(): an object holding "toString" would throw a TypeError, not a SyntaxError
      (typeof fmt === "string" ? fmt : JSON.stringify(fmt) ?? "?").slice(0, 40)}): update Parley`;
}
