/**
 * The state of one attached `E2eCodec` (e2e/codec.ts, its composition root) as the jobs that still
 * share it use it: room_seal.ts (sender keys, handouts, room pushes), apply.ts (the history applier),
 * receive.ts (the receive path) and keys.ts (`keyOps`). The DM sealer (dm_seal.ts), the room logs
 * (room_log.ts), the control registry (controls.ts), blocks.ts and seen_sync.ts take only what they
 * need. Also `Host`: what the codec needs of the client it seals for.
 */
import type { Clock } from "../../common/clock.ts";
import type { DmManager } from "../../crypto/dm.ts";
import type { RoomManager } from "../../crypto/room_manager.ts";
import type { BackendEvent, ChatMessage, MessageChange } from "./door.ts";
import type { Connection } from "../session/connection.ts";
import type { SqliteCryptoStore } from "../session/crypto_store.ts";
import type { LocalStore } from "../session/local_store.ts";
import type { SealedSender } from "./body_codec.ts";
import type { ControlRegistry } from "./controls.ts";
import type { DeviceLists, DmSealer, E2eDirectory, Request } from "./dm_seal.ts";
import type { RoomLogs } from "./room_log.ts";

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

/**
 * The state of one attached codec, as its jobs use it: every function that takes `E2eParts` runs
 * under the folder's lock (`E2eCodec`'s `#serial`); none takes the lock itself, and none sends a
 * message (only the channel's `send`, `sendControl`, does).
 */
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
  /** Seals DMs to every device and opens this device's part (e2e/dm_seal.ts). */
  readonly dms: DmSealer;
  /**
   * Changes of my own texts still in the outbox (their `ok` was lost), by the text's mid: applied when
   * the outbox's resend confirms it (e2e/apply.ts `holdChange`, `confirmed`).
   */
  readonly held: Map<string, HeldChange[]>;
  /** Reads from the server (directory, keys, logs); never a `send`. */
  readonly request: Request;
  notice(level: "info" | "warn" | "error", text: string): void;
}
