/**
 * The parts one attached `E2eCodec` (e2e/codec.ts) is made of, shared by the files that do its jobs:
 * dm_seal.ts (pairwise DMs), room_seal.ts (sender keys and their handouts), receive.ts and
 * receive_dm.ts (the receive path), key_ops.ts (safety numbers, pinning), room_push.ts (membership
 * pushes). Every function that takes `E2eParts` runs under the folder's lock (`E2eCodec`'s
 * `#serial`); none takes the lock itself, and none sends a message (only control_send.ts does, for `send`).
 */
import type { Clock } from "../../common/clock.ts";
import type { AccountSecrets } from "../../crypto/account_kdf.ts";
import type { Argon2Params } from "../../crypto/at_rest.ts";
import type { BodyCodec, SealedSender } from "./body_codec.ts";
import type { DmManager } from "../../crypto/dm.ts";
import type { RoomManager } from "../../crypto/room_manager.ts";
import type { StoreWrites } from "../../crypto/state_store.ts";
import type { BackendEvent, ChatMessage, Keystore, MessageChange, Target } from "./door.ts";
import type { Connection } from "../session/connection.ts";
import { SqliteCryptoStore } from "../session/crypto_store.ts";
import type { LocalStore } from "../session/local_store.ts";
import type { ControlRegistry, SealedChannel } from "./controls.ts";
import type { DeviceLists, E2eDirectory } from "./dm_seal.ts";
import type { Request } from "./keys.ts";
import type { RoomLogs } from "./room_log.ts";

/** No keystore writes. */
export const NO_WRITES: StoreWrites = { put: {}, del: [] };

/** The sender-key "room" that carries broadcasts. */
export const BROADCAST_ROOM = "*";

/** What the codec needs of the client it seals for (core/chat_client.ts's ChatClient). */
export interface Host {
  /** Who is logged in. */
  readonly user: string;
  /** The server's nonce for this session: what device proofs sign. */
  readonly nonce: string;
  /** @internal Its connection, for requests (session/connection.ts): directory and key reads. */
  readonly conn: Pick<Connection, "request">;
  /** @internal Where sealed bodies leave (the core's `Link`, core/link.ts): handouts and controls too. */
  readonly link: SealedSender;
  /** Tells the surfaces. */
  notify(e: BackendEvent): void;
}

/** The state of one attached codec, as its jobs use it (under the folder's lock). */
/** A received change of a text of mine not confirmed yet: its envelope and what it does. */
export interface HeldChange {
  m: ChatMessage;
  c: MessageChange;
  admin: boolean;
  /** The sender of the message it changes, as the change names it. */
  by?: string;
  /** The time sealed in an edit (its edit window: e2e/changes.ts `editTooLate`). */
  at?: number;
}

export interface E2eParts {
  readonly me: string;
  readonly device: number;
  readonly host: Host;
  readonly cs: SqliteCryptoStore;
  readonly local: LocalStore;
  readonly clock: Clock;
  readonly dm: DmManager;
  readonly rooms: RoomManager;
  readonly devices: DeviceLists;
  readonly dir: E2eDirectory;
  readonly logs: RoomLogs;
  readonly controls: ControlRegistry;
  /** User → the device list (joined addresses) a DM signal last started sessions for (e2e/dm_seal.ts). */
  readonly signalLists: Map<string, string>;
  /**
   * Changes of my own texts still in the outbox (their `ok` was lost), by the text's mid: applied when
   * the outbox's resend confirms it (e2e/apply.ts `holdChange`, `confirmed`).
   */
  readonly held: Map<string, HeldChange[]>;
  /** Reads from the server (directory, keys, logs); never a `send`. */
  readonly request: Request;
  notice(level: "info" | "warn" | "error", text: string): void;
}

/** Commits `w` and records the message `seq` of `conv` as consumed: it never shows as a line. */
export function commitConsumed(p: E2eParts, w: StoreWrites, seq: number, conv: string): Promise<void> {
  return p.cs.commit(w, (db) => SqliteCryptoStore.markConsumed(db, seq, conv));
}

/** The text of an error, for a notice. */
export const errorText = (e: unknown): string => e instanceof Error ? e.message : String(e);

/** The client `E2eCodec.attach` switches to encrypted bodies (core/chat_client.ts's ChatClient). */
export interface AttachClient extends Host {
  /** @internal Its folder (none: no end-to-end encryption). */
  store?: LocalStore | null;
  /** @internal What the password gave at login (else derived again). */
  account?: AccountSecrets;
  /** What its bodies go through: set to the codec. */
  codec: BodyCodec;
}

/** How `E2eCodec.attach` opens the keystore and what it registers. */
export interface AttachOptions {
  /** Argon2id parameters of a new keystore, and the least an existing one may use. */
  params?: Argon2Params;
  /** The least Argon2id cost an existing keystore may have. */
  floor?: Argon2Params;
  /** Time (signed membership changes, key rotation). */
  clock?: Clock;
  /** Runs on the opened keystore before keys are published (a linked device's keys). */
  prepare?: (cs: Keystore) => Promise<void>;
  /** Registers the control kinds of the features above e2e/ (start/e2e_attach.ts). */
  controls?: (ch: SealedChannel) => void;
  /** The timer of the "seen" notes to my other devices (e2e/seen_sync.ts; default setTimeout): tests run it by hand. */
  later?: Later;
}

/** Runs `fn` once, `ms` from now (setTimeout's shape); what `fn` answers is for a timer held by hand. */
export type Later = (fn: () => unknown, ms: number) => unknown;
