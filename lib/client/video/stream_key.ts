/**
 * End-to-end delivery of a user-to-user stream's frame key. The sender's client puts the random
 * 32-byte key in an encrypted DM control message (`{v: 1, k: "stream-key", mid, sid, key}`,
 * sealed by the Double Ratchet like any DM, bound to its message id); the recipient's codec opens
 * it, consumes it silently (it never shows as a chat line) and files the key in the folder's
 * keystore under (sender, stream id) until `PeerStreams.accept()` takes it — in whichever process of
 * the folder waits for it (e2e/controls.ts: the full-screen client may be the one that opened the DM
 * while `parley watch` waits). The server relays only ciphertext, so it can neither read the key
 * nor forge one: the sender is proven by the DM session.
 *
 * `StreamKeyChannel` is what `PeerStreams` uses (`keyVia`).
 */
import { fromBase64, toBase64, utf8, utf8Strict } from "../../common/bytes.ts";
import { BackendError } from "../backend.ts";
import { FiledList, type SealedChannel, waitFiled, wake } from "../e2e/mod.ts";

export interface StreamKeyChannel {
  /** Sends the frame key of stream `sid` to `to` end to end (an encrypted DM control message). */
  send(to: string, sid: string, key: Uint8Array): Promise<void>;
  /** The key `from` sent for `sid`, waiting up to `timeoutMs` for it to arrive. */
  receive(from: string, sid: string, timeoutMs?: number): Promise<Uint8Array>;
}

export interface StreamKeyPayload {
  v: 1;
  k: "stream-key";
  mid: string;
  sid: string;
  key: string;
}

/** Received keys (base64) by sender and stream id, kept for their waiter: 64 at most, 10 minutes each. */
const KEYS = new FiledList<string>("streams:keys");

export function encodeStreamKey(mid: string, sid: string, key: Uint8Array): Uint8Array {
  const p: StreamKeyPayload = { v: 1, k: "stream-key", mid, sid, key: toBase64(key) };
  return utf8.encode(JSON.stringify(p));
}

/**
 * The stream key in an opened DM body, or null when the body is another kind of payload. Throws
 * SyntaxError for a stream-key payload that is malformed or was re-sent under another message id.
 */
export function decodeStreamKey(b: Uint8Array, mid: string): { sid: string; key: Uint8Array } | null {
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(utf8Strict.decode(b));
  } catch {
    return null;
  }
  if (typeof p !== "object" || p === null || p.k !== "stream-key") return null;
  if (p.v !== 1 || typeof p.sid !== "string" || typeof p.key !== "string" || p.sid.length > 64) {
    throw new SyntaxError("Malformed stream key");
  }
  if (p.mid !== mid) throw new SyntaxError("The message was re-sent under another id (replay)");
  let key: Uint8Array;
  try {
    key = fromBase64(p.key);
  } catch {
    throw new SyntaxError("Malformed stream key");
  }
  if (key.length !== 32) throw new SyntaxError("A stream key must be 32 bytes");
  return { sid: p.sid, key };
}

/** The stream-key channels of the codecs that registered the kind (start/e2e_attach.ts). */
const channels = new WeakMap<object, StreamKeyChannel>();

/**
 * Registers the "stream-key" control kind on `ch` (a received key is filed in the keystore with its
 * DM's ratchet step, for `PeerStreams.accept()` in any process of the folder) and answers the
 * channel that sends and waits.
 */
export function attachStreamKeys(ch: SealedChannel): StreamKeyChannel {
  ch.register<{ sid: string; key: Uint8Array }>("stream-key", {
    decode: (b, mid) => {
      const v = decodeStreamKey(b, mid);
      if (!v) throw new SyntaxError("Malformed stream key");
      return v;
    },
    onReceive: async (v, ctx) => ({
      writes: await KEYS.writes(ctx.cs, { from: ctx.from, id: v.sid, at: ctx.at, value: toBase64(v.key) }),
      after: () => wake(ch),
    }),
  });
  const c: StreamKeyChannel = {
    send: (to, sid, key) =>
      ch.send({ kind: "user", name: to }, "stream-key", (mid) => encodeStreamKey(mid, sid, key)),
    receive: async (from, sid, timeoutMs = 10_000) => {
      const key = await waitFiled(ch, KEYS, from, sid, timeoutMs);
      if (key === undefined) {
        throw new BackendError(
          "no_stream_key",
          `${from}'s key for this stream did not arrive end to end in time`,
        );
      }
      return fromBase64(key);
    },
  };
  channels.set(ch, c);
  return c;
}

/** The stream-key channel of a body codec, if it has one (an end-to-end encrypting codec). */
export function streamKeysOf(codec: unknown): StreamKeyChannel | null {
  return typeof codec === "object" && codec !== null ? channels.get(codec) ?? null : null;
}
