/**
 * `LiveBackend`: the backend the full-screen client uses. Wraps a logged-in `ChatClient`, follows
 * the live feed (sync at start: queued messages are replayed as events), acknowledges what was
 * shown in batches, and reconnects with backoff after a network loss or server restart (not after
 * a kick or ban). Delegates every command to the current client.
 */
import type {
  BackendEvent,
  ChatBackend,
  ChatMessage,
  Fingerprint,
  KickedEntry,
  OutgoingStream,
  PlayVideoOptions,
  Presence,
  Role,
  RoomInfo,
  Status,
  Target,
  VideoHandle,
  VideoListing,
} from "./backend.ts";
import type { ChatClient } from "./chat_client.ts";

const ACK_EVERY_MS = 500;
/** Disconnects after which reconnecting would be wrong. */
const FINAL = new Set(["kicked", "banned"]);

export class LiveBackend implements ChatBackend {
  #client: ChatClient;
  readonly #listeners = new Set<(e: BackendEvent) => void>();
  #unsub: () => void = () => {};
  #toAck: ChatMessage[] = [];
  #ackTimer: ReturnType<typeof setInterval> | null = null;
  #closed = false;
  #reconnecting = false;

  constructor(client: ChatClient, readonly reconnect: (() => Promise<ChatClient>) | null = null) {
    this.#client = client;
  }

  get user(): string {
    return this.#client.user;
  }
  get server(): string {
    return this.#client.server;
  }
  get role(): Role {
    return this.#client.role;
  }

  /** Starts following the feed; replays the offline queue as message events. */
  async start(): Promise<void> {
    this.#attach();
    this.#ackTimer ??= setInterval(() => this.#flushAcks(), ACK_EVERY_MS);
    const queued = await this.#client.sync();
    for (const m of queued) this.#emit({ type: "message", message: m });
    this.#toAck.push(...queued);
  }

  #attach(): void {
    this.#unsub();
    this.#unsub = this.#client.on((e) => {
      if (e.type === "message") this.#toAck.push(e.message);
      if (e.type === "disconnected") return this.#lost(e);
      this.#emit(e);
    });
  }

  #emit(e: BackendEvent): void {
    for (const l of this.#listeners) l(e);
  }

  #flushAcks(): void {
    if (!this.#toAck.length || this.#client.conn.closed) return;
    const batch = this.#toAck;
    this.#toAck = [];
    this.#client.ack(batch).catch(() => this.#toAck.unshift(...batch));
  }

  async #lost(e: Extract<BackendEvent, { type: "disconnected" }>): Promise<void> {
    this.#emit(e);
    if (this.#closed || !this.reconnect || FINAL.has(e.code) || this.#reconnecting) return;
    this.#reconnecting = true;
    this.#emit({ type: "connection", state: "offline" });
    for (let attempt = 0; !this.#closed; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** Math.min(attempt, 6))));
      if (this.#closed) break;
      this.#emit({ type: "connection", state: "connecting" });
      try {
        const c = await this.reconnect();
        if (this.#closed) {
          await c.close();
          break;
        }
        this.#client = c;
        this.#toAck = [];
        await this.start();
        this.#emit({ type: "connection", state: "online" });
        this.#emit({ type: "notice", level: "info", text: "Reconnected" });
        break;
      } catch (err) {
        this.#emit({ type: "connection", state: "offline" });
        this.#emit({
          type: "notice",
          level: "warn",
          text: `Reconnect failed: ${err instanceof Error ? err.message : err}`,
        });
      }
    }
    this.#reconnecting = false;
  }

  on(l: (e: BackendEvent) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  send(target: Target, text: string): Promise<ChatMessage> {
    return this.#client.send(target, text);
  }
  who(): Promise<Presence[]> {
    return this.#client.who();
  }
  whois(user: string): Promise<Presence | null> {
    return this.#client.whois(user);
  }
  setStatus(status: Status): Promise<void> {
    return this.#client.setStatus(status);
  }
  history(target: Target, since?: number): Promise<ChatMessage[]> {
    return this.#client.history(target, since);
  }
  rooms(): Promise<RoomInfo[]> {
    return this.#client.rooms();
  }
  createRoom(name: string, members: string[]): Promise<RoomInfo> {
    return this.#client.createRoom(name, members);
  }
  invite(room: string, user: string): Promise<void> {
    return this.#client.invite(room, user);
  }
  leave(room: string): Promise<void> {
    return this.#client.leave(room);
  }
  kick(user: string, banSeconds?: number): Promise<void> {
    return this.#client.kick(user, banSeconds);
  }
  kicked(): Promise<KickedEntry[]> {
    return this.#client.kicked();
  }
  grant(user: string): Promise<void> {
    return this.#client.grant(user);
  }
  revoke(user: string): Promise<void> {
    return this.#client.revoke(user);
  }
  fingerprint(user?: string): Promise<Fingerprint> {
    return this.#client.fingerprint(user);
  }
  verify(user: string): Promise<void> {
    return this.#client.verify(user);
  }
  trust(user: string): Promise<Fingerprint> {
    const c = this.#client as ChatBackend;
    return c.trust ? c.trust(user) : this.#client.fingerprint(user);
  }
  roomKick(room: string, user: string): Promise<void> {
    const c = this.#client as ChatBackend;
    return c.roomKick
      ? c.roomKick(room, user)
      : Promise.reject(new Error("Removing room members is not supported here"));
  }
  inbox(user?: string): Promise<ChatMessage[]> {
    return user
      ? this.#client.history({ kind: "user", name: user })
      : Promise.resolve(this.#client.store?.list(this.user, 0) ?? []);
  }

  videos(): Promise<VideoListing[]> {
    return this.#client.videos();
  }
  playVideo(name: string, opts?: PlayVideoOptions): Promise<VideoHandle> {
    return this.#client.playVideo(name, opts);
  }
  offerStream(user: string, file: string): OutgoingStream {
    return this.#client.offerStream(user, file);
  }
  acceptStream(sid: string): ReturnType<ChatClient["acceptStream"]> {
    return this.#client.acceptStream(sid);
  }
  refuseStream(sid: string): Promise<void> {
    return this.#client.refuseStream(sid);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#ackTimer !== null) clearInterval(this.#ackTimer);
    this.#ackTimer = null;
    this.#flushAcks();
    this.#unsub();
    await new Promise((r) => setTimeout(r, 50));
    await this.#client.close();
  }
}
