/**
 * `ChatClient`: the conversation core, one long-lived object per logged-in user and the
 * `ChatBackend` the surfaces speak, in both modes: over any `ChatSession` (chat_session.ts) — the
 * server's, or a peer node's (peer/session.ts), where what only a server has (`commands`, the
 * reconnector, pushes, sync, history pages, `remote`, rooms, moderation, video, away: `OnServer`)
 * is absent and the session answers who, keys, `/info`, `/outbox` and typing itself. It owns the outbox (outbox.ts), the body codec, message changes
 * (message_changes.ts), the receiving state of the current `ServerSession` (server_session.ts: the
 * connection and what its login gave; the server's `ChatSession`, chat_session.ts: what the core asks of
 * where messages go and come from — its link server_link.ts, its acks, whether it is gone, its drop limit). Sending is sending.ts,
 * receiving receiving.ts (plain functions over that state); the one-request commands are the held part
 * `commands` (server_commands.ts), which the `rooms`, `moderation`, `blocks`, `keys` and `remote` capabilities use.
 * - Scripted surfaces: `login`, `sync`, `send` (one-shot: dropped from the outbox once answered),
 *   `close`; one connection, no reconnect.
 * - A UI: `feed.catchUp()` (or `start()`) makes the core follow the feed: it syncs the offline queue into the
 *   local store and answers recent history, what arrived while away and the outbox; shown messages are
 *   acknowledged in batches (engine.ts; the client saves before it emits); `send` keeps a text in the
 *   outbox while offline and sends it, in order and once, after the next connect; after a network loss or
 *   restart it reconnects with backoff (reconnect.ts), at once on `remote.reconnectNow()`, by itself when a ban
 *   ends (not after a plain kick): the new session's connection and link replace the old ones inside this
 *   object (the codec proves its device again), and the status the user chose (busy) is restored.
 */
import { type Clock, systemClock, systemTimers, type Timers } from "../../common/clock.ts";
import type * as B from "../backend.ts";
import { BackendError } from "../backend.ts";
import type { AccountSecrets } from "../../crypto/account_kdf.ts";
import type { Connection } from "../session/connection.ts";
import { type BodyCodec, PlainCodec } from "../e2e/mod.ts";
import type { LocalStore, PendingMessage } from "../session/local_store.ts";
import { localControls } from "../session/local_controls.ts";
import { wire } from "../session/wire_events.ts";
import { type Driver, sessionDriver } from "./driver.ts";
import type { LoginOptions } from "./login_options.ts";
import { MessageChanges } from "./message_changes.ts";
import { Outbox, outboxControls } from "./outbox.ts";
import { type Handed, KeptSends } from "./kept_sends.ts";
import { paced } from "../session/rate_wait.ts";
import { Reconnector } from "./reconnect.ts";
import { blockControls, moderationControls, roomControls, ServerCommands } from "./server_commands.ts";
import type { Link } from "./link.ts";
import type { ChatSession, Directory } from "./chat_session.ts";
import { ServerSession } from "./server_session.ts";
import { withTopics } from "./room_topics.ts";
import { firstScreen, markSeen, recentOf } from "./feed_view.ts";
import * as recv from "./receiving.ts";
import * as send from "./sending.ts";
import { encodeTyping, TypingGate, typingKey } from "./typing.ts";
import { AwayReplies } from "./away.ts";
import { infoLines } from "./info.ts";
import { NO_VIDEO, videoControls, type VideoPart } from "./video_part.ts";

export type { LoginOptions, VideoPart };

/** A member only a server's session has: absent (undefined) over another session (a peer node's). */
export type OnServer<S, T> = S extends ServerSession ? T : undefined;

