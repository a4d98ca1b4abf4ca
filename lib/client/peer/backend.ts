/**
 * `PeerBackend`: the `ChatBackend` of the full-screen client in peer mode, over a `PeerNode`. Direct
 * messages, /inbox, keys (/fingerprint, /verify, /trust), typing, the outbox and history work as in
 * client mode (the capabilities `keys`, `typing`, `outbox`, `changes`, `feed`, `local`), plus `files`
 * and `peers` (`/connect`, `/peers`), which only it has; what needs a server (rooms, moderation, the
 * video library, `remote`) is simply absent, and a room or
 * broadcast target is refused as a backend without rooms refuses it ("peer_mode"). Every known peer
 * is offered by Tab completion (`peers.list`), online or not. Files (`files`: /ls, /send PEER ID|PATH,
 * /accept, /reject, /files, /withdraw) go straight to a connected peer (files/carried_desk.ts over
 * files/carried.ts); the end of a transfer a command waits for is printed by the command, the others
 * (auto-accepted, refused offers) come as notices.
 */
import {
  BackendError,
  type BackendEvent,
  type ChatBackend,
  type ChatMessage,
  type Fingerprint,
  missing,
  type PeerControls,
  type Presence,
  type Target,
} from "../backend.ts";
import { normalizeName } from "../../protocol/names.ts";
import { convOfTarget } from "../session/wire_events.ts";
import { keyChangedRefusal } from "./keys.ts";
import { dropPending, pendingCount, pendingEntries } from "./pending.ts";
import type { PeerEvent, PeerNode } from "./node.ts";
import { CarriedDesk } from "../files/carried_desk.ts";
import type {
  ChangeControls,
  FeedControls,
  KeyControls,
  LocalControls,
  MessageChange,
  OutboxControls,
  TypingControl,
} from "../backend.ts";
import { localControls } from "../session/local_controls.ts";
import { TypingGate, typingKey } from "../core/typing.ts";
import { firstScreen, markSeen, recentOf } from "../core/feed_view.ts";

/** Rooms and broadcasts need a server: refused as a backend without the rooms capability refuses them. */
const noServer = (): Promise<never> => Promise.reject(missing("rooms"));

/** What `fn` answers, or its error, as a promise. */
const attempt = <T>(fn: () => T): Promise<T> => new Promise((resolve) => resolve(fn()));

export class PeerBackend implements ChatBackend {
  readonly #typing: TypingGate;
  /** `/ls`, `/send PEER ID|PATH`, `/accept`, `/reject`, `/files`, `/withdraw` (files/carried_desk.ts). */
  readonly files: CarriedDesk;
  /** Peer mode's own commands (`/connect`, `/peers`): a capability only this backend has. */
  readonly peers: PeerControls = {
    connect: (addr) => this.node.connect(addr),
    list: () => Promise.resolve(this.node.peers()),
    discover: () => Promise.resolve(this.node.discover()),
  };
  /** `outbox`: the folder `/ls` lists (numbers for `/send PEER N`). */
  /** What this folder keeps: `/search`, mutes (session/local_mutes.ts), highlight words, the buffer order. */
  readonly local: LocalControls;
  constructor(readonly node: PeerNode, outbox?: string) {
    this.files = new CarriedDesk({
      files: node.files,
      send: (p, path) => node.sendFile(p, path),
      on: (l) => node.on(l),
    }, outbox);
    this.#typing = new TypingGate(node.clock);
    this.local = localControls(node.store.local, () => this.user, () => node.clock.now());
  }

  /** Who, where and as what: the node's session (session.ts). */
  get user(): string {
    return this.node.session.user;
  }
  get server(): string {
    return this.node.session.server;
  }
  get role(): "user" {
    return this.node.session.role;
  }

  on(listener: (e: BackendEvent) => void): () => void {
    const presence = (user: string, online: boolean): BackendEvent => ({
      type: "presence",
      user,
      online,
      presence: { user, addr: "", since: this.node.clock.now(), status: "free", role: "user" },
    });
    return this.node.on((e: PeerEvent) => {
      if (e.type === "message" || e.type === "delivered") listener({ type: "message", message: e.message });
      else if (e.type === "failed") {
        listener({ type: "message", message: e.message });
        const text = `Not sent, and never will be: ${e.message.failed} (/outbox lists it)`;
        listener({ type: "notice", text, level: "error" });
      } else if (e.type === "connected") {
        listener(presence(e.peer, true));
        listener({ type: "notice", text: `${e.peer} is connected`, level: "info" });
      } else if (e.type === "disconnected") listener(presence(e.peer, false));
      else if (e.type === "key-changed") {
        listener({ type: "notice", text: keyChangedRefusal(e.peer).message, level: "warn" });
      } else if (e.type === "typing") {
        listener({ type: "typing", from: e.peer, to: { kind: "user", name: this.user }, active: e.active });
      } else if (e.type === "file.sent" || e.type === "file.saved" || e.type === "file.failed") {
        const said = this.files.notice(e); // none when the command that waits for it prints its end
        if (said) listener(said);
      } else listener(e);
    });
  }

