/**
 * An in-memory `ChatBackend` for tests and benches: records every call, answers from plain data
 * and lets the test push `BackendEvent`s with `emit`. No I/O, no timers. It passes the same
 * `ChatBackend` conformance suite as the live backend (lib/client/backend_conformance.ts): sent
 * messages appear in `history`, `leave` leaves, admin actions refuse a non-admin, and it offers no
 * capability a real backend lacks. Capabilities: `rooms`, `moderation`, `video` and `keys`; the
 * others when a test gives them (`withTyping`, `withFeed`, `withRemote`; `files`, `outbox`, and a
 * folder's `local`: testing.ts's `memoryLocal`; `rooms.join` is opt-in). Video: `videoList` and
 * `videoFrames` (JPEGs, see `syntheticJpeg`) back `video.list`, `video.play` and `video.accept`; the
 * handle gives one frame per `next()` and then waits until `stop()` (so a test can look at it).
 */
import {
  type AwayControl,
  BackendError,
  type BackendEvent,
  type BlockControls,
  type ChangeControls,
  type ChatBackend,
  type ChatMessage,
  type FeedControls,
  type FileControls,
  type Fingerprint,
  type KeyControls,
  type KickedEntry,
  type LocalControls,
  type ModerationControls,
  type OutboxControls,
  type Presence,
  type RemoteControls,
  type Role,
  type RoomControls,
  type RoomInfo,
  type Status,
  type Target,
  type TypingControl,
  type VideoControls,
  type VideoFrameData,
  type VideoHandle,
  type VideoListing,
} from "../backend.ts";

export interface FakeCall {
  method: string;
  args: unknown[];
}

export class FakeBackend implements ChatBackend {
  readonly calls: FakeCall[] = [];
  online: Presence[] = [];
  roomList: RoomInfo[] = [];
  kickedList: KickedEntry[] = [];
  historyMessages: ChatMessage[] = [];
  /** When true, `send` also emits the sent message as an event (like a server echo). */
  echo = false;
  /** File commands and a block list, when a test gives some (none by default, like a client without keys). */
  files?: FileControls;
  blocks?: BlockControls;
  /**
   * Capabilities a test gives to exercise `/outbox`, typing, the feed, the server's pages and users
   * (`withRemote`), and the folder's `/search`, mutes, highlights and buffer order (testing.ts
   * `memoryLocal`); none by default, like a client without a folder.
   */
  outbox?: OutboxControls;
  changes?: ChangeControls;
  typing?: TypingControl;
  feed?: FeedControls;
  remote?: RemoteControls;
  local?: LocalControls;
  /** The away reason's keeper, when a test gives one (peer mode has none). */
  away?: AwayControl;
  /** Registered users; when set, `whois` refuses other names like the server ("no_such_user"). */
  registered?: Set<string>;
  /** Messages `receive` gave this backend, for `keys.inbox`. */
  readonly received: ChatMessage[] = [];
  /** Messages this backend sent, for `history`. */
  readonly sent: ChatMessage[] = [];
  /** Makes the calls of these methods reject with this error. */
  failures = new Map<string, BackendError>();
  #listeners = new Set<(e: BackendEvent) => void>();
  #seq = 100;
  now = () => Date.UTC(2026, 0, 1, 12, 0);

  constructor(readonly user = "alice", readonly server = "chat.example:7000", readonly role: Role = "user") {}

