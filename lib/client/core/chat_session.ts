/**
 * `ChatSession`: what the conversation core (`ChatClient`, chat_client.ts; peer mode's node) needs of
 * "where messages go and come from" (issue 70), whatever carries them. Two implementations: the
 * server's, `ServerSession` (server_session.ts: one logged-in connection, its relay link
 * server_link.ts, acks as the queue's `ack` request) and peer mode's, `PeerSession` (peer/session.ts:
 * the node's channels, its link peer/channel_link.ts, acks written by the channel once a message is
 * saved). Besides the carrier it holds the session's policies, which the shared core asks about
 * instead of deciding per mode: whether the carrier is gone now (`closed`: a UI's send waits in the
 * outbox), the largest frame the other end reads, how the outbox's entries leave (`sends`: lanes,
 * window, a lane down; kept_sends.ts runs them), and how many lost carriers in a row an outbox entry
 * survives before it is marked failed (`dropLimit`, engine_outbox.ts `dropNoted`: the server's
 * POISON_DROPS — a server refusing a size may reset the connection first —, never for a peer, who
 * only went away), and how a sent text taken by the other end is numbered here (`number`:
 * sending.ts `settleSent`). What only one kind has is optional: a server's connection (`conn`: pushes,
 * sync, history pages); a session answering who and keys itself (`directory`), `/info`,
 * typing, `/outbox`, the target it addresses (`address`), whether a kept send's caller waits for the
 * answer (`sends.waits`), its ids (`sends.mid`) and its lanes' carriers coming and going (`sends.lanes`):
 * a peer node's. No I/O of its own.
 */
import type { Clock } from "../../common/clock.ts";
import type {
  BackendEvent,
  ChatMessage,
  Fingerprint,
  OutboxEntry,
  Presence,
  Role,
  Status,
  Target,
} from "../backend.ts";
import type { Connection } from "../session/connection.ts";
import type { Seen } from "./engine.ts";
import type { Link } from "./link.ts";

/** How a session ends: the core's "disconnected" event. */
export type SessionEnd = Extract<BackendEvent, { type: "disconnected" }>;

/**
 * What waits for someone away besides the outbox's texts and changes (a peer node's file offers to a
 * peer away, peer/session.ts): outbox.ts `outboxControls` lists and numbers them with the outbox.
 */
export interface Waiting {
  /** The entries waiting now (`n` unset: the listing numbers them). */
  list(): OutboxEntry[];
  /** Takes entry `mid` back (a file offer withdrawn). */
  drop(mid: string): void;
}

/**
 * How outbox entries leave over a session (kept_sends.ts's lanes): the server's one lane, a window
 * of 1 (each waits for its answer), down with the connection; a lane per peer, any number handed and
 * not acknowledged, down while the peer has no channel or its key changed.
 */
export interface SendPolicy {
  /** How many handed entries a lane may have unacknowledged. */
  readonly window: number;
  /** The lane an entry to `to` leaves on (none: the session's one lane). */
  lane?(to: Target): string;
  /** Whether `lane`'s carrier is gone, or cannot take anything now. */
  offline(lane: string): boolean;
  /**
   * Whether a kept text's caller waits for the other end's answer (the relay's seq; default yes);
   * no: answered at once, pending while its lane is down, the other end's ack settling it later.
   */
  readonly waits?: boolean;
  /** A fresh message id in the carrier's form (default: the relay's, 12 random bytes in hex). */
  mid?(): string;
  /**
   * Hands the core the lanes' comings and goings, for a session whose lanes have carriers of their
   * own (a peer's channel): `up` a new carrier, `down` the current one gone, `held` the other end
   * holds `mid` (settled once).
   */
  lanes?(core: LaneEvents): void;
}

/** What a session tells the core's send runner of its lanes (kept_sends.ts). */
export interface LaneEvents {
  up(lane: string): void;
  down(lane: string): void;
  held(lane: string, mid: string): void;
}

/**
 * Who is there and whose keys are whose, where the session answers it itself (a peer node:
 * peer/session.ts); a server's are its one-request commands (server_commands.ts).
 */
export interface Directory {
  who(): Promise<Presence[]>;
  whois(user: string): Promise<Presence | null>;
  setStatus(status: Status): Promise<void>;
  fingerprint(user?: string): Promise<Fingerprint>;
  verify(user: string, number?: string): Promise<Fingerprint>;
  trust(user: string, number?: string): Promise<Fingerprint>;
  /** `/inbox`'s messages, when the session says them itself (none: the folder's, or one user's history). */
  inbox?(user?: string): Promise<ChatMessage[]>;
}

export interface ChatSession {
  /** Who is logged in (the node's name in peer mode). */
  readonly user: string;
  /** Where it is: "host:port" of the server node, or the peer node's listening address. */
  readonly server: string;
  readonly role: Role;
  /** The largest frame the other end reads (a text must fit one). */
  readonly maxFrame: number;
  /** Whether the carrier is gone now (a UI's send then waits in the outbox). */
  readonly closed: boolean;
  /**
   * How many times in a row a kept entry may be cut off by a lost carrier before it is marked failed
   * (engine_outbox.ts `dropNoted`); Infinity: never.
   */
  readonly dropLimit: number;
  /** How the outbox's entries leave over it. */
  readonly sends: SendPolicy;
  /** The link over this session's carrier (core/link.ts), made on the first call with the core's clock. */
  openLink(clock: Clock): Link;
  /**
   * My text `m` as numbered here once the other end took it: the seq a server gave; a peer gives
   * none, so its store numbers it once (peer/store.ts `place`; held already: as given, seq 0).
   */
  number(m: ChatMessage): ChatMessage;
  /** Acknowledges consumed messages at their source; none where the carrier acked each on arrival. */
  ack(acks: Seen[]): Promise<void>;
  /** Resolves when the session ends, with the event that says why. */
  ended(): Promise<SessionEnd>;
  /** The server connection under it, a server's only: its pushes, sync, history and one-request commands. */
  readonly conn?: Connection;
  /** Who and whose keys, when the session answers them itself (no server). */
  readonly directory?: Directory;
  /**
   * `to` as the session addresses it (the name it holds), refused where nothing can go (peer mode: a
   * room, an unknown peer, a changed key); none: as given.
   */
  address?(to: Target): Target;
  /** `/info`'s lines, when the session says them itself. */
  info?(): [string, string][];
  /** Says typing to `to` itself, unsealed (a peer channel's record); none: a sealed signal on the link. */
  typing?(to: Target, active: boolean): void;
  /** What waits for someone away besides the outbox, which `/outbox` lists with it (peer mode: file offers). */
  readonly waiting?: Waiting;
}