  send(target: Target, text: string, o?: { replyTo?: string }): Promise<ChatMessage> {
    if (target.kind !== "user" || !target.name) return noServer();
    this.#typing.sent(typingKey(target)); // the message clears the indicator at the peer
    try {
      const { queued, ...m } = this.node.send(target.name, text, o);
      return Promise.resolve({ ...m, pending: queued });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The peers connected now (`peers.list` names them all). */
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
  /** A connected peer's presence, null for a known one offline; a name no peer holds is refused. */
  async whois(user: string): Promise<Presence | null> {
    const name = normalizeName(user) ?? user;
    if (!this.node.peers().some((p) => p.name === name)) {
      throw new BackendError("no_such_user", `No peer named ${user}: /connect HOST:PORT first`);
    }
    return (await this.who()).find((p) => p.user === name) ?? null;
  }
  setStatus(): Promise<void> {
    return Promise.resolve();
  }
  history(target: Target, since = 0): Promise<ChatMessage[]> {
    if (target.kind !== "user") return Promise.resolve([]);
    return Promise.resolve(this.node.store.local.list(this.user, since, target));
  }
  fingerprint(user?: string): Promise<Fingerprint> {
    if (!user) return Promise.reject(new BackendError("usage", "Say whose: /fingerprint PEER"));
    return this.node.fingerprint(user);
  }
  verify(user: string, number?: string): Promise<Fingerprint> {
    return this.node.trust(user, true, number);
  }
  /** The keystore's `/trust` and `/inbox`. */
  readonly keys: KeyControls = {
    trust: (user, number) => this.node.trust(user, false, number),
    inbox: (user) => Promise.resolve(this.node.inbox(user)),
  };
  /** Issue 39 in peer mode (peer/conv.ts): edits, deletions, reactions, disappearing messages. */
  readonly changes: ChangeControls = {
    changeMessage: (ref: string, c: MessageChange) => attempt(() => this.node.conv.change(ref, c)),
    react: (ref: string, emoji: string) => attempt(() => this.node.conv.react(ref, emoji)),
    editsOf: (ref: string) => attempt(() => this.node.conv.editsOf(ref)),
    setExpiry: (target: Target, seconds: number) => {
      // Conversations with peers only: a room's name ("#room") is no peer's.
      const peer = target.kind === "user" ? target.name ?? "" : `#${target.name ?? ""}`;
      return attempt(() => this.node.conv.setExpiry(peer, seconds));
    },
    expiry: (target: Target) => {
      if (target.kind !== "user") return Promise.resolve(0); // conversations with peers only
      return Promise.resolve(
        this.node.store.local.expiryOf(
          convOfTarget(this.node.name, { kind: "user", name: target.name ?? "" }),
        ),
      );
    },
  };
  /** Typing as in client mode (core/typing.ts `TypingGate`): one "typing" per peer every 3 s, a "stopped" only while it may show. */
  readonly typing: TypingControl = {
    set: (target, active) => {
      if (target.kind !== "user" || !target.name || !this.#typing.allow(typingKey(target), active)) return;
      this.node.typing(target.name, active);
    },
  };
  /** The feed capability, client mode's rules (core/feed_view.ts); a peer node is its user's one device: what was read tells nobody. */
  readonly feed: FeedControls = {
    catchUp: () => {
      const local = this.node.store.local;
      const view = {
        recent: recentOf(local, this.user),
        unseen: local.unseen(),
        pending: this.node.outbox.messages(),
      };
      return Promise.resolve(firstScreen(view, this.node.clock.now()));
    },
    markSeen: (messages) => markSeen(this.node.store.local, messages),
    read: () => {},
    info: () => {
      const peers = this.node.peers();
      return [
        ["Mode", "peer (no server)"],
        ["Listening", this.node.listening],
        ["Peers", `${peers.filter((p) => p.online).length} online of ${peers.length}`],
        ["Store", this.node.store.path ?? "memory only (--ephemeral)"],
      ];
    },
  };
  /** The outbox capability: texts, changes and file offers waiting for a peer (peer/pending.ts). */
  readonly outbox: OutboxControls = {
    count: () => pendingCount(this.node),
    list: () => Promise.resolve(pendingEntries(this.node)),
    drop: (n) => Promise.resolve(dropPending(this.node, n)),
  };
  close(): Promise<void> {
    return this.node.close();
  }
}
