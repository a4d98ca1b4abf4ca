/**
 * `PeerBackend`: the `ChatBackend` of the full-screen client in peer mode, over a `PeerNode`. Direct
 * messages, /inbox, keys (/fingerprint, /verify, /trust), typing, the outbox and history work as in
 * client mode; `/connect` and `/peers` come through `connectPeer` and `peerList`. What needs a
 * server (rooms, broadcasts, moderation, the video library) rejects with `BackendError`
 * "peer_mode". Every known peer is offered by Tab completion (`peerList`), online or not.
 */
import {
  BackendError,
  type BackendEvent,
  type CatchUp,
  type ChatBackend,
  type ChatMessage,
  type Fingerprint,
  type KickedEntry,
  type PeerListing,
  type Presence,
  type RoomInfo,
  type Target,
} from "./backend.ts";
import { keyChangedRefusal } from "./peer_keys.ts";
import type { PeerEvent, PeerNode } from "./peer_node.ts";

const noServer = (what: string): Promise<never> =>
  Promise.reject(new BackendError("peer_mode", `${what} needs a server; peer mode has direct messages only`));

export class PeerBackend implements ChatBackend {
  readonly role = "user" as const;
  constructor(readonly node: PeerNode) {}

  get user(): string {
    return this.node.name;
  }
  get server(): string {
    return `peer mode on ${this.node.listening}`;
  }

  on(listener: (e: BackendEvent) => void): () => void {
    const presence = (user: string, online: boolean): BackendEvent => ({
      type: "presence",
      user,
      online,
      presence: { user, addr: "", since: this.node.clock.now(), status: "free", role: "user" },
    });
    return this.node.on((e: PeerEvent) => {
      if (e.type === "message") listener({ type: "message", message: e.message });
      else if (e.type === "connected") {
        listener(presence(e.peer, true));
        listener({ type: "notice", text: `${e.peer} is connected`, level: "info" });
      } else if (e.type === "disconnected") listener(presence(e.peer, false));
      else if (e.type === "key-changed") {
        listener({ type: "notice", text: keyChangedRefusal(e.peer).message, level: "warn" });
      } else if (e.type === "typing") {
        listener({ type: "typing", from: e.peer, to: { kind: "user", name: this.user }, active: e.active });
      } else listener(e);
    });
  }

  send(target: Target, text: string): Promise<ChatMessage> {
    if (target.kind !== "user" || !target.name) return noServer("Rooms and broadcasts");
    try {
      const { queued, ...m } = this.node.send(target.name, text);
      return Promise.resolve({ ...m, pending: queued });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The peers connected now (`peerList` names them all). */
  who(): Promise<Presence[]> {
    return Promise.resolve(
      this.node.peers().filter((p) => p.online).map((p) => ({
        user: p.name,
        addr: p.addr ?? "",
        since: 0,
        status: "free",
        role: "user",
      })),
    );
  }
  async whois(user: string): Promise<Presence | null> {
    return (await this.who()).find((p) => p.user === user) ?? null;
  }
  setStatus(): Promise<void> {
    return Promise.resolve();
  }
  history(target: Target, since = 0): Promise<ChatMessage[]> {
    if (target.kind !== "user") return Promise.resolve([]);
    return Promise.resolve(this.node.store.local.list(this.user, since, target));
  }
  rooms(): Promise<RoomInfo[]> {
    return Promise.resolve([]);
  }
  createRoom(): Promise<RoomInfo> {
    return noServer("Rooms");
  }
  invite(): Promise<void> {
    return noServer("Rooms");
  }
  leave(): Promise<void> {
    return noServer("Rooms");
  }
  kick(): Promise<void> {
    return noServer("Moderation");
  }
  kicked(): Promise<KickedEntry[]> {
    return noServer("Moderation");
  }
  grant(): Promise<void> {
    return noServer("Moderation");
  }
  revoke(): Promise<void> {
    return noServer("Moderation");
  }
  fingerprint(user?: string): Promise<Fingerprint> {
    if (!user) return Promise.reject(new BackendError("usage", "Say whose: /fingerprint PEER"));
    return this.node.fingerprint(user);
  }
  async verify(user: string): Promise<void> {
    await this.node.trust(user, true);
  }
  trust(user: string): Promise<Fingerprint> {
    return this.node.trust(user);
  }
  inbox(user?: string): Promise<ChatMessage[]> {
    return Promise.resolve(this.node.inbox(user));
  }
  typing(target: Target, active: boolean): void {
    if (target.kind === "user" && target.name) this.node.typing(target.name, active);
  }
  catchUp(): Promise<CatchUp> {
    const local = this.node.store.local;
    const pending = local.pendingAll().map((p) => ({ ...p, seq: 0, from: this.user, pending: true }));
    return Promise.resolve({ recent: local.recent(this.user, 50), unseen: local.unseen(), pending });
  }
  markSeen(messages: ChatMessage[]): void {
    this.node.store.local.markSeen(messages.filter((m) => m.seq > 0).map((m) => m.seq));
  }
  pendingCount(): number {
    return this.node.store.local.pendingCount();
  }
  info(): [string, string][] {
    const peers = this.node.peers();
    return [
      ["Mode", "peer (no server)"],
      ["Listening", this.node.listening],
      ["Peers", `${peers.filter((p) => p.online).length} online of ${peers.length}`],
      ["Store", this.node.store.path ?? "memory only (--ephemeral)"],
    ];
  }
  connectPeer(addr: string): Promise<string> {
    return this.node.connect(addr);
  }
  peerList(): Promise<PeerListing[]> {
    return Promise.resolve(this.node.peers());
  }
  discoverPeers(): Promise<number> {
    return Promise.resolve(this.node.discover());
  }
  close(): Promise<void> {
    return this.node.close();
  }
}
