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
 * - `sendFields()` / `devicesChanged()`: a DM names the devices it is encrypted to; when the
 *   server says they changed, the codec learns the new lists and the client seals once more.
 * - `sealTyping()` / `openTyping()`: typing events, sent as ephemeral sends (never stored).
 */
import { utf8, utf8d } from "../../common/bytes.ts";
import type { ChatMessage, Fingerprint, Target } from "../backend.ts";

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
  seal(to: Target, mid: string, text: string): Promise<Uint8Array>;
  open(from: string, to: Target, mid: string, body: Uint8Array): Promise<string>;
  receive?(m: ChatMessage, conv: string, body: Uint8Array): Promise<ChatMessage | null>;
  onPush?(header: Record<string, unknown>): Promise<void>;
  keys?: KeyOps;
  /** How many sealed copies a message to `to` carries (a DM: one per device; issue 34.1's size check). */
  sealCopies?(to: Target): Promise<number>;
  /** Extra `send` header fields for the message just sealed under `mid` (the devices a DM is for). */
  sendFields?(mid: string): Record<string, unknown>;
  /** The server refused a send because devices changed (`detail`: their lists); seal again after. */
  devicesChanged?(detail: unknown): Promise<void>;
  /** Seals a typing event end to end (core/typing.ts); null when there is nobody it can be sealed for. */
  sealTyping?(to: Target, mid: string, active: boolean): Promise<Uint8Array | null>;
  /** Opens a typing event, committing the ratchet step as for a message; null when unreadable or one's own. */
  openTyping?(
    m: { mid: string; from: string; to: Target },
    body: Uint8Array,
  ): Promise<{ active: boolean } | { signal: Uint8Array } | null>;
  /** Seals a room signal (a control kind of its own, sent ephemeral like typing). */
  sealSignal?(room: string, payload: Uint8Array): Promise<Uint8Array>;
  /** The room's admins from its signed membership log. */
  roomAdmins?(room: string): Promise<string[]>;
}

export const PlainCodec: BodyCodec = {
  encrypted: false,
  seal: (_to, _mid, text) => Promise.resolve(utf8.encode(text)),
  open: (_from, _to, _mid, body) => Promise.resolve(utf8d.decode(body)),
};
