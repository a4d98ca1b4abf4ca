/**
 * How long a message may be (issue 34.1). The server reads frames up to a cap (its hello says it;
 * an older server: the protocol's default) and closes the connection on a bigger one, so a message
 * too long for one `send` frame must be refused before it is queued, never retried. Pure.
 *
 * The text is measured as its payload: the UTF-8 bytes of the JSON string that carries it (escapes
 * counted). Sealed end to end it grows: each copy (one per device of a DM's recipient and of one's
 * own other devices; one for rooms and broadcasts) is base64 in the body and carries a ratchet
 * header, nonce and tag; `textLimit` is the longest payload whose upper bound fits the frame
 * beside the send header.
 */
import { utf8 } from "../../common/bytes.ts";
import { BackendError } from "../backend.ts";
import { sizeText } from "../../common/progress.ts";

/** Room kept in a frame for the `send` header (target, id, a DM's device list) and the frame prefix. */
export const HEADER_ROOM = 4096;
/** Bytes each sealed copy may add besides base64: ratchet or first-contact header, nonce, tag, address. */
export const PER_COPY = 1024;

/** The size a text is measured by: UTF-8 bytes of its JSON string. */
export function payloadBytes(text: string): number {
  return utf8.encode(JSON.stringify(text)).length;
}

/**
 * The longest payload whose sealed body fits a frame of `maxFrame`: sealed, a payload of p bytes
 * takes at most copies × (⌈4p/3⌉ + PER_COPY) + 256 bytes (plain: p).
 */
export function textLimit(maxFrame: number, copies: number, encrypted: boolean): number {
  const room = maxFrame - HEADER_ROOM;
  if (!encrypted) return Math.max(0, room);
  return Math.max(0, Math.floor((((room - 256) / copies - PER_COPY) * 3) / 4));
}

/** Refuses a text too long for one frame, naming the limit (code `frame_too_large`). */
export function checkTextSize(text: string, maxFrame: number, copies: number, encrypted: boolean): void {
  const n = payloadBytes(text);
  const limit = textLimit(maxFrame, copies, encrypted);
  if (n <= limit) return;
  const devices = copies > 1 ? ` sealed for ${copies} devices` : "";
  throw new BackendError(
    "frame_too_large",
    `The message is too long (${sizeText(n)}): this server takes at most ${limit} bytes (${
      sizeText(limit)
    })${devices}`,
  );
}

/** Refuses a sealed frame over the cap before it is written (the server would drop the connection). */
export function checkFrameSize(frameBytes: number, maxFrame: number, text: string): void {
  if (frameBytes <= maxFrame) return;
  const n = payloadBytes(text);
  const limit = Math.floor((n * (maxFrame - HEADER_ROOM)) / frameBytes);
  throw new BackendError(
    "frame_too_large",
    `The message is too long (${sizeText(n)}, ${sizeText(frameBytes)} sealed): this server takes ` +
      `frames of at most ${maxFrame} bytes, about ${limit} bytes (${sizeText(limit)}) of text here`,
  );
}

/**
 * The server cannot store messages now (issue 74: its database is out of reach): the message stays
 * in the outbox and goes again later with the same mid, never marked failed.
 */
export function isRetryLater(e: unknown): e is BackendError {
  return e instanceof BackendError && e.code === "unavailable";
}
/** What the client says, once, while the server cannot store messages. */
export const STORE_DOWN_TEXT = "The server cannot store messages right now; they wait in the outbox " +
  "and go again with the same ids";

/** Errors that mean the server can never take the message: it is not sent again. */
export function isPermanentRefusal(e: unknown): e is BackendError {
  return e instanceof BackendError && PERMANENT.has(e.code);
}
const PERMANENT = new Set(["frame_too_large", "bad_frame", "bad_json", "too_deep", "invalid"]);