export class ChatClient<S extends ChatSession = ServerSession> implements B.ChatBackend {
  /** The one-request commands over the current session (server_commands.ts); a server's only. */
  readonly commands: OnServer<S, ServerCommands>;
  /** The same, or null over a session without a server. */
  readonly #cmds: ServerCommands | null;
  #session: S;
  /** Who and whose keys: the server's commands, or the session's own answers (a peer node's). */
  readonly #dir: Directory;
  readonly #listeners = new Set<(e: B.BackendEvent) => void>();
  #link!: Link;
  #in!: recv.InboundState;
  /** Edits, deletions, reactions and disappearing messages (issue 39): the `changes` capability. */
  readonly changes: MessageChanges = new MessageChanges(
    this,
    (to) => this.session.sends.waits === false ? "applied" : this.#waitsOffline(to) ? "queue" : "send",
    (p) => this.#kept?.added(p),
  );
  /** One's messages until the server takes them (none without a local store). */
  readonly outgoing: Outbox | null;
  /** Search, mutes, highlight words and the buffer order of this folder; none without a local store. */
  readonly local: B.LocalControls | undefined;
  /** `/away REASON` (away.ts): told to whoever sends a live direct message, once each (receiving.ts); a server's only. */
  readonly away: OnServer<S, AwayReplies>;
  role!: B.Role;
  /** Video of the current session (video/client_video.ts `attachVideo`); none until then. */
  videoPart: VideoPart = NO_VIDEO;
  readonly #perSession: (() => void)[] = [];
  /** Finds ffmpeg for sending streams; unset → streaming answers "unavailable". */
  findFfmpeg?: () => string | null;
  /** File commands (files/desk.ts; a peer's files/carried_desk.ts), set by the launcher when the client has end-to-end keys. */
  files?: B.FileControls;
  /** Peer mode's `/connect` and `/peers` (peer/session.ts), set by its launcher. */
  peers?: B.PeerControls;
  /** Watch together (video/watch_channel.ts), set by the launcher when the client has end-to-end keys. */
  watch?: B.WatchChannel;
  #closed = false;
  /** The one close under way or done (`close`). */
  #closing: Promise<void> | null = null;
  #versionSaid: string | null = null;
  /** The status the user chose; sent again after every reconnect. */
  #status: B.Status | null = null;
  /** The conversation engine's state and the driver of its effects (engine.ts). */
  readonly engine: Driver;
  /** The UI's kept sends, a lane over the current connection (kept_sends.ts); none without an outbox. */
  readonly #kept: KeptSends | null;
  readonly #typing: TypingGate;
  /** The way back after a lost connection (reconnect.ts); a server's only. */
  readonly #re: Reconnector | null;
  /** The current time, from the clock injected at login. */
  readonly now = (): number => this.clock.now();

