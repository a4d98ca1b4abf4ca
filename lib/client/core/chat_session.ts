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
 * sending.ts `settleSent`). No I/O of its own.
 */
import type { Clock } from "../../common/clock.ts";
import type { BackendEvent, ChatMessage, Role, Target } from "../backend.ts";
import type { Seen } from "./engine.ts";
import type { Link } from "./link.ts";

/** How a session ends: the core's "disconnected" event. */
export type SessionEnd = Extract<BackendEvent, { type: "disconnected" }>;

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
}
