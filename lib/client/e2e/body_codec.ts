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
 * - A seal never sends anything: a room message whose sender key some member lacks comes with
 *   `handouts`, the sealed sender-key DMs the caller sends first (e2e/body_codec.ts), reporting each
 *   with `handedOut()` (`resealHandout()` when its recipient's devices changed).
 * - `sealSignal()` / `openSignal()`: signals such as typing (core/typing.ts encodes them), sealed
 *   like a message (a DM's to every device of the other party) and sent as ephemeral sends (never
 *   stored).
 * - `handOut` carries out the handouts a seal answered (the core before a message, e2e/codec.ts
 *   before a room control): each a sealed DM sent, in order, before the message sealed under its key;
 *   a `devices_changed` refusal relearns and seals it once more (`sealAndSend`); each outcome goes
 *   back to the codec (`handedOut`): a failed one is told and kept for the room's next message, which
 *   goes anyway. A refusal for speed is not a failure: the handout waits and goes (session/rate_wait.ts).
 */
import { utf8, utf8d } from "../../common/bytes.ts";
import { BackendError } from "../backend.ts";
import { paced } from "../session/rate_wait.ts";
import type { ChatMessage, Fingerprint, MessageChange, Target } from "./door.ts";

/** A sealed body and, for a DM, the device addresses it is encrypted to. */
export interface Sealed {
  /** What the server relays. */
  body: Uint8Array;
  /** A DM's device addresses (the `send` names them; the server checks they are all). */
  devices?: string[];
  /** Sender keys to hand out, in order, before this body is sent (a room message or signal). */
  handouts?: Handout[];
}

/**
 * My sender key for a room, sealed as a DM to one member (every device of theirs, and my other
 * devices): the caller sends it (`send` to `to` with `mid` and `devices`) before the message sealed
 * under that key, then reports it with `BodyCodec.handedOut`. Until then the codec keeps it and
 * hands it out again (same `mid`) with the next message of the room.
 */
export interface Handout {
  /** The member (a user name) it is a DM to. */
  readonly to: string;
  /** Its message id (the same each time it is handed out again). */
  readonly mid: string;
  /** The sealed DM. */
  readonly body: Uint8Array;
  /** The device addresses it is sealed to. */
  readonly devices: string[];
  /** The sender-key room ("*": broadcasts). */
  readonly room: string;
  /** The chain of mine it hands out. */
  readonly chainId: number;
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
  /** `message`: why, as a reader is told. */
  constructor(message: string) {
    super(message);
    this.name = "UnreadableError";
  }
}

/** A signed room membership change. */
export type MembershipVerb = "create" | "join" | "leave" | "kick";
/**
 * A change a room's log records: a membership change, or an open room's (issue 71.12): "enter" (I join
 * an open room by myself), "open" and "close" (an admin: whether anyone may join by themself).
 */
export type LogVerb = MembershipVerb | "enter" | "open" | "close";

/** Keys and signatures of an encrypting codec (`BodyCodec.keys`). */
export interface KeyOps {
  /** Shows a safety number: the key it is of is what a later `verify` without a number binds to. */
  fingerprint(user?: string): Promise<Fingerprint>;
  /** Pin the key whose number is `number`, or was last shown (e2e/keys.ts `keyToPin`). */
  verify(user: string, number?: string): Promise<Fingerprint>;
  /** Like `verify`, without marking the key as verified (trust on first use, again). */
  trust(user: string, number?: string): Promise<Fingerprint>;
  /** A signed membership record to send with room.create/invite/leave/kick. */
  signChange(room: string, action: MembershipVerb, target: string): Promise<unknown>;
  /**
   * The signed room membership log entry for that change (lib/client/e2e/room_log.ts); undefined for
   * an "enter" when the server lists no such open room (its refusal of the join then says why).
   */
  logEntry?(room: string, action: LogVerb, target: string): Promise<unknown>;
}

/** The users this folder blocked (e2e/blocks.ts); every call reads or writes under the folder's lock. */
export interface BlockOps {
  /** The names blocked, sorted. */
  list(): Promise<string[]>;
  /** Whether `user` is blocked (never oneself). */
  has(user: string): Promise<boolean>;
  /** Blocks (`on`) or unblocks `user`; the list after. */
  set(user: string, on: boolean): Promise<string[]>;
}

/**
 * A conversation's setting, sealed like one of its messages and shown as a line: messages disappear
 * after `seconds` (0: off); a room's `topic` ("" clears it). `at`: when it was first set, on a re-send
 * to a member invited later (it shows only where it is news).
 */
export type Setting =
  | { kind: "expire"; seconds: number; at?: number }
  | { kind: "topic"; text: string; at?: number };

/** How a text is sealed: the message it answers (`replyTo`, sent by `replyBy`), its disappearing time (s). */
export interface TextOptions {
  /** The id of the message this one answers. */
  replyTo?: string;
  /** That message's sender (issue 69 N2). */
  replyBy?: string;
  /** The conversation's disappearing time, seconds. */
  ttl?: number;
  /** The sender's clock when sealed (ms; issue 69 N4): sealed as the payload's `at`. */
  at?: number;
}

/** How the core turns message text into the bodies the server relays and back (see the module comment). */
export interface BodyCodec {
  /** Whether bodies are end-to-end encrypted. */
  readonly encrypted: boolean;
  /** `replyTo`: the id of the message this one answers (issue 39.1), `replyBy` its sender (issue 69 N2). */
  seal(to: Target, mid: string, text: string, o?: TextOptions): Promise<Sealed>;
  /** Whether this user is an admin of `room` by its verified log (may delete others' messages there). */
  roomAdmin?(room: string): Promise<boolean>;
  /** Seals a conversation's setting: its disappearing time (issue 39.5), a room's topic. */
  sealSetting?(to: Target, mid: string, s: Setting): Promise<Sealed>;
  /** Seals a change (edit, delete, reaction) of message `ref` sent by `by` for its conversation (issue 39, 69 N2). */
  sealChange?(to: Target, mid: string, ref: string, c: MessageChange, by?: string): Promise<Sealed>;
  /** A change this client sent was stored as `sent`: applied here (to `by`'s `ref`), never shown as a line. */
  changeSent?(sent: ChatMessage, ref: string, c: MessageChange, by?: string): Promise<ChatMessage>;
  /**
   * Seals a payload as it was queued (a change or setting applied here when it was made, where no
   * server answers: peer mode's, peer/codec.ts) for `to`.
   */
  sealQueued?(to: Target, payload: Uint8Array): Promise<Sealed>;
  /** My text `mid` left the outbox confirmed (a resend): changes held for it apply (e2e/apply.ts). */
  confirmed?(mid: string): Promise<void>;
  /** The text of a body (a codec with `receive` refuses: it opens messages there). */
  open(from: string, to: Target, mid: string, body: Uint8Array): Promise<string>;
  /** Opens and saves message `m` of `conv` with the codec's state; null for a control message it consumed. */
  receive?(m: ChatMessage, conv: string, body: Uint8Array): Promise<ChatMessage | null>;
  /** Sees every other pushed frame header (room changes, notices), in order with messages. */
  onPush?(header: Record<string, unknown>): Promise<void>;
  /** Safety numbers, pinning and signed membership changes. */
  keys?: KeyOps;
  /** The users this folder blocked: what they send is dropped, messages to them refused. */
  blocks?: BlockOps;
  /** The user read conversation `to` up to seq `upTo`: my other devices are told (e2e/seen_sync.ts). */
  seen?: (to: Target, upTo: number) => void;
  /** How many sealed copies a message to `to` carries (a DM: one per device; issue 34.1's size check). */
  sealCopies?(to: Target): Promise<number>;
  /** The server refused a send because devices changed (`detail`: their lists); seal again after. */
  devicesChanged?(detail: unknown): Promise<void>;
  /** Seals a signal's payload (typing) end to end; null when there is nobody it can be sealed for. */
  sealSignal?(to: Target, payload: Uint8Array): Promise<Sealed | null>;
  /** Opens a signal, committing the ratchet step as for a message; null when one's own or not for this device;
   * rejects when it cannot be opened (replayed, forged): core/receiving.ts says so. */
  openSignal?(m: { mid?: string; from: string; to: Target }, body: Uint8Array): Promise<Uint8Array | null>;
  /** A handout went out (`seq`: the server's) or could not (`error`: told, and tried again with the next seal). */
  handedOut?(h: Handout, r: { seq: number } | { error: unknown }): Promise<void>;
  /** The handout sealed again, for its recipient's devices as now known (after `devicesChanged`). */
  resealHandout?(h: Handout): Promise<Sealed>;
  /** The room's admins from its signed membership log. */
  roomAdmins?(room: string): Promise<string[]>;
  /** The client logged in again on a new connection (a reconnect): its device proven again. */
  resumed?(): Promise<void>;
}

/** Bodies as UTF-8 text (tests, clients without a keystore). */
export const PlainCodec: BodyCodec = {
  encrypted: false,
  seal: (_to, _mid, text) => Promise.resolve({ body: utf8.encode(text) }),
  open: (_from, _to, _mid, body) => Promise.resolve(utf8d.decode(body)),
};

/** How a sealed body leaves, acknowledged with the seq it was stored as (0: none): the core's link. */
export interface SealedSender {
  /** Sends `body` to `to` as message `mid` (sealed for `o.devices`, a DM's); resolves once stored. */
  send(to: Target, mid: string, body: Uint8Array, o?: { devices?: string[] }): Promise<{ seq: number }>;
}

/** Sends `handouts` through `link` one after the other, reporting each to `codec`. */
export async function handOut(
  codec: BodyCodec,
  link: SealedSender,
  handouts: readonly Handout[] = [],
): Promise<void> {
  for (const h of handouts) {
    let first = true;
    const seal = (): Promise<Sealed> => {
      if (!first) return codec.resealHandout!(h);
      first = false;
      return Promise.resolve(h);
    };
    try {
      // Refused for speed (a burst of messages): asked again shortly, as the message after it needs it.
      const to = { kind: "user", name: h.to } as const;
      const r = await sealAndSend(
        seal,
        (s) => paced(() => link.send(to, h.mid, s.body, { devices: s.devices })),
        codec.devicesChanged?.bind(codec),
      );
      await codec.handedOut!(h, { seq: r.seq });
    } catch (error) {
      await codec.handedOut!(h, { error });
    }
  }
}
