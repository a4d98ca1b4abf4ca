/**
 * `LiveBackend`: the backend the full-screen client uses. Wraps a logged-in `ChatClient`:
 * - `catchUp()` (called once the UI listens) syncs the offline queue into the local store, then
 *   answers with recent history, what arrived while away (never shown) and the outbox;
 * - acknowledges in batches only what the local store holds (the client saves before it emits);
 * - text sent while disconnected waits in the local outbox and goes out, in order and once, after
 *   the next connect (outbox_sender.ts); a message the server can never take (too long, malformed)
 *   is marked failed, never resent, and stays listed (`outbox()`) until dropped (`dropOutbox`);
 * - reconnects with backoff after a network loss or server restart, at once on `reconnectNow()`
 *   (`/reconnect`), and by itself when a ban ends (not after a plain kick); restores the status
 *   the user chose (busy) after every reconnect.
 * Delegates every other command to the current client.
 */
import {
  type BackendEvent,
  type CatchUp,
  type ChatBackend,
  type ChatMessage,
  type FileControls,
  type Fingerprint,
  type MessageChange,
  type ModerationControls,
  type OutboxEntry,
  type Presence,
  type Role,
  type RoomControls,
  type Status,
  type Target,
  type VideoControls,
  type WatchChannel,
} from "../backend.ts";
import type { ChatClient } from "./chat_client.ts";
import { TypingGate } from "./typing.ts";
import { normalizeName } from "../../protocol/names.ts";
import { VERSION } from "../../common/version.ts";
import { PROTOCOL_VERSION } from "../../protocol/messages.ts";
import { OutboxSender } from "./outbox_sender.ts";
import { Reconnector } from "./reconnect.ts";
import { AckBatch } from "./ack_batch.ts";
import { moderationControls, roomControls } from "./server_commands.ts";
import { videoControls } from "./video_part.ts";

const typingKey = (t: Target): string => `${t.kind}:${normalizeName(t.name ?? "") ?? t.name}`;
/** Messages of each conversation restored from the local store at start. */
const RECENT_PER_CONVERSATION = 100;

export class LiveBackend implements ChatBackend {
  #client: ChatClient;
  readonly #listeners = new Set<(e: BackendEvent) => void>();
  #unsub: () => void = () => {};
  readonly #acks = new AckBatch(() => this.#client);
  #closed = false;
  #versionSaid: string | null = null;
  readonly #re: Reconnector;
  /** The status the user chose; sent again after every reconnect. */
  #status: Status | null = null;
  readonly #sender = new OutboxSender((e) => this.#emit(e));
  readonly #typing: TypingGate;
  /** File commands (file_desk.ts), set by the launcher when the client has end-to-end keys. */
  files?: FileControls;
  /** Watch together (video/watch_channel.ts), set by the launcher when the client has end-to-end keys. */
  watch?: WatchChannel;

  /** The current time: the current client's clock (`ChatClient.clock`, the one injected at login). */
  readonly now = (): number => this.#client.clock.now();

