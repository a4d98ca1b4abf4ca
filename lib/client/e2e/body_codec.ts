/**
 * How message text becomes the opaque body the server relays, and back. `PlainCodec` is UTF-8
 * (tests and clients without a local keystore); `E2eCodec` (e2e/codec.ts) encrypts end to end.
 *
 * Optional members, used by encrypting codecs:
 * - `receive()` opens a message and saves it together with the codec's state in one transaction
 *   (so a message is decrypted once); it returns null for a control message it consumed (e.g. a
 *   room key), and throws an `Error` with a readable message when the body cannot be read.
 * - `onPush()` sees every other pushed frame header (room changes, notices) in order with messages.
 * - `keys` answers fingerprint / verify / trust and signs room membership changes.
 * - `seal()` answers the body and, for a DM, the devices it is encrypted to (the `send` names them);
 *   `devicesChanged()`: when the server says they changed, the codec learns the new lists and
 *   `sealAndSend` (the one home of that loop) seals once more.
 * - `sealSignal()` / `openSignal()`: signals such as typing (core/typing.ts encodes them), sealed
 *   like a message and sent as ephemeral sends (never stored).
 */
import { utf8, utf8d } from "../../common/bytes.ts";
import {
  BackendError,
  type ChatMessage,
  type Fingerprint,
  type MessageChange,
  type Target,
} from "../backend.ts";

/** A sealed body and, for a DM, the device addresses it is encrypted to. */
export interface Sealed {
  body: Uint8Array;
  devices?: string[];
}

/**
 * Seals and sends; when the server answers `devices_changed` (the recipient's or one's own devices
 * changed), learns the new lists with `relearn` and seals and sends once more. A second change in a
 * row is the caller's error (no loop).
 */
export async function sealAndSend<R>(
  seal: () => Promise<Sealed>,
  send: (s: Sealed) => Promise<R>,
  relearn: ((detail: unknown) => Promise<void>) | undefined,
): Promise<R> {
  for (let attempt = 0;; attempt++) {
    const s = await seal();
    try {
      return await send(s);
    } catch (e) {
      if (attempt > 0 || !relearn || !(e instanceof BackendError) || e.code !== "devices_changed") throw e;
      await relearn(e.detail?.devices);
    }
  }
}

/**
 * A message that can never be read here (forged, malformed, replayed, or this device's own): the
 * codec has recorded it as consumed, and the client acknowledges it so it is not delivered again.
 */
export class UnreadableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnreadableError";
  }
}

export type MembershipVerb = "create" | "join" | "leave" | "kick";

export interface KeyOps {
  /** Shows a safety number: the key it is of is what a later `verify` without a number binds to. */
  fingerprint(user?: string): Promise<Fingerprint>;
  /** Pin the key whose number is `number`, or was last shown (e2e/keys.ts `keyToPin`). */
  verify(user: string, number?: string): Promise<Fingerprint>;
  trust(user: string, number?: string): Promise<Fingerprint>;
  /** A signed membership record to send with room.create/invite/leave/kick. */
  signChange(room: string, action: MembershipVerb, target: string): Promise<unknown>;
  /** The signed room membership log entry for that change (lib/client/e2e/room_log.ts). */
  logEntry?(room: string, action: MembershipVerb, target: string): Promise<unknown>;
}

export interface BodyCodec {
  readonly encrypted: boolean;
  /** `replyTo`: the id of the message this one answers (issue 39.1). */
  seal(to: Target, mid: string, text: string, o?: { replyTo?: string; ttl?: number }): Promise<Sealed>;
  /** Whether this user is an admin of `room` by its verified log (may delete others' messages there). */
  roomAdmin?(room: string): Promise<boolean>;
  /** Seals a disappearing-time setting for a conversation (issue 39.5). */
  sealExpiry?(to: Target, mid: string, seconds: number): Promise<Sealed>;
  /** Seals a change (edit, delete, reaction) of message `ref` for its conversation (issue 39). */
  sealChange?(to: Target, mid: string, ref: string, c: MessageChange): Promise<Sealed>;
  /** A change this client sent was stored as `sent`: applied here, never shown as a line. */
  changeSent?(sent: ChatMessage, ref: string, c: MessageChange): Promise<ChatMessage>;
  open(from: string, to: Target, mid: string, body: Uint8Array): Promise<string>;
  receive?(m: ChatMessage, conv: string, body: Uint8Array): Promise<ChatMessage | null>;
  onPush?(header: Record<string, unknown>): Promise<void>;
  keys?: KeyOps;
  /** How many sealed copies a message to `to` carries (a DM: one per device; issue 34.1's size check). */
  sealCopies?(to: Target): Promise<number>;
  /** The server refused a send because devices changed (`detail`: their lists); seal again after. */
  devicesChanged?(detail: unknown): Promise<void>;
  /** Seals a signal's payload (typing) end to end; null when there is nobody it can be sealed for. */
  sealSignal?(to: Target, payload: Uint8Array): Promise<Uint8Array | null>;
  /** Opens a signal, committing the ratchet step as for a message; null when unreadable or one's own. */
  openSignal?(m: { from: string; to: Target }, body: Uint8Array): Promise<Uint8Array | null>;
  /** The room's admins from its signed membership log. */
  roomAdmins?(room: string): Promise<string[]>;
}

export const PlainCodec: BodyCodec = {
  encrypted: false,
  seal: (_to, _mid, text) => Promise.resolve({ body: utf8.encode(text) }),
  open: (_from, _to, _mid, body) => Promise.resolve(utf8d.decode(body)),
};
