/**
 * The age v1 file header (c2sp.org/age) with the X25519 recipient type. Composes node:crypto through primitives.ts; nothing here is a primitive of its own.
 *
 *   age-encryption.org/v1
 *   -> X25519 base64(ephemeral share)
 *   base64(ChaCha20-Poly1305(HKDF-SHA-256(X25519(eph, recipient), share ‖ recipient,
 *                             "age-encryption.org/v1/X25519"), nonce 0¹², file key))
 *   --- base64(HMAC-SHA-256(HKDF-SHA-256(file key, "", "header"), header up to and including "---"))
 *
 * base64 is unpadded and canonical; stanza bodies wrap at 64 columns and end with a shorter line.
 * `sealHeader` writes one X25519 stanza; `openHeader` parses any v1 header strictly, skips stanzas
 * of other types, unwraps the file key with an X25519 identity and checks the MAC. Every failure is
 * an `AgeError` (a `DecryptError`) whose `kind` says which step refused (the testkit's categories).
 * Identities travel as raw 32 bytes; their Bech32 forms (for `age -i`) are in age_keys_testing.ts.
 */
import { concatBytes, equalBytes, utf8 } from "../common/bytes.ts";
import { cryptoRandom, type RandomBytes } from "../common/random.ts";
import {
  chachaOpen,
  chachaSeal,
  DecryptError,
  hkdfSha256Sync,
  hmacNode,
  x25519,
  x25519PublicFromPrivate,
} from "./primitives.ts";

export type AgeFailure = "header" | "version" | "no match" | "hmac" | "payload";

/** An age file refused; `kind`: which step (header syntax, version, no stanza for us, MAC, payload). */
export class AgeError extends DecryptError {
  constructor(readonly kind: AgeFailure, message: string) {
    super(message);
    this.name = "AgeError";
  }
}

export const FILE_KEY_LEN = 16;
const VERSION = "age-encryption.org/v1";
const X25519_INFO = utf8.encode("age-encryption.org/v1/X25519");
const ZERO_NONCE = new Uint8Array(12);
/** Largest header `openHeader` reads (Parley writes 168 bytes; age's own tools a few hundred). */
export const MAX_HEADER = 65536;

/** Unpadded base64, as age writes it. */
export const b64 = (b: Uint8Array): string => b.toBase64({ omitPadding: true });

/** Canonical unpadded base64 of exactly `len` bytes (if given), else a header failure. */
function unb64(s: string, len?: number): Uint8Array {
  let out: Uint8Array;
  try {
    if (!/^[A-Za-z0-9+/]*$/.test(s)) throw new SyntaxError();
    out = Uint8Array.fromBase64(s);
  } catch {
    throw new AgeError("header", "Invalid base64 in the age header");
  }
  if (b64(out) !== s) throw new AgeError("header", "Non-canonical base64 in the age header");
  if (len !== undefined && out.length !== len) throw new AgeError("header", "Wrong length in the age header");
  return out;
}

function wrapKey(shared: Uint8Array, share: Uint8Array, recipient: Uint8Array): Uint8Array {
  return hkdfSha256Sync(shared, concatBytes([share, recipient]), X25519_INFO, 32);
}

function headerMac(fileKey: Uint8Array, upToDashes: Uint8Array): Uint8Array {
  return hmacNode(
    "sha256",
    hkdfSha256Sync(fileKey, new Uint8Array(0), utf8.encode("header"), 32),
    upToDashes,
  );
}

/** The header for one X25519 recipient (raw 32 bytes), ending with the MAC line's LF. */
export async function sealHeader(
  fileKey: Uint8Array,
  recipient: Uint8Array,
  rand: RandomBytes = cryptoRandom,
): Promise<Uint8Array> {
  if (fileKey.length !== FILE_KEY_LEN) throw new RangeError("An age file key is 16 bytes");
  const eph = rand(32);
  const share = await x25519PublicFromPrivate(eph);
  const shared = await x25519(eph, recipient);
  const body = chachaSeal(wrapKey(shared, share, recipient), ZERO_NONCE, fileKey);
  const head = utf8.encode(`${VERSION}\n-> X25519 ${b64(share)}\n${b64(body)}\n---`);
  return concatBytes([head, utf8.encode(` ${b64(headerMac(fileKey, head))}\n`)]);
}

interface Stanza {
  args: string[];
  body: Uint8Array;
}

/** Index of the LF ending the line at `at`, or a header failure when there is none. */
function lineEnd(b: Uint8Array, at: number): number {
  const i = b.indexOf(0x0a, at);
  if (i < 0) throw new AgeError("header", "Truncated age header");
  return i;
}