  /** `reconnect`: logs in again on a new connection (a UI's); null: never reconnects. */
  constructor(
    session: S,
    readonly store: LocalStore | null = null,
    /** What bodies go through (the end-to-end codec once attached, e2e/). */
    public codec: BodyCodec = PlainCodec,
    readonly clock: Clock = systemClock,
    public reconnect: (() => Promise<S>) | null = null,
    timers: Timers = systemTimers, // what the kept sends' store-down retry waits on (LoginOptions `timers`)
  ) {
    this.#session = session;
    const cmds = session instanceof ServerSession ? new ServerCommands(session, () => this.codec) : null;
    this.#cmds = cmds;
    this.commands = cmds as OnServer<S, ServerCommands>;
    if (!cmds && !session.directory) {
      throw new Error("A session without a server answers who and keys itself");
    }
    this.#dir = cmds ?? session.directory!;
    this.away = (cmds ? new AwayReplies(this) : undefined) as OnServer<S, AwayReplies>;
    this.rooms =
      (cmds ? withTopics(roomControls(() => cmds), this.changes, () => this.store) : undefined) as OnServer<
        S,
        Required<B.RoomControls>
      >;
    this.moderation = (cmds ? moderationControls(() => cmds) : undefined) as OnServer<
      S,
      B.ModerationControls
    >;
    this.video = (cmds ? videoControls(() => this.videoPart) : undefined) as OnServer<S, B.VideoControls>;
    this.remote = (cmds ? this.#remote() : undefined) as OnServer<S, B.RemoteControls>;
    this.outbox = outboxControls(() => this.outgoing, session.waiting); // with what else waits (a peer's file offers)
    this.engine = sessionDriver(() => this.session, () => this.now(), {
      emit: (e) => this.#emit(e),
      reconnect: (e) => void this.#re?.lost(e),
      save: (m) => this.store?.save([m]),
      purge: (now) => this.changes.purgeExpired(now),
      resend: () => this.#kept?.resume((m) => this.#emit({ type: "message", message: m })),
    });
    this.outgoing = store ? new Outbox(store, session.user, clock) : null;
    this.#kept = this.outgoing ? this.#keptSends(this.outgoing, timers) : null;
    this.local = store ? localControls(store, () => this.user, this.now) : undefined;
    this.#typing = new TypingGate({ now: this.now });
    this.#re = cmds
      ? new Reconnector({
        conn: () => cmds.conn,
        closed: () => this.#closed,
        now: this.now,
        emit: (e) => this.#emit(e),
        reconnect: () => this.reconnect!() as unknown as Promise<ServerSession>,
        canReconnect: () => this.reconnect !== null,
        adopt: (s) => this.#adopt(s as unknown as S),
      })
      : null;
    if (session.sends.lanes) this.#kept?.resume((m) => this.#emit({ type: "message", message: m }));
    session.sends.lanes?.({
      up: (lane) => void this.#kept?.connected(lane),
      down: (lane) => this.#kept?.lost(lane),
      held: (lane, mid) => this.#kept?.acked(lane, mid),
    });
    this.#bind(session);
  }

  /** Says hello and logs in on `o.conn` (server_session.ts); the core over that session. */
  static async login(o: LoginOptions): Promise<ChatClient> {
    const s = await ServerSession.login(o);
    const c = new ChatClient(
      s,
      o.store ?? null,
      o.codec ?? PlainCodec,
      o.clock ?? systemClock,
      null,
      o.timers,
    );
    if (o.findFfmpeg) c.findFfmpeg = o.findFfmpeg;
    return c;
  }

  /** A session becomes current: its link and receiving state (receiving.ts), its end said as "disconnected". */
  #bind(s: S): void {
    this.#session = s;
    if (s instanceof ServerSession) this.#cmds?.useSession(s);
    this.role = s.role;
    this.#link = s.openLink(this.clock);
    this.#in = recv.openInbound(this);
    s.ended().then((e) => {
      // What waits stays in the outbox for the next connect; an end told after a reconnect's session
      // became current (it may come late) leaves that session's lane alone.
      if (this.session === s) this.#kept?.lost();
      this.notify(e);
    });
    for (const f of this.#perSession) f();
  }

  /** Runs `f` now and for every later session (video binds to each connection). */
  perSession(f: () => void): void {
    this.#perSession.push(f);
    f();
  }

  /** The current session (server_session.ts, or a peer node's). */
  get session(): S {
    return this.#session;
  }
  /** The current connection (a server's only). */
  get conn(): OnServer<S, Connection> {
    return this.#cmds?.conn as OnServer<S, Connection>;
  }
  /** Who is logged in. */
  get user(): string {
    return this.#session.user;
  }
  /** "host:port" of the node connected (a peer node: where it listens). */
  get server(): string {
    return this.#session.server;
  }
  /** The largest frame the other end reads. */
  get maxFrame(): number {
    return this.#session.maxFrame;
  }
  /** The server's nonce for this session: what device proofs sign (a server's only). */
  get nonce(): OnServer<S, string> {
    return this.#cmds?.nonce as OnServer<S, string>;
  }
  /** What the password gave at login (a server's only). */
  get account(): AccountSecrets | undefined {
    return this.#cmds?.account;
  }
  who(): Promise<B.Presence[]> {
    return this.#dir.who();
  }
  whois(user: string): Promise<B.Presence | null> {
    return this.#dir.whois(user);
  }
  fingerprint(user?: string): Promise<B.Fingerprint> {
    return this.#dir.fingerprint(user);
  }
  verify(user: string, number?: string): Promise<B.Fingerprint> {
    return this.#dir.verify(user, number);
  }
  /** The block list (a capability), once the codec has end-to-end keys (e2e/blocks.ts). */
  get blocks(): B.BlockControls | undefined {
    return this.codec.blocks ? this.#blocks : undefined;
  }
  readonly #blocks: B.BlockControls = blockControls(() => this.#cmds!);

  /** Where sealed messages and signals leave and arrive: the server relay over the current connection. */
  get link(): ReturnType<S["openLink"]> {
    return this.#link as ReturnType<S["openLink"]>;
  }
  get #online(): boolean {
    return !this.session.closed && !this.#re?.reconnecting;
  }

