/**
 * `ChatClient`: the real `ChatBackend` over a `Connection`. Logs in, turns server frames into
 * `BackendEvent`s, seals and opens message bodies through a `BodyCodec`, keeps received history
 * in the `LocalStore`, and acknowledges what the caller has consumed.
 */
import { randomId } from "../../common/random.ts";
import { type Clock, systemClock } from "../../common/clock.ts";
import { Outbox } from "./outbox.ts";
import { VERSION, versionNotice } from "../../common/version.ts";
import { DEFAULT_MAX_FRAME, type Frame } from "../../protocol/frame.ts";
import { PROTOCOL_VERSION } from "../../protocol/messages.ts";
import { normalizeName } from "../../protocol/names.ts";
import {
  BackendError,
  type BackendEvent,
  type ChatMessage,
  type Fingerprint,
  type IncomingVideo,
  type KickedEntry,
  type MessageChange,
  type OutgoingStream,
  type PlayVideoOptions,
  type Presence,
  type Role,
  type RoomInfo,
  type Status,
  type Target,
  type VideoHandle,
  type VideoListing,
} from "../backend.ts";
import {
  type BodyCodec,
  type KeyOps,
  type MembershipVerb,
  PlainCodec,
  sealAndSend,
  type Sealed,
  UnreadableError,
} from "../e2e/body_codec.ts";
import { Connection } from "../session/connection.ts";
import { LocalStore } from "../session/local_store.ts";
import { authenticate, type KdfPolicy } from "../session/account_login.ts";
import type { AccountSecrets } from "../../crypto/account_kdf.ts";
import { convOf, kickedEntries, pushEvents, wire } from "../session/wire_events.ts";
import { checkFrameSize, checkTextSize } from "./message_size.ts";
import { utf8 } from "../../common/bytes.ts";
import { decodeTyping, encodeTyping } from "./typing.ts";
import { EDIT_WINDOW_MS, expiryText } from "../e2e/changes.ts";
import { MAX_EXPIRY_S } from "../e2e/keys.ts";

export interface LoginOptions {
  conn: Connection;
  server: string;
  user: string;
  password: string;
  register?: boolean;
  clientName?: string;
  store?: LocalStore;
  codec?: BodyCodec;
  /** Client-side password hashing (tests use fast parameters). */
  kdf?: KdfPolicy;
  /** Finds ffmpeg for sending streams (the entry point injects the environment). */
  findFfmpeg?: () => string | null;
  /** A remembered resume token: logs in with it instead of the password (see session/account_login.ts). */
  token?: string;
  /** Asks for a resume token with this password login (then in `ChatClient.token`). */
  remember?: boolean;
  /** Registering: an admin's one-time invitation code. */
  invite?: string;
  /** A one-shot scripted command: the server announces no presence for this session (issue 34.14). */
  quiet?: boolean;
  /** The clock every time this client stamps comes from (default: the system's). */
  clock?: Clock;
}

/** The video capability as ChatClient hands it on (video/client_video.ts's ClientVideo). */
export interface VideoPart {
  videos(): Promise<VideoListing[]>;
  play(name: string, opts?: PlayVideoOptions): Promise<VideoHandle>;
  offer(user: string, file: string): OutgoingStream;
  accept(sid: string): Promise<IncomingVideo>;
  refuse(sid: string): Promise<void>;
}

const noVideo = (): never => {
  throw new BackendError("unavailable", "This client was assembled without video");
};
const later = <T>(): Promise<T> => Promise.resolve().then(noVideo);
const NO_VIDEO: VideoPart = { videos: later, play: later, offer: noVideo, accept: later, refuse: later };

/** The fields of a message that `convOf` does not read. */
const NO_TEXT = { seq: 0, mid: "", ts: 0, text: "" };

