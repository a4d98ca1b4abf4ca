/**
 * What a peer-mode node tells its surfaces, said once as its core's events (backend.ts `BackendEvent`,
 * handed to core/chat_client.ts `notify`): a peer coming and going (`peerCame`, `peerWent`: presence;
 * the script's `connected PEER`, `disconnected PEER`), a changed key (`keyChanged`: a notice naming
 * the peer; the script's `key-changed PEER`) and typing (`peerTyping`). The script (cli/peer.ts) and
 * the full-screen client hear them, with the core's own, from the core (node.ts `on`). And what a
 * node needs to start.
 */
import type { Clock, Timers } from "../../common/clock.ts";
import type { Backoff } from "../../common/backoff.ts";
import type { PeerLimits } from "../../net/peer_net.ts";
import type { BackendEvent, Presence } from "../backend.ts";
import { keyChangedRefusal } from "./keys.ts";
import type { PeerStore } from "./store.ts";

/** A peer as a presence: its user's one device, always free. */
export function present(user: string, addr: string, since: number): Presence {
  return { user, addr, since, status: "free", role: "user" };
}

/** `peer`'s channel said hello (at `now`): online, and said. */
export function peerCame(peer: string, now: number): BackendEvent[] {
  return [
    { type: "presence", user: peer, online: true, presence: present(peer, "", now) },
    { type: "notice", text: `${peer} is connected`, level: "info" },
  ];
}

/** `peer`'s channel that said hello ended (at `now`). */
export function peerWent(peer: string, now: number): BackendEvent {
  return { type: "presence", user: peer, online: false, presence: present(peer, "", now) };
}

/** `peer` is typing to me (`active`), or stopped: its plain `typing` record. */
export function peerTyping(peer: string, me: string, active: boolean): BackendEvent {
  return { type: "typing", from: peer, to: { kind: "user", name: me }, active };
}

/** `peer` proved a key other than the one pinned: its channel is refused until /trust. */
export function keyChanged(peer: string): BackendEvent {
  return { type: "notice", text: keyChangedRefusal(peer).message, level: "warn", keyChanged: peer };
}

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