  on(l: (e: B.BackendEvent) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }
  #emit(e: B.BackendEvent): void {
    for (const l of this.#listeners) l(e);
  }
  /**
   * An event of the core's parts, the codec and a peer node (its peers coming and going, keys, typing,
   * files): the engine decides (a UI following: shown messages wait for their ack, a loss reconnects).
   */
  notify(e: B.BackendEvent): void {
    void this.engine.drive({ kind: "event", event: e });
  }

  /** Resolves once everything received so far is opened (room changes seen so far apply first). */
  readonly opened = (): Promise<unknown> => this.#in.opening;
  /** Fetches the offline queue (not acknowledged yet); live messages follow as events. */
  sync(): Promise<B.ChatMessage[]> {
    return recv.sync(this, this.#in);
  }
  /** Acknowledges messages: the server drops them from this user's queue. */
  ack(ms: B.ChatMessage[]): Promise<void> {
    return recv.ack(this, this.#in, ms);
  }

  /** Follows the feed (a UI); replays the offline queue as message events (without `catchUp`). */
  async start(): Promise<void> {
    const queued = await this.#begin(); // told, batched, then the outbox goes again (engine.ts)
    await this.engine.drive({ kind: "caughtUp", messages: queued, tell: true });
  }

  /** Following the feed (a UI): what the screen shows first, what it showed, `/info`. */
  readonly feed: B.FeedControls = {
    catchUp: () => this.#catchUp(),
    markSeen: (ms) => markSeen(this.store, ms),
    /** The user read `t` up to seq `upTo`: my other devices are told (e2e/seen_sync.ts). */
    read: (t, upTo) => this.codec.seen?.(t, upTo),
    info: () => this.#info(),
  };

  /** Follows the feed (a UI) and answers with what the screen shows first. */
  async #catchUp(): Promise<B.CatchUp> {
    const store = this.store;
    const recent = recentOf(store, this.user);
    const queued = await this.#begin();
    const unseen = store ? store.unseen() : queued;
    const pending = this.outgoing?.messages() ?? [];
    await this.engine.drive({ kind: "caughtUp", messages: queued, tell: false });
    return firstScreen({ recent, unseen, pending }, this.now()); // feed_view.ts: both modes' rule
  }

  /** Syncs; the queue is saved before it is returned (then acknowledged in the next batch: `caughtUp`). */
  async #begin(): Promise<B.ChatMessage[]> {
    // The tick, and the deletion of disappearing messages whose time is up (issue 39.5), start.
    await this.engine.drive({ kind: "follow", now: this.now() });
    // The server's version differs in major.minor (its hello): said once per server version met.
    const v = this.#cmds?.session.versionNotice ?? null;
    if (v && v !== this.#versionSaid) this.#emit({ type: "notice", level: "warn", text: v });
    this.#versionSaid = v;
    return await this.sync();
  }

  /** A reconnect's session becomes current: the device proven again, the chosen status, the feed and the outbox. */
  async #adopt(s: S): Promise<void> {
    this.#bind(s); // the engine starts afresh: what the old connection handed out is redelivered
    try {
      await this.codec.resumed?.();
      if (this.#status) await this.setStatus(this.#status);
      await this.start();
    } catch (e) {
      await s.conn?.close(); // the next attempt brings another session
      throw e;
    }
    this.#emit({ type: "connection", state: "online" });
    this.#emit({ type: "notice", level: "info", text: "Reconnected" });
    if (this.#status === "busy") {
      const me = (await this.whois(this.user).catch(() => null)) ?? undefined;
      this.#emit({ type: "presence", user: this.user, online: true, presence: me });
    }
  }

  /** What the server keeps for the account, and the connection to it (a server's only). */
  readonly remote: OnServer<S, B.RemoteControls>;
  #remote(): B.RemoteControls {
    return {
      historyPage: (t, q) => recv.history(this, this.#in, t, q), // a page before a seq (issue 68)
      users: () => this.#cmds!.users(),
      devices: () => this.#cmds!.devices(),
      reconnectNow: () => this.#re!.now(),
    };
  }

  /** Sends: one-shot for a script; a UI's send waits in the outbox while offline (sending.ts). */
  send(target: B.Target, text: string, o: { replyTo?: string; mid?: string } = {}): Promise<B.ChatMessage> {
    if (this.engine.state.following) this.#typing.sent(typingKey(target)); // clears the indicator at the receiver
    try {
      target = this.session.address?.(target) ?? target; // refused where it cannot go (peer mode)
    } catch (e) {
      return Promise.reject(e);
    }
    const online = this.#onlineTo(target);
    const [how] = this.engine.step({ kind: "sendRequest", online, hasOutbox: !!this.outgoing });
    if (how?.kind !== "send" || how.mode === "one-shot") return send.sendText(this, target, text, o);
    return this.#kept!.send(wire(target), text, how.mode === "queued", o.replyTo);
  }

  /** Whether what goes to `to` can leave now: the session is there and the lane it leaves on is up. */
  #onlineTo(to: B.Target): boolean {
    const sends = this.session.sends;
    return this.#online && (!sends.lane || !sends.offline(sends.lane(wire(to))));
  }

