/**
 * What a peer-mode node tells its surfaces (the script through cli/peer.ts; the full-screen client
 * hears them as its core's events, peer/session.ts), and what it needs to start. Types only.
 */
import type { Clock, Timers } from "../../common/clock.ts";
import type { Backoff } from "../../common/backoff.ts";
import type { PeerLimits } from "../../net/peer_net.ts";
import type { ChatMessage, MessageChange } from "../backend.ts";
import type { PeerFileEvent } from "../files/carried.ts";
import type { PeerStore } from "./store.ts";

export type PeerEvent =
  | { type: "message"; message: ChatMessage }
  /** The peer acknowledged one of my messages (saved on its side): it left the outbox. */
  | { type: "delivered"; message: ChatMessage }
  /** One of my messages can never be sent (`message.failed` says why): it stays in the outbox, unsent. */
  | { type: "failed"; message: ChatMessage }
  /**
   * A message changed (issue 39): `by` (me or the peer) made `change`; `message` is its new state
   * (the same shape as the backend's "message.changed", which the full-screen client takes as is).
   */
  | { type: "message.changed"; message: ChatMessage; by: string; change: MessageChange }
  /** Disappearing messages whose time is up: gone from the local history (as the backend's event). */
  | { type: "messages.expired"; mids: string[] }
  | { type: "connected"; peer: string }
  | { type: "disconnected"; peer: string }
  | { type: "key-changed"; peer: string }
  | { type: "typing"; peer: string; active: boolean }
  | { type: "notice"; text: string; level: "info" | "warn" | "error" }
  | PeerFileEvent;

export interface PeerNodeOptions {
  name: string;
  store: PeerStore;
  hostname: string;
  port: number;
  clock?: Clock;
  /** what watch together's drift tick waits on (default the runtime's timers) */
  timers?: Timers;
  limits?: PeerLimits;
  /** reconnect delays (default 500 ms doubling to 30 s) */
  backoff?: Backoff;
  /** a ping goes every `keepaliveMs` (default 20 s); a channel silent for 3 of them is dropped */
  keepaliveMs?: number;
  /** where received files are saved (null: nowhere, offers can only be refused) */
  downloads?: string | null;
  /** take every file a verified peer offers at once (`--accept-files`) */
  acceptFiles?: boolean;
}