  on(listener: (e: BackendEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(e: BackendEvent): void {
    for (const l of this.#listeners) l(e);
  }

  /** Emits an incoming message and returns it. */
  receive(from: string, to: Target, text: string, extra: Partial<ChatMessage> = {}): ChatMessage {
    const m: ChatMessage = {
      seq: ++this.#seq,
      mid: `m${this.#seq}`,
      ts: this.now(),
      from,
      to,
      text,
      ...extra,
    };
    this.received.push(m);
    this.emit({ type: "message", message: m });
    return m;
  }

  #call(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
    const f = this.failures.get(method);
    if (f) throw f;
  }

  callsOf(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  send(target: Target, text: string, o?: { replyTo?: string }): Promise<ChatMessage> {
    try {
      this.#call("send", target, text);
    } catch (e) {
      return Promise.reject(e);
    }
    const m: ChatMessage = {
      seq: ++this.#seq,
      mid: `s${this.#seq}`,
      ts: this.now(),
      from: this.user,
      to: target,
      text,
      ...(o?.replyTo ? { replyTo: o.replyTo } : {}),
    };
    this.sent.push(m);
    if (this.echo) this.emit({ type: "message", message: m });
    return Promise.resolve(m);
  }
  #ok<T>(method: string, args: unknown[], value: T): Promise<T> {
    try {
      this.#call(method, ...args);
      return Promise.resolve(value);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  who(): Promise<Presence[]> {
    return this.#ok("who", [], this.online);
  }
  whois(user: string): Promise<Presence | null> {
    if (this.registered && !this.registered.has(user)) {
      this.calls.push({ method: "whois", args: [user] });
      return Promise.reject(new BackendError("no_such_user", `There is no user named ${user}`));
    }
    return this.#ok("whois", [user], this.online.find((p) => p.user === user) ?? null);
  }
  setStatus(status: Status): Promise<void> {
    return this.#ok("setStatus", [status], undefined);
  }
  history(target: Target, since?: number): Promise<ChatMessage[]> {
    const same = (m: ChatMessage) =>
      m.to.kind === target.kind && (target.kind === "broadcast" || m.to.name === target.name);
    const mine = this.sent.filter((m) => same(m) && (since === undefined || m.ts >= since));
    return this.#ok("history", [target, since], [...this.historyMessages, ...mine]);
  }
  /** Rooms, recorded under the flat names ("rooms", "createRoom", "invite", "leave", "roomKick"); `join` is opt-in. */
  readonly rooms: RoomControls = {
    list: () => this.#ok("rooms", [], this.roomList),
    create: (name, members) => {
      const r = { name, members: [this.user, ...members], admins: [this.user] };
      this.roomList.push(r);
      return this.#ok("createRoom", [name, members], r);
    },
    invite: (room, user) => this.#ok("invite", [room, user], undefined),
    leave: (room) => {
      this.roomList = this.roomList.filter((r) => r.name !== room);
      return this.#ok("leave", [room], undefined);
    },
    kick: (room, user) => this.#ok("roomKick", [room, user], undefined),
  };
  /** Like the server: moderation is for admins. */
  #admin<T>(method: string, args: unknown[], value: T): Promise<T> {
    if (this.role !== "admin") {
      this.calls.push({ method, args });
      return Promise.reject(new BackendError("forbidden", "Only admins can do that"));
    }
    return this.#ok(method, args, value);
  }
  /** Admin actions, refused for a non-admin like the server does. */
  readonly moderation: ModerationControls = {
    kick: (user, banSeconds, reason) =>
      this.#admin("kick", reason === undefined ? [user, banSeconds] : [user, banSeconds, reason], undefined),
    kicked: () => this.#admin("kicked", [], this.kickedList),
    grant: (user) => this.#admin("grant", [user], undefined),
    revoke: (user) => this.#admin("revoke", [user], undefined),
  };
  fingerprint(user?: string): Promise<Fingerprint> {
    const f = {
      user: user ?? this.user,
      safetyNumber: "12345 ".repeat(12).trim(),
      verified: false,
      changed: false,
    };
    return this.#ok("fingerprint", [user], f);
  }
  verify(user: string, number?: string): Promise<Fingerprint> {
    const f = { user, safetyNumber: "12345 ".repeat(12).trim(), verified: true, changed: false };
    return this.#ok("verify", number === undefined ? [user] : [user, number], f);
  }
  /** `/trust` (recorded as "trust"); `inbox`: what `receive` gave, all or from one user (after their history). */
  readonly keys: KeyControls = {
    trust: (user, number) => {
      const f = { user, safetyNumber: "12345 ".repeat(12).trim(), verified: false, changed: false };
      return this.#ok("trust", number === undefined ? [user] : [user, number], f);
    },
    inbox: async (user) => {
      const had = user ? await this.history({ kind: "user", name: user }) : [];
      return [...had, ...this.received.filter((m) => !user || m.from === user)];
    },
  };
  close(): Promise<void> {
    return this.#ok("close", [], undefined);
  }
  /** Turns on the `typing` capability (recorded as a call "typing"), for tests of the typing indicator. */
  withTyping(): this {
    this.typing = {
      set: (target, active) => void this.calls.push({ method: "typing", args: [target, active] }),
    };
    return this;
  }
  /** Gives the `remote` capability: `some` over answers of a server that keeps nothing more (pages from `history`). */
  withRemote(some: Partial<RemoteControls> = {}): this {
    this.remote = {
      historyPage: async (t, q) => {
        const messages = (await this.history(t, q?.since)).filter((m) =>
          q?.before === undefined || m.seq < q.before
        );
        return { messages, count: messages.length, oldest: messages[0]?.seq ?? null, unreadable: 0 };
      },
      users: () =>
        Promise.resolve([...this.registered ?? []].map((user) => ({ user, role: "user" as const }))),
      devices: () => Promise.resolve([]),
      reconnectNow: () => void this.calls.push({ method: "reconnectNow", args: [] }),
      ...some,
    };
    return this;
  }
  /** Gives the `feed` capability: `some` over a catch-up that finds nothing (the others recorded as calls). */
  withFeed(some: Partial<FeedControls> = {}): this {
    this.feed = {
      catchUp: () => Promise.resolve({ recent: [], unseen: [], pending: [] }),
      markSeen: (ms) => void this.calls.push({ method: "markSeen", args: [ms] }),
      read: (t, upTo) => void this.calls.push({ method: "read", args: [t, upTo] }),
      info: () => [["server", this.server], ["user", this.user]],
      ...some,
    };
    return this;
  }

  videoList: VideoListing[] = [];
  /** Frames every played or accepted video yields, in order. */
  videoFrames: Uint8Array[] = [];
  /** The handles given out, newest last. */
  readonly handles: FakeVideoHandle[] = [];

  /** The `format` the handles of `play` report (how the server would send small frames). */
  videoFormat: "jpeg" | "rgb" | undefined;
  /** Video, recorded as "videos", "playVideo", "acceptStream", "refuseStream"; a test may set `offer`. */
  readonly video: VideoControls = {
    list: () => this.#ok("videos", [], this.videoList),
    play: (name, opts) => {
      const h = new FakeVideoHandle(this.videoFrames, this.user);
      h.format = this.videoFormat;
      h.duration = (this.videoList.find((v) => v.name === name)?.duration ?? 0) * 1000 || undefined;
      this.handles.push(h);
      return this.#ok("playVideo", [name, opts], h);
    },
    offer: () => {
      throw new BackendError("unsupported", "FakeBackend does not stream");
    },
    accept: (sid, viewer) => {
      const h = new FakeVideoHandle(this.videoFrames, this.user);
      this.handles.push(h);
      return this.#ok("acceptStream", [sid, viewer], h);
    },
    refuse: (sid) => this.#ok("refuseStream", [sid], undefined),
  };
}

/** Frames from a list, one per `next()`; after the last, `next()` waits for `stop()` (or `end()`). */
export class FakeVideoHandle implements VideoHandle {
  readonly dropped = 0;
  /** Frames "received" per rendition, when a test sets them (a server playback's end line). */
  perRendition: Record<string, number> | undefined;
  readonly ops: string[] = [];
  format: "jpeg" | "rgb" | undefined;
  /** The video's length, ms (a played one from `videoList`; a stream has none). */
  duration: number | undefined;
  readonly ended: Promise<{ reason: string; by: string }>;
  #i = 0;
  #end!: (e: { reason: string; by: string }) => void;
  #stopped = false;

  constructor(readonly frames: Uint8Array[], readonly me = "me") {
    this.ended = new Promise((r) => (this.#end = r));
  }

  next(): Promise<VideoFrameData | null> {
    if (this.#stopped) return Promise.resolve(null);
    const jpeg = this.frames[this.#i];
    if (!jpeg) return this.ended.then(() => null);
    const index = this.#i++;
    return Promise.resolve({ pts: index * 40, index, rendition: "240p", width: 32, height: 16, data: jpeg });
  }
  /** The other side ends it. */
  end(by: string): void {
    this.#stopped = true;
    this.#end({ reason: "stopped", by });
  }
  stop(): Promise<void> {
    this.ops.push("stop");
    this.#stopped = true;
    this.#end({ reason: "stopped", by: this.me });
    return Promise.resolve();
  }
  pause(): Promise<void> {
    return Promise.resolve(void this.ops.push("pause"));
  }
  resume(): Promise<void> {
    return Promise.resolve(void this.ops.push("resume"));
  }
  seek(ms: number): Promise<void> {
    return Promise.resolve(void this.ops.push(`seek ${ms}`));
  }
}

export { BackendError };