  constructor(client: ChatClient, readonly reconnect: (() => Promise<ChatClient>) | null = null) {
    this.#client = client;
    this.#typing = new TypingGate({ now: this.now });
    this.#re = new Reconnector({
      client: () => this.#client,
      closed: () => this.#closed,
      now: this.now,
      emit: (e) => this.#emit(e),
      reconnect,
      adopt: (c) => this.#adopt(c),
    });
  }

  get user(): string {
    return this.#client.user;
  }
  /** The client of the current connection (a new one after each reconnect). */
  get client(): ChatClient {
    return this.#client;
  }
  get server(): string {
    return this.#client.server;
  }
  get role(): Role {
    return this.#client.role;
  }
  get #online(): boolean {
    return !this.#client.conn.closed && !this.#re.reconnecting;
  }

  /** Starts following the feed; replays the offline queue as message events (without `catchUp`). */
  async start(): Promise<void> {
    for (const m of await this.#begin()) this.#emit({ type: "message", message: m });
    this.#sender.flush(this.#client);
  }

  /** Starts following the feed and answers with what the screen shows first. */
  async catchUp(): Promise<CatchUp> {
    const store = this.#client.store;
    const recent = store?.recent(this.user, RECENT_PER_CONVERSATION) ?? [];
    const queued = await this.#begin();
    const unseen = store ? store.unseen() : queued;
    const pending = this.#client.outbox?.messages() ?? [];
    this.#sender.flush(this.#client);
    return { recent, unseen, pending };
  }

  /** Subscribes, syncs; the queue is saved by the client before it is returned (then acknowledged). */
  async #begin(): Promise<ChatMessage[]> {
    this.#attach();
    // The server's version differs in major.minor (its hello): said once per server version met.
    const v = this.#client.versionNotice;
    if (v && v !== this.#versionSaid) this.#emit({ type: "notice", level: "warn", text: v });
    this.#versionSaid = v;
    // The same tick deletes disappearing messages whose time is up (issue 39.5).
    this.#acks.start(() => {
      try {
        this.#client.changes.purgeExpired(this.now());
      } catch (e) {
        this.#emit({ type: "notice", level: "warn", text: `Disappearing messages: ${(e as Error).message}` });
      }
    });
    this.#client.changes.purgeExpired(this.now());
    const queued = await this.#client.sync();
    this.#acks.add(...queued);
    return queued;
  }

  #attach(): void {
    this.#unsub();
    this.#unsub = this.#client.on((e) => {
      if (e.type === "message") this.#acks.add(e.message);
      if (e.type === "disconnected") return void this.#re.lost(e);
      this.#emit(e);
    });
  }

  #emit(e: BackendEvent): void {
    for (const l of this.#listeners) l(e);
  }

  markSeen(ms: ChatMessage[]): void {
    const seqs = ms.filter((m) => m.seq > 0).map((m) => m.seq);
    if (seqs.length) this.#client.store?.markSeen(seqs);
  }

  info(): [string, string][] {
    const c = this.#client;
    const codec = c.codec as { device?: number; encrypted: boolean };
    const failed = c.outbox?.failedCount() ?? 0;
    return [
      ["server", c.server],
      ["user", `${c.user}${c.role === "admin" ? " (admin)" : ""}`],
      ["device", codec.device !== undefined ? String(codec.device) : "- (no end-to-end keys)"],
      ["connection", this.#online ? "online" : this.#re.reconnecting ? "reconnecting" : "offline"],
      ["encryption", codec.encrypted ? "end to end" : "off"],
      ["outbox", `${this.pendingCount()} waiting to be sent${failed ? `, ${failed} failed (/outbox)` : ""}`],
      ["to acknowledge", `${this.#acks.size} shown, not yet acknowledged`],
      ["versions", `parley ${VERSION}, protocol ${PROTOCOL_VERSION}`],
    ];
  }

  pendingCount(): number {
    return this.#client.outbox?.count() ?? 0;
  }

  reconnectNow(): void {
    this.#re.now();
  }

  /** A new connection's client becomes current: the chosen status again, the feed and the outbox. */
  async #adopt(c: ChatClient): Promise<void> {
    this.#client = c;
    this.#acks.clear();
    if (this.#status) await c.setStatus(this.#status);
    await this.start();
    this.#emit({ type: "connection", state: "online" });
    this.#emit({ type: "notice", level: "info", text: "Reconnected" });
    if (this.#status === "busy") {
      const me = (await c.whois(this.user).catch(() => null)) ?? undefined;
      this.#emit({ type: "presence", user: this.user, online: true, presence: me });
    }
  }

  on(l: (e: BackendEvent) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /**
   * Typing indicator (issue 14): at most one "typing" per conversation every 3 s, a "stopped" only
   * while the last one may still show (TypingGate); sent end to end, never stored; dropped offline.
   */
  typing(target: Target, active: boolean): void {
    if (target.kind === "broadcast" || !this.#online) return;
    if (!this.#typing.allow(typingKey(target), active)) return;
    this.#client.typing(target, active).catch(() => {}); // a lost signal only shortens an indicator
  }

  /** Sends now, or keeps the text in the outbox (returned as pending) while offline: outbox_sender.ts. */
  send(target: Target, text: string, o: { replyTo?: string } = {}): Promise<ChatMessage> {
    this.#typing.sent(typingKey(target)); // the message clears the indicator at the receiver
    return this.#sender.send(this.#client, target, text, this.#online, o.replyTo);
  }

  setExpiry(target: Target, seconds: number): Promise<ChatMessage> {
    return this.#client.changes.setExpiry(target, seconds);
  }
  changeMessage(ref: string, c: MessageChange): Promise<ChatMessage> {
    return this.#client.changes.changeMessage(ref, c);
  }
  react(ref: string, emoji: string): Promise<ChatMessage> {
    return this.#client.changes.react(ref, emoji);
  }
  editsOf(ref: string): Promise<{ at: number; text: string }[]> {
    const store = this.#client.store, m = store?.byMidAny(ref);
    return Promise.resolve(m && store ? store.editsOf(m.seq) : []);
  }

  /** The outbox, waiting and failed messages (`/outbox`). */
  outbox(): Promise<OutboxEntry[]> {
    return Promise.resolve(this.#client.outbox?.list() ?? []);
  }

  /** Removes outbox entry `n` (`/outbox drop N`): it is not sent, and its line leaves the screen. */
  dropOutbox(n: number): Promise<OutboxEntry | null> {
    return Promise.resolve(this.#client.outbox?.drop(n) ?? null);
  }
  who(): Promise<Presence[]> {
    return this.#client.who();
  }
  whois(user: string): Promise<Presence | null> {
    return this.#client.whois(user);
  }
  async setStatus(status: Status): Promise<void> {
    await this.#client.setStatus(status);
    this.#status = status;
  }
  history(target: Target, since?: number): Promise<ChatMessage[]> {
    return this.#client.history(target, since);
  }
  /** Rooms, admin actions and video (capabilities), over the current connection's client. */
  readonly rooms: RoomControls = roomControls(() => this.#client);
  readonly moderation: ModerationControls = moderationControls(() => this.#client);
  readonly video: VideoControls = videoControls(() => this.#client.video);
  users(): Promise<{ user: string; role: Role }[]> {
    return this.#client.users();
  }
  fingerprint(user?: string): Promise<Fingerprint> {
    return this.#client.fingerprint(user);
  }
  verify(user: string, number?: string): Promise<Fingerprint> {
    return this.#client.verify(user, number);
  }
  trust(user: string, number?: string): Promise<Fingerprint> {
    return this.#client.trust(user, number);
  }
  inbox(user?: string): Promise<ChatMessage[]> {
    return user
      ? this.#client.history({ kind: "user", name: user })
      : Promise.resolve(this.#client.store?.list(this.user, 0) ?? []);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#re.stop();
    this.#acks.stop();
    this.#unsub();
    await new Promise((r) => setTimeout(r, 50));
    await this.#client.close();
  }
}
