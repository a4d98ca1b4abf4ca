/**
 * A frame's header: UTF-8 JSON, one object, at most `MAX_DEPTH` levels of nesting, no key that could
 * reach an object's prototype (`__proto__`, `constructor`, `prototype`). Pure; throws `ProtocolError`.
 * `decodeFrameBytes` reads one whole frame's header and body. frame.ts re-exports the names callers use.
 */
import { u32be, utf8Strict } from "../common/bytes.ts";
import { ErrorCode, ProtocolError } from "./errors.ts";
import { sendHeader } from "./send_header.ts";

/** How deeply a header's JSON may nest. */
export const MAX_DEPTH = 8;
/** The largest header, in bytes. */
export const MAX_HEADER = 64 * 1024;

/** One frame: its parsed header and its body (frame.ts encodes and decodes them). */
export interface Frame {
  header: Record<string, unknown>;
  body: Uint8Array;
}

const FORBIDDEN_KEY = /"(__proto__|constructor|prototype)"\s*:/;

function checkKey(key: string, v: unknown): unknown {
  if (key === "__proto__" || key === "constructor" || key === "prototype") {
    throw new ProtocolError(ErrorCode.ForbiddenKey, `Key "${key}" is not allowed`);
  }
  return v;
}

/**
 * False when `text` holds at most `MAX_DEPTH` opening brackets (`{` or `[`, in strings too): then it
 * cannot nest deeper, and the character-by-character `checkDepth` is skipped (issue 37: it was a
 * fifth of a `send` header's parse). Counted with the native `indexOf`, stopping past `MAX_DEPTH`.
 */
function mayNestTooDeeply(text: string): boolean {
  return opened(text, "[", opened(text, "{", 0)) > MAX_DEPTH;
}

/** `n` plus the `open` characters in `text`, counted up to `MAX_DEPTH + 1` at most. */
function opened(text: string, open: string, n: number): number {
  for (let i = text.indexOf(open); i >= 0 && n <= MAX_DEPTH; i = text.indexOf(open, i + 1)) n++;
  return n;
}

/** Refuses nesting deeper than `MAX_DEPTH` before JSON.parse builds it (brackets in strings skipped). */
function checkDepth(text: string): void {
  let depth = 0, inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inStr) {
      if (c === 92) i++; // backslash: skip escaped char
      else if (c === 34) inStr = false;
    } else if (c === 34) inStr = true;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_DEPTH) throw new ProtocolError(ErrorCode.TooDeep, "Header is nested too deeply");
    } else if (c === 125 || c === 93) depth--;
  }
}

/**
 * Parses header JSON (`bytes[start..stop)`, all of it by default) with the depth and forbidden-key
 * checks. Throws `ProtocolError`. A `send` header spelt as clients spell it is read by hand
 * (send_header.ts), with the same answer.
 */
export function parseHeader(bytes: Uint8Array, start = 0, stop = bytes.length): Record<string, unknown> {
  const send = sendHeader(bytes, start, stop);
  if (send) return send;
  let text: string;
  try {
    text = utf8Strict.decode(start === 0 && stop === bytes.length ? bytes : bytes.subarray(start, stop));
  } catch {
    throw new ProtocolError(ErrorCode.BadJson, "Header is not valid UTF-8");
  }
  if (mayNestTooDeeply(text)) checkDepth(text);
  // Forbidden keys: a fast scan of the text; escaped text (`\u…`, which could spell a key) takes
  // the slower parse that checks every key.
  const escaped = text.includes("\\u");
  if (!escaped) {
    const m = FORBIDDEN_KEY.exec(text);
    if (m) throw new ProtocolError(ErrorCode.ForbiddenKey, `Key "${m[1]}" is not allowed`);
  }
  let value: unknown;
  try {
    value = escaped ? JSON.parse(text, checkKey) : JSON.parse(text);
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ProtocolError(ErrorCode.BadJson, "Header is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ProtocolError(ErrorCode.BadJson, "Header must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/**
 * A whole frame's bytes (length prefix included; `bytes[start..end)`, all of it by default) → its
 * header, checked, and a view of its body.
 */
export function decodeFrameBytes(bytes: Uint8Array, start = 0, end = bytes.length): Frame {
  const hlen = u32be(bytes, start + 4);
  if (hlen > end - start - 8) throw new ProtocolError(ErrorCode.BadFrame, "Header length exceeds the frame");
  if (hlen > MAX_HEADER) throw new ProtocolError(ErrorCode.FrameTooLarge, "Header is too large");
  if (hlen === 0) throw new ProtocolError(ErrorCode.BadFrame, "Frame has no header");
  const header = parseHeader(bytes, start + 8, start + 8 + hlen); // read in place: no view of the header
  return { header, body: bytes.subarray(start + 8 + hlen, end) };
}