/** One logged-in connection: the flat commands the scripted surfaces call (LiveBackend wraps it for a UI). */
export class ChatClient {
  readonly #listeners = new Set<(e: BackendEvent) => void>();
  #codec: BodyCodec;
  #opening: Promise<unknown> = Promise.resolve();
  #syncing = false;
  /** Chat messages handed out and not acknowledged yet, by conversation. */
  readonly #unacked = new Map<string, number[]>();
  /** Control messages consumed by the codec, acknowledged with the next `ack()`. */
  #control: { conv: string; seq: number }[] = [];
  /**
   * Video: the server's library and user-to-user streams, a capability built above core and set
   * here when the client is assembled (video/client_video.ts `attachVideo`); none until then.
   */
  video: VideoPart = NO_VIDEO;
  /** Finds ffmpeg for sending streams; unset → streaming answers "unavailable". */
  findFfmpeg?: () => string | null;
  /** What the password gave at login: the keystore key and the account's hashing record. */
  account?: AccountSecrets;
  /** The resume token the server gave this login (`remember`), to be kept by the caller. */
  token?: string;
  /** The server's nonce for this session (hello reply): what device proofs sign (issue 33). */
  nonce = "";
  /** The largest frame the server reads (its hello says it; an older server: the protocol's default). */
  maxFrame = DEFAULT_MAX_FRAME;
  /** What to tell the user when the server's version (its hello) differs in major.minor; else null. */
  versionNotice: string | null = null;
  /** One's messages until the server takes them (none without a local store). */
  readonly outbox: Outbox | null;