/** A header line as text: printable ASCII only (no CR, no controls). */
function text(b: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c < 0x20 || c > 0x7e) throw new AgeError("header", "Invalid character in the age header");
    s += String.fromCharCode(c);
  }
  return s;
}

/** Where a header's MAC line ends (after its LF) in `b`, or -1 when `b` holds no whole one. */
function macLineEnd(b: Uint8Array): number {
  for (let i = b.indexOf(0x0a); i >= 0; i = b.indexOf(0x0a, i + 1)) {
    if (b[i + 1] === 0x2d && b[i + 2] === 0x2d && b[i + 3] === 0x2d) {
      const e = b.indexOf(0x0a, i + 1);
      return e < 0 ? -1 : e + 1;
    }
  }
  return -1;
}

/**
 * The length of the header at the start of `b` (through its MAC line's LF), or -1 while it has not
 * all arrived; a header failure once `b` holds MAX_HEADER bytes with no end among them. The one home
 * of the bound, checked before any line is read (issue 69 I1: a 20 MiB stanza line arriving in one
 * piece was read whole before "too long": 846 MiB of RSS).
 */
export function headerLength(b: Uint8Array): number {
  const e = macLineEnd(b.subarray(0, MAX_HEADER));
  if (e < 0 && b.length >= MAX_HEADER) throw new AgeError("header", "The age header is too long");
  return e;
}

/** Parses the header at the start of `b`: its stanzas, MAC, the bytes the MAC covers, and its length. */
export function parseHeader(
  b: Uint8Array,
): { stanzas: Stanza[]; mac: Uint8Array; macd: Uint8Array; length: number } {
  const end0 = b.subarray(0, 256).indexOf(0x0a); // the version line: short, or not an age file
  const first = end0 < 0 ? "" : text(b, 0, end0);
  if (first !== VERSION) {
    if (first.startsWith("age-encryption.org/")) {
      throw new AgeError("version", `Unsupported age version ${first.slice(19)} (this Parley reads v1)`);
    }
    throw new AgeError("header", "Not an age file");
  }
  const len = headerLength(b);
  if (len < 0) throw new AgeError("header", "Truncated age header");
  b = b.subarray(0, len); // nothing past the bound is read
  const stanzas: Stanza[] = [];
  let at = end0 + 1;
  for (;;) {
    const e = lineEnd(b, at);
    const line = text(b, at, e);
    if (line.startsWith("---")) {
      if (!stanzas.length) throw new AgeError("header", "An age header with no recipient");
      if (!line.startsWith("--- ")) throw new AgeError("header", "Malformed age header MAC line");
      return { stanzas, mac: unb64(line.slice(4), 32), macd: b.subarray(0, at + 3), length: e + 1 };
    }
    if (!line.startsWith("-> ")) throw new AgeError("header", "Malformed age recipient stanza");
    const args = line.slice(3).split(" ");
    if (args.some((a) => a === "")) throw new AgeError("header", "Empty argument in an age stanza");
    at = e + 1;
    const body: string[] = [];
    for (;;) {
      const le = lineEnd(b, at);
      const l = text(b, at, le);
      if (l.length > 64) throw new AgeError("header", "Overlong line in an age stanza body");
      body.push(l);
      at = le + 1;
      if (l.length < 64) break;
    }
    stanzas.push({ args, body: unb64(body.join("")) });
  }
}

/**
 * Checks the header at the start of `b` for the X25519 identity `secret` (raw 32 bytes): its file key
 * and the header's length. AgeError: header/version syntax, "no match", "hmac".
 */
export async function openHeader(
  b: Uint8Array,
  secret: Uint8Array,
): Promise<{ fileKey: Uint8Array; length: number }> {
  const h = parseHeader(b);
  const recipient = await x25519PublicFromPrivate(secret);
  let fileKey: Uint8Array | null = null;
  for (const s of h.stanzas) {
    if (s.args[0] !== "X25519") continue;
    if (s.args.length !== 2) throw new AgeError("header", "An X25519 stanza takes one argument");
    const share = unb64(s.args[1]!, 32);
    if (s.body.length !== 32) throw new AgeError("header", "An X25519 stanza body is 32 bytes");
    let shared: Uint8Array;
    try {
      shared = await x25519(secret, share);
    } catch {
      throw new AgeError("header", "An X25519 stanza with a low-order share");
    }
    try {
      fileKey = chachaOpen(wrapKey(shared, share, recipient), ZERO_NONCE, s.body);
      break;
    } catch {
      // addressed to another identity
    }
  }
  if (!fileKey) throw new AgeError("no match", "The age file is not addressed to this identity");
  if (!equalBytes(headerMac(fileKey, h.macd), h.mac)) {
    throw new AgeError("hmac", "The age header MAC does not match");
  }
  return { fileKey, length: h.length };
}
