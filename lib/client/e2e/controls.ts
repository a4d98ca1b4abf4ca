/**
 * The registry of control kinds carried inside sealed DMs (issue 35.1). A control payload is JSON
 * `{v: 1, k: KIND, mid, …}` like a text message; the codec opens the DM, looks the kind up here and
 * hands the payload to the kind's handler, which answers the keystore writes to commit with the
 * ratchet step (the message is then recorded as consumed: it never shows as a chat line) and what
 * to do once they are committed. Features register their kinds from their own folders (files/,
 * video/), through the `SealedChannel` the codec gives them (`register`, `send`: control_send.ts),
 * so e2e/ imports none of them.
 *
 * - A kind may also come inside a room message (sealed under the sender's room key, issue 36) only
 *   when it says so (`room`); in a room, any other kind is no control message.
 * - An unknown kind is no control message: the codec reads it as a text payload or refuses it.
 * - A kind registered twice is a bug (throws).
 * - A handler's `decode` throws SyntaxError for a malformed or replayed payload of its kind; the
 *   codec then records the message as unreadable, as for any other bad body. One kind's failure
 *   never touches another's state.
 */
import { utf8Strict } from "../../common/bytes.ts";
import type { CryptoStateStore, StoreWrites } from "../../crypto/state_store.ts";
import type { IdentityKeyPair, PublicIdentity } from "../../crypto/identity.ts";
import type { BackendEvent, Target } from "./door.ts";

/** What a handler may use while the folder's lock is held. */
export interface ControlContext {
  /** The sender (a user name). */
  from: string;
  /** The message's id. */
  mid: string;
  /** The server's time of the message. */
  at: number;
  /** The room it came in (sealed under the sender's room key); undefined for a DM. */
  room?: string;
  /** The folder's keystore (read here; write by answering `writes`). */
  cs: CryptoStateStore;
  /** Whether the sender's key is verified. */
  verified(): Promise<boolean>;
}

/** What a handler answers: writes committed with the message's ratchet step, then `after` runs. */
export interface ControlOutcome {
  /** Keystore writes committed with the ratchet step. */
  writes?: StoreWrites;
  /** Runs once the writes are committed (announce an offer, wake a waiter). */
  after?: () => void;
}

/** The handler of one control kind: `T` is its decoded payload. */
export interface ControlKind<T> {
  /** It may come inside a room message too (sealed for every member at once). */
  room?: boolean;
  /** The payload of this kind, checked; SyntaxError when malformed or re-sent under another mid. */
  decode(plaintext: Uint8Array, mid: string): T;
  /** Handles a decoded payload under the folder's lock. */
  onReceive(value: T, ctx: ControlContext): Promise<ControlOutcome>;
}

/** What the codec offers the features that register control kinds: their one face on e2e/. */
export interface SealedChannel {
  /** Who this client is. */
  readonly me: string;
  /** Registers control kind `kind` (`{decode, onReceive}`, and `room` when it may come in a room). */
  register<T>(kind: string, h: ControlKind<T>): void;
  /**
   * Sends a control payload of `kind` (`encode` gets a fresh mid): to a user, to every device of
   * theirs; to a room (a kind registered as `room` only), as one message under my room key that every
   * member's devices open. Consumed on our side (never a line). A payload of another kind is a bug.
   */
  send(to: Target, kind: string, encode: (mid: string) => Uint8Array): Promise<void>;
  /** Runs `fn` under the folder's lock, with its keystore. */
  locked<T>(fn: (cs: CryptoStateStore) => Promise<T>): Promise<T>;
  /** A keystore value as another process of the folder may have written it, without the lock (a cheap look). */
  peek(key: string): Promise<unknown>;
  /** This device's identity key pair. */
  identity(): Promise<IdentityKeyPair>;
  /** `user`'s pinned identity key (undefined for oneself or a stranger). */
  pinned(user: string): Promise<PublicIdentity | undefined>;
  /** Whether `user`'s key is verified. */
  verified(user: string): Promise<boolean>;
  /** Tells the surfaces (an offer arrived). */
  notify(e: BackendEvent): void;
}

const KIND_RE = /^[a-z][a-z0-9-]{0,31}$/;
/** The kinds the codec itself reads (a text message, a room's sender key). */
const RESERVED = new Set(["text", "skd"]);

/** The `k` of a sealed payload, or null when it is not a JSON object with a string `k`. */
export function payloadKind(plaintext: Uint8Array): string | null {
  let p: unknown;
  try {
    p = JSON.parse(utf8Strict.decode(plaintext));
  } catch {
    return null;
  }
  if (typeof p !== "object" || p === null) return null;
  const k = (p as { k?: unknown }).k;
  return typeof k === "string" ? k : null;
}

/** The control kinds registered, by name: the receive path's lookup. */
export class ControlRegistry {
  readonly #kinds = new Map<string, ControlKind<unknown>>();

  /** Registers `kind` (a lowercase name, not "text" or "skd"); twice is a bug (throws). */
  register<T>(kind: string, h: ControlKind<T>): void {
    if (!KIND_RE.test(kind) || RESERVED.has(kind)) throw new Error(`"${kind}" cannot be a control kind`);
    if (this.#kinds.has(kind)) throw new Error(`The control kind "${kind}" is registered twice`);
    this.#kinds.set(kind, h as ControlKind<unknown>);
  }

  /** Whether `kind` is registered. */
  has(kind: string): boolean {
    return this.#kinds.has(kind);
  }

  /** Whether `kind` is registered as one that may come inside a room message. */
  mayComeInRoom(kind: string): boolean {
    return this.#kinds.get(kind)?.room === true;
  }

  /**
   * The handling of a control payload: decoded by its kind's handler, ready to run; null when the
   * payload's kind is not registered (a text message, or a kind this client does not know) or, in a
   * room message (`inRoom`), not one that may come there.
   */
  lookup(
    plaintext: Uint8Array,
    mid: string,
    inRoom = false,
  ): ((ctx: ControlContext) => Promise<ControlOutcome>) | null {
    const kind = payloadKind(plaintext);
    const h = kind === null ? undefined : this.#kinds.get(kind);
    if (!h || (inRoom && !h.room)) return null;
    const v = h.decode(plaintext, mid);
    return (ctx) => h.onReceive(v, ctx);
  }
}