  private constructor(
    readonly conn: Connection,
    readonly server: string,
    readonly user: string,
    public role: Role,
    readonly store: LocalStore | null,
    codec: BodyCodec,
    readonly clock: Clock,
  ) {
    this.#codec = codec;
    this.outbox = store ? new Outbox(store, user, clock) : null;
    conn.onPush((f) => this.#onPush(f));
    conn.done.then(() => {
      const r = conn.closeReason;
      this.#emit({
        type: "disconnected",
        code: r?.code ?? "closed",
        reason: r?.message ?? "Disconnected",
        ...(r?.until !== undefined ? { until: r.until } : {}),
      });
    });
  }

  /** Says hello, registers or logs in; rejects with the server's reason. */
  static async login(o: LoginOptions): Promise<ChatClient> {
    const hello = await o.conn.request("hello", {
      v: PROTOCOL_VERSION,
      client: o.clientName ?? "parley-client",
      ...(o.quiet ? { quiet: true } : {}),
    });
    const r = await authenticate(o.conn, o);
    const c = new ChatClient(
      o.conn,
      o.server,
      String(r.header.user),
      r.header.role as Role,
      o.store ?? null,
      o.codec ?? PlainCodec,
      o.clock ?? systemClock,
    );
    if (o.findFfmpeg) c.findFfmpeg = o.findFfmpeg;
    const cap = hello.header.maxFrame;
    if (typeof cap === "number" && Number.isInteger(cap) && cap >= 1024) c.maxFrame = cap;
    c.account = r.secrets;
    if (typeof hello.header.nonce === "string") c.nonce = hello.header.nonce;
    c.versionNotice = versionNotice(VERSION, hello.header.version);
    if (typeof r.header.token === "string") c.token = r.header.token;
    return c;
  }

  get codec(): BodyCodec {
    return this.#codec;
  }
  set codec(c: BodyCodec) {
    this.#codec = c;
  }

  on(l: (e: BackendEvent) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  #emit(e: BackendEvent): void {
    for (const l of this.#listeners) l(e);
  }

  #onPush(f: Frame): void {
    const h = f.header;
    switch (h.t) {
      case "msg": {
        if (this.#syncing) break;
        // Keep decryption in arrival order.
        this.#opening = this.#opening.then(() => this.#receive(f)).then((m) => {
          if (m) this.#emit({ type: "message", message: m });
        }).catch(() => {});
        return;
      }
      case "ephemeral": {
        // A typing event (issue 14): opened in arrival order like a message, never stored or acked.
        const codec = this.#codec;
        if (!codec.openSignal) return;
        const m = { mid: String(h.mid), from: String(h.from), to: h.to as Target };
        this.#opening = this.#opening.then(() => codec.openSignal!(m, f.body)).then((p) => {
          const t = p && decodeTyping(p, m.mid);
          if (t) this.#emit({ type: "typing", from: m.from, to: m.to, active: t.active });
          // Another room signal (a kind of its own, e.g. video/watch_together.ts): its plaintext.
          else if (p && m.to.kind === "room") this.#emit({ type: "signal", ...m, plaintext: p });
        }).catch(() => {});
        return;
      }
      case "role":
        if (h.role === "admin" || h.role === "user") {
          this.role = h.role;
          this.#emit({ type: "role", role: h.role });
        }
        return;
      default: {
        for (const e of pushEvents(h)) this.#emit(e);
      }
    }
    const codec = this.#codec;
    if (codec.onPush) {
      this.#opening = this.#opening.then(() => codec.onPush!(h)).catch((e) =>
        this.#emit({
          type: "notice",
          level: "warn",
          text: `Encryption: ${e instanceof Error ? e.message : e}`,
        })
      );
    }
  }

  /** Emits an event to the listeners (used by the encryption layer for its notices). */
  notify(e: BackendEvent): void {
    this.#emit(e);
  }

  /**
   * Opens, saves and returns a message; null for a control message the codec consumed or for one
   * that could not be read (reported as an error notice naming sender and seq, never dropped silently).
   */
  async #receive(f: Frame, replay = false): Promise<ChatMessage | null> {
    const h = f.header;
    try {
      if (this.#codec.receive) {
        const m = await this.#codec.receive(this.#header(f, replay), String(h.conv ?? ""), f.body);
        if (m === null) this.#control.push({ conv: String(h.conv ?? ""), seq: Number(h.seq) });
        else this.#track(m);
        return m;
      }
      const m = await this.#open(f, replay);
      this.store?.save([m]);
      this.#track(m);
      return m;
    } catch (e) {
      // Never readable: acknowledged with the consumed control messages, so it is not redelivered.
      if (e instanceof UnreadableError) {
        this.#control.push({ conv: String(h.conv ?? ""), seq: Number(h.seq) });
      }
      this.#emit({
        type: "notice",
        level: "error",
        text: `Could not read message ${h.seq} from ${h.from}: ${e instanceof Error ? e.message : e}`,
      });
      return null;
    }
  }

  #track(m: ChatMessage): void {
    const conv = convOf(this.user, m);
    const l = this.#unacked.get(conv) ?? [];
    l.push(m.seq);
    this.#unacked.set(conv, l);
  }

  #header(f: Frame, replay: boolean): ChatMessage {
    const h = f.header;
    const m: ChatMessage = {
      seq: h.seq as number,
      mid: String(h.mid),
      ts: h.ts as number,
      from: String(h.from),
      to: h.to as Target,
      text: "",
    };
    if (replay) m.replay = true;
    return m;
  }

  async #open(f: Frame, replay = false): Promise<ChatMessage> {
    const h = f.header;
    const to = h.to as Target;
    const text = await this.#codec.open(String(h.from), to, String(h.mid), f.body);
    const m: ChatMessage = {
      seq: h.seq as number,
      mid: String(h.mid),
      ts: h.ts as number,
      from: String(h.from),
      to,
      text,
    };
    if (replay) m.replay = true;
    return m;
  }

  /** Fetches the offline queue (not acknowledged yet); live messages follow as events. */
  async sync(): Promise<ChatMessage[]> {
    const got: Frame[] = [];
    const off = this.conn.onPush((f) => {
      if (f.header.t === "msg") got.push(f);
    });
    // Frames that arrive before the reply are the queue: the live path skips them meanwhile.
    this.#syncing = true;
    try {
      await this.conn.request("sync");
    } finally {
      off();
      this.#syncing = false;
    }
    await this.#opening;
    const out: ChatMessage[] = [];
    for (const f of got) {
      const m = await this.#receive(f, true);
      if (m) out.push(m);
    }
    return out;
  }

  /** Acknowledges messages: the server drops them from this user's queue. */
  async ack(ms: ChatMessage[]): Promise<void> {
    const max = new Map<string, number>();
    for (const m of ms) {
      const conv = convOf(this.user, m);
      max.set(conv, Math.max(max.get(conv) ?? 0, m.seq));
    }
    for (const [conv, seq] of max) {
      this.#unacked.set(conv, (this.#unacked.get(conv) ?? []).filter((x) => x > seq));
    }
    // Consumed control messages (room keys) are acknowledged once no unread message precedes them.
    const keep: { conv: string; seq: number }[] = [];
    for (const c of this.#control) {
      const first = Math.min(...(this.#unacked.get(c.conv) ?? []));
      if (c.seq < first) max.set(c.conv, Math.max(max.get(c.conv) ?? 0, c.seq));
      else keep.push(c);
    }
    this.#control = keep;
    if (max.size === 0) return;
    await this.conn.request("ack", { acks: [...max].map(([conv, seq]) => ({ conv, seq })) });
  }

  /**
   * Seals and sends; the text waits in the local outbox until the server confirms it. With
   * `keep`, a send cut off by a lost connection stays in the outbox (`resendPending` sends it
   * again with the same `mid`); otherwise, and after any answer from the server, it is dropped.
   */
  async send(
    target: Target,
    text: string,
    o: { keep?: boolean; mid?: string; replyTo?: string } = {},
  ): Promise<ChatMessage> {
    const to = wire(target);
    const mid = o.mid ?? randomId(undefined, 12);
    const re = o.replyTo ? { replyTo: o.replyTo } : {};
    if (o.replyTo && !this.#codec.sealChange) {
      throw new BackendError("no_keys", "Replies need end-to-end keys (a client folder)");
    }
    if (!o.mid) {
      await this.checkSize(to, text);
      this.outbox?.create(to, text, { mid, ...re, resend: o.keep === true });
    }
    try {
      if (this.#codec.encrypted) await this.#opening; // room changes seen so far apply first
      // Disappearing messages (issue 39.5): the conversation's time goes inside and to the server.
      const ttl = this.#codec.sealExpiry
        ? this.store?.expiryOf(convOf(this.user, { ...NO_TEXT, from: this.user, to })) ?? 0
        : 0;
      const r = await this.#sealAndSend(to, mid, text, { ...re, ...(ttl ? { ttl } : {}) });
      const ts = Number(r.header.ts ?? this.clock.now());
      const m: ChatMessage = {
        seq: Number(r.header.seq ?? 0),
        mid,
        ts,
        from: this.user,
        to,
        text,
        ...re,
        ...(ttl ? { expires: ts + ttl * 1000 } : {}),
      };
      this.outbox?.settle(m);
      return m;
    } catch (e) {
      const o2 = { kept: o.keep === true, offline: this.conn.closed, maxFrame: this.maxFrame };
      throw this.outbox ? this.outbox.sendFailed(mid, e, o2) : e;
    }
  }

  /**
   * Refuses a text too long for one `send` frame of this server, before it is queued (issue 34.1):
   * measured against the copies the codec seals it into (a DM: one per device), or one copy when
   * those cannot be learnt now (offline); the sealed frame is checked again before it is written.
   */
  async checkSize(to: Target, text: string): Promise<void> {
    const enc = this.#codec.encrypted;
    checkTextSize(text, this.maxFrame, 1, enc);
    if (!this.#codec.sealCopies) return;
    const copies = await this.#codec.sealCopies(to).catch(() => 1);
    checkTextSize(text, this.maxFrame, copies, enc);
  }

  /**
   * Tells the peer(s) of a conversation that the user is typing, or stopped: sealed end to end and
   * sent as an ephemeral send (the server relays it to live sessions only and never stores it). Does
   * nothing when the codec cannot seal one (no end-to-end keys). Rate limits are the caller's (TypingGate).
   */
  async typing(target: Target, active: boolean): Promise<void> {
    const codec = this.#codec;
    if (!codec.sealSignal || target.kind === "broadcast") return;
    const to = wire(target);
    await this.#opening; // room changes seen so far apply first
    const mid = randomId(undefined, 12);
    const body = await codec.sealSignal(to, encodeTyping(mid, active));
    if (body) await this.conn.request("send", { to, mid, ephemeral: true }, body);
  }

  /**
   * Seals a room signal (`payload(mid)`, a control kind of its own such as watch together) end to end
   * and sends it as an ephemeral send: the server relays it to the members' live sessions only.
   */
  async signal(room: string, payload: (mid: string) => Uint8Array): Promise<void> {
    const codec = this.#codec;
    if (!codec.sealSignal) {
      throw new BackendError("unavailable", "This needs end-to-end keys (a client folder)");
    }
    await this.#opening; // room changes seen so far apply first
    const mid = randomId(undefined, 12);
    const to = { kind: "room" as const, name: room };
    const body = await codec.sealSignal(to, payload(mid));
    if (body) await this.conn.request("send", { to, mid, ephemeral: true }, body);
  }

  /** Seals and sends; when the recipient's or one's own devices changed, seals once more for them. */
  async #sealAndSend(
    to: Target,
    mid: string,
    text: string,
    o: { replyTo?: string; ttl?: number } = {},
  ): Promise<{ header: Record<string, unknown> }> {
    const codec = this.#codec;
    return await sealAndSend(
      () => codec.seal(to, mid, text, o),
      ({ body, devices }) => {
        const fields = { ...(devices ? { devices } : {}), ...(o.ttl ? { ttl: o.ttl } : {}) };
        // The header's JSON (ids at most 10 digits) and the frame prefix beside the sealed body.
        const head = utf8.encode(JSON.stringify({ to, mid, ...fields, t: "send", id: 1e9 })).length + 8;
        checkFrameSize(head + body.length, this.maxFrame, text);
        return this.conn.request("send", { to, mid, ...fields }, body);
      },
      codec.devicesChanged?.bind(codec),
    );
  }

  /**
   * Changes a message already sent (issue 39): its sender edits or deletes it; anyone in the
   * conversation reacts (`react` toggles this user's reaction). Sent sealed like a message to the
   * conversation, applied here once the server stored it; the new state is also announced.
   */
  async changeMessage(ref: string, c: MessageChange): Promise<ChatMessage> {
    const codec = this.#codec;
    if (!codec.sealChange || !codec.changeSent || !this.store) {
      throw new BackendError(
        "no_keys",
        "Edits, deletions and reactions need end-to-end keys (a client folder)",
      );
    }
    const orig = this.store.byMidAny(ref);
    if (!orig) {
      throw new BackendError("no_such_message", `There is no message ${ref} in this client's history`);
    }
    const admin = c.kind === "delete" && orig.to.kind === "room" && await codec.roomAdmin?.(orig.to.name!);
    if (c.kind !== "react" && orig.from !== this.user && !admin) {
      throw new BackendError(
        "not_yours",
        c.kind === "delete" && orig.to.kind === "room"
          ? "Only its sender or an admin of the room can delete a message"
          : "Only its sender can edit or delete a message",
      );
    }
    if (orig.deleted) throw new BackendError("deleted", "That message was deleted");
    if (c.kind === "edit" && Date.now() - orig.ts > EDIT_WINDOW_MS) {
      throw new BackendError("edit_window", "A message can be edited for 24 hours after it was sent");
    }
    const to: Target = orig.to.kind === "user" && orig.from !== this.user
      ? { kind: "user", name: orig.from }
      : orig.to;
    if (c.kind === "edit") await this.checkSize(to, c.text);
    const sent = await this.#sendSealed(to, (mid) => codec.sealChange!(to, mid, ref, c), "");
    const changed = await codec.changeSent(sent, ref, c);
    this.#emit({ type: "message.changed", message: changed });
    // The server's stored copy goes too: members still offline never receive it (issue 39.3). A
    // server from before 0.3 does not know the request; the deletion itself has gone out anyway.
    if (c.kind === "delete" && orig.from === this.user) {
      await this.conn.request("message.unsend", { mid: ref }).catch(() => {});
    }
    return changed;
  }

  /**
   * Sends a body the codec seals under a fresh mid (a change, a setting) after the room changes seen
   * so far, sealing once more if devices changed; answers its envelope with `text` (what it shows as).
   */
  async #sendSealed(to: Target, seal: (mid: string) => Promise<Sealed>, text: string): Promise<ChatMessage> {
    const codec = this.#codec, mid = randomId(undefined, 12);
    await this.#opening;
    const r = await sealAndSend(
      () => seal(mid),
      ({ body, devices }) => this.conn.request("send", { to, mid, ...(devices ? { devices } : {}) }, body),
      codec.devicesChanged?.bind(codec),
    );
    const ts = Number(r.header.ts ?? Date.now());
    return { seq: Number(r.header.seq ?? 0), mid, ts, from: this.user, to, text };
  }

  /**
   * Disappearing messages (issue 39.5): from now on, messages in `target` are deleted from every
   * store `seconds` after they are sent (0: off). The setting is a sealed message of the conversation,
   * so every member's client learns it (and shows it as a line); it is kept here at once.
   */
  async setExpiry(target: Target, seconds: number): Promise<ChatMessage> {
    const codec = this.#codec;
    if (!codec.sealExpiry || !this.store) {
      throw new BackendError("no_keys", "Disappearing messages need end-to-end keys (a client folder)");
    }
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_EXPIRY_S) {
      throw new BackendError("usage", "Messages can disappear after 1 second to 366 days (or off)");
    }
    const to = wire(target);
    const m = await this.#sendSealed(to, (mid) => codec.sealExpiry!(to, mid, seconds), expiryText(seconds));
    const store = this.store;
    LocalStore.tx(store.db, () => {
      store.setExpiry(convOf(this.user, m), seconds, m.ts);
      if (m.seq) store.insert([m], true);
    });
    return m;
  }

  /** Deletes the disappearing messages whose time is up from the local history, and says which. */
  purgeExpired(now = Date.now()): string[] {
    const mids = this.store?.purgeExpired(now) ?? [];
    if (mids.length) this.#emit({ type: "messages.expired", mids });
    return mids;
  }

  /** Toggles this user's reaction `emoji` on message `ref`. */
  react(ref: string, emoji: string): Promise<ChatMessage> {
    const mine = this.store?.byMidAny(ref)?.reactions?.[emoji]?.includes(this.user) ?? false;
    return this.changeMessage(ref, { kind: "react", emoji, on: !mine });
  }

  /** Sends what waits in the outbox, in order, with the same mids; the confirmed messages. Stops at a lost connection. */
  resendPending(each: (m: ChatMessage) => void = () => {}): Promise<ChatMessage[]> {
    if (!this.outbox) return Promise.resolve([]);
    return this.outbox.resendAll(
      (p) =>
        this.send(p.to, p.text, { keep: true, mid: p.mid, ...(p.replyTo ? { replyTo: p.replyTo } : {}) }),
      {
        each,
        notice: (text) => this.#emit({ type: "notice", level: "error", text }),
        offline: () => this.conn.closed,
      },
    );
  }

  async who(): Promise<Presence[]> {
    return (await this.conn.request("who")).header.users as Presence[];
  }
  async whois(user: string): Promise<Presence | null> {
    const r = await this.conn.request("whois", { user });
    return (r.header.presence as Presence | null) ?? null;
  }
  async setStatus(status: Status): Promise<void> {
    await this.conn.request("status", { status });
  }
  async history(target: Target, since?: number): Promise<ChatMessage[]> {
    const r = await this.conn.request("history", {
      to: wire(target),
      ...(since !== undefined ? { since } : {}),
    });
    const out: ChatMessage[] = [];
    for (const f of r.items) {
      const m = await this.#receive(f, true);
      if (m) out.push(m);
    }
    return out;
  }
  /** The room's admins as its signed membership log says (end-to-end codec only). */
  roomAdmins(room: string): Promise<string[]> {
    if (!this.#codec.roomAdmins) {
      throw new BackendError("unavailable", "This needs end-to-end keys (a client folder)");
    }
    return this.#codec.roomAdmins(room);
  }

  async rooms(): Promise<RoomInfo[]> {
    const rs = (await this.conn.request("room.list")).header.rooms as RoomInfo[];
    return rs.map((r) => ({ name: r.name, members: r.members, admins: r.admins })); // not the membership log
  }
  async #signed(room: string, action: MembershipVerb, target: string): Promise<Record<string, unknown>> {
    const r = normalizeName(room);
    const t = action === "create" ? target : normalizeName(target);
    if (!this.#codec.keys || !r || t === null) return {};
    const log = await this.#codec.keys.logEntry?.(r, action, t);
    return { change: await this.#codec.keys.signChange(r, action, t), ...(log ? { log } : {}) };
  }
  async createRoom(name: string, members: string[]): Promise<RoomInfo> {
    const all = [...new Set([this.user, ...members.map((m) => normalizeName(m) ?? m)])].sort().join(",");
    const change = await this.#signed(name, "create", all);
    const h = (await this.conn.request("room.create", { room: name, members, ...change })).header;
    return { name: String(h.name), members: h.members as string[], admins: h.admins as string[] };
  }
  async invite(room: string, user: string): Promise<void> {
    await this.conn.request("room.invite", { room, user, ...(await this.#signed(room, "join", user)) });
  }
  async leave(room: string): Promise<void> {
    await this.conn.request("room.leave", { room, ...(await this.#signed(room, "leave", this.user)) });
  }
  /** Removes a member from a room (room admins); everyone's room keys rotate. */
  async roomKick(room: string, user: string): Promise<void> {
    await this.conn.request("room.kick", { room, user, ...(await this.#signed(room, "kick", user)) });
  }
  /** All registered user names (and roles). */
  async users(): Promise<{ user: string; role: Role }[]> {
    return (await this.conn.request("users")).header.users as { user: string; role: Role }[];
  }
  async kick(user: string, banSeconds?: number, reason?: string): Promise<void> {
    await this.conn.request("admin.kick", {
      user,
      ...(banSeconds ? { ban: banSeconds } : {}),
      ...(reason ? { reason } : {}),
    });
  }
  async kicked(): Promise<KickedEntry[]> {
    return kickedEntries((await this.conn.request("admin.kicked")).header.kicks);
  }
  async grant(user: string): Promise<void> {
    await this.conn.request("admin.grant", { user });
  }
  async revoke(user: string): Promise<void> {
    await this.conn.request("admin.revoke", { user });
  }
  async fingerprint(user?: string): Promise<Fingerprint> {
    return await this.#keys(user).fingerprint(user === undefined ? undefined : this.#name(user));
  }
  async trust(user: string, number?: string): Promise<Fingerprint> {
    return await this.#keys(user).trust(this.#name(user), number);
  }
  async verify(user: string, number?: string): Promise<Fingerprint> {
    return await this.#keys(user).verify(this.#name(user), number);
  }
  #keys(user?: string): KeyOps {
    if (this.#codec.keys) return this.#codec.keys;
    throw new BackendError(
      "no_keys",
      `End-to-end keys are not set up${user ? ` for ${user}` : ""} on this client yet`,
    );
  }
  #name(user: string): string {
    return wire({ kind: "user", name: user }).name!;
  }
  async close(): Promise<void> {
    await this.conn.close();
    await this.#opening.catch(() => {});
    this.store?.close();
  }
}