  /** Whether a send to `to` now waits in the outbox for the next connect: the engine's rule for a UI's text. */
  #waitsOffline(to: B.Target): boolean {
    const online = this.#onlineTo(to);
    const [how] = this.engine.step({ kind: "sendRequest", online, hasOutbox: !!this.outgoing });
    return how?.kind === "send" && how.mode === "queued";
  }

  /**
   * The kept sends over `outbox`: each entry sent under the rate waits on the current connection, a
   * text by sending.ts, a change queued offline by message_changes.ts.
   */
  #keptSends(outbox: Outbox, timers: Timers): KeptSends {
    const sends = this.session.sends;
    return new KeptSends({
      me: this.user,
      outbox,
      window: sends.window,
      ...(sends.lane ? { lane: (to: B.Target) => this.session.sends.lane!(to) } : {}),
      ...(sends.mid ? { mid: () => this.session.sends.mid!() } : {}),
      ...(sends.waits === false ? { waits: false } : {}),
      check: (to, text) => send.checkSendable(this, to, text),
      sendOne: (p) => paced(() => this.#hand(p)),
      ...(sends.lanes ? { settle: (_lane: string, mid: string) => this.#settleHeld(mid) } : {}),
      offline: (lane) => this.session.sends.offline(lane), // the current session's
      notice: (level, text) => this.notify({ type: "notice", level, text }),
      confirmed: (mid) => void this.codec.confirmed?.(mid).catch(() => {}),
      timers,
    });
  }

  /**
   * Hands outbox entry `p` to its lane's carrier: a text (sending.ts `handText`: the relay answers at
   * once, a peer's ack settles it later), a change queued offline (sent as made now), or one applied
   * here when it was made (peer mode: sent as queued), message_changes.ts.
   */
  async #hand(p: PendingMessage): Promise<Handed> {
    if (p.change && this.session.sends.waits === false) return await this.changes.handQueued(p);
    if (p.change) return { taken: Promise.resolve(await this.changes.sendQueued(p)) };
    const re = p.replyTo ? { replyTo: p.replyTo } : {};
    return await send.handText(this, p.to, p.text, { keep: true, mid: p.mid, entry: p, ...re });
  }

  /**
   * The other end holds `mid` though no ack of it came (a peer sent a change of it): out of the
   * outbox as its ack would take it, a text into the history (sending.ts `settleSent`) and shown.
   */
  #settleHeld(mid: string): void {
    const p = this.store?.pending(mid), out = this.outgoing;
    if (!p || !out) return;
    if (p.change) return out.remove(mid);
    const facts = send.textFacts(this.store, p.replyTo, p.ttl ?? 0, p.ts);
    this.#emit({
      type: "message",
      message: send.settleSent(out, this.session, p, facts, { seq: 0, ts: p.ts }),
    });
  }

  /** Typing (issue 14): one "typing" per conversation every 3 s, a "stopped" only while the last may still
   * show (TypingGate); sent as the link's signal, never stored; dropped offline or without keys. */
  readonly typing: B.TypingControl = {
    set: (target, active) => {
      if (target.kind === "broadcast" || !this.#online) return;
      if (!this.#typing.allow(typingKey(target), active)) return;
      if (this.session.typing) return this.session.typing(target, active); // said by the carrier itself
      void send.sendSignal(this, wire(target), (mid) => encodeTyping(mid, active)).catch(() => {});
    },
  };
  /** Seals a signal (a kind of its own, e.g. watch together) for a room (by name) or a user and sends it
   * on the link; false when no device of theirs could be sealed for (no keys published, a changed key). */
  async signal(to: string | B.Target, payload: (mid: string) => Uint8Array): Promise<boolean> {
    if (!this.codec.sealSignal) {
      throw new BackendError("unavailable", "This needs end-to-end keys (a client folder)");
    }
    return await send.sendSignal(this, typeof to === "string" ? { kind: "room", name: to } : to, payload);
  }

  /** The outbox, waiting and failed messages (`/outbox`); `drop`: it is not sent, and its line leaves the screen. */
  readonly outbox: B.OutboxControls;
  async setStatus(status: B.Status): Promise<void> {
    await this.#dir.setStatus(status);
    this.#status = status;
  }
  /**
   * History of one conversation since a time (ms since epoch), oldest first: the server's, opened
   * and saved (receiving.ts); without a server, what this folder holds (direct messages only).
   */
  history(target: B.Target, since?: number): Promise<B.ChatMessage[]> {
    if (!this.#cmds) {
      return Promise.resolve(
        target.kind === "user" ? this.store?.list(this.user, since ?? 0, target) ?? [] : [],
      );
    }
    return recv.history(this, this.#in, target, since === undefined ? {} : { since }).then((p) => p.messages);
  }
  /** The keystore's `/trust` (server_commands.ts, or the session's) and `/inbox`: what this folder keeps, or one user's history. */
  readonly keys: B.KeyControls = {
    trust: (user, number) => this.#dir.trust(user, number),
    inbox: (user) =>
      this.#dir.inbox?.(user) ??
        (user
          ? this.history({ kind: "user", name: user })
          : Promise.resolve(this.store?.list(this.user, 0) ?? [])),
  };
  /** Rooms, admin actions and video (capabilities), over the current session, a server's only; blocks: server_commands.ts. */
  readonly rooms: OnServer<S, Required<B.RoomControls>>;
  readonly moderation: OnServer<S, B.ModerationControls>;
  readonly video: OnServer<S, B.VideoControls>;
  #info(): [string, string][] {
    if (this.session.info) return this.session.info();
    const state = this.#online ? "online" : this.#re?.reconnecting ? "reconnecting" : "offline";
    return infoLines(this, state, this.engine.state.batch.length);
  }

  /**
   * Closes, in one order (a later call waits for the same): the tick, the last acks over a server's
   * connection, the link (sends waiting reject with `closed`; its carrier ends: the connection, or a
   * peer node's channels, peer/node.ts), what is being opened, the store.
   */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }
  async #close(): Promise<void> {
    this.#closed = true;
    this.#re?.stop();
    void this.engine.drive({ kind: "close", connOpen: !this.session.closed }); // the tick stops, the last batch goes
    // The last acks go out over a server's connection (a peer's channel acknowledged each on arrival).
    if (this.engine.state.following && this.session.conn) await new Promise((r) => setTimeout(r, 50));
    await this.#link.close();
    await this.opened().catch(() => {});
    this.store?.close();
  }
}
