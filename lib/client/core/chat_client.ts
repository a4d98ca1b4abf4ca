/**
 * `ChatClient`: one logged-in connection. Logs in, sends (sealed through a `BodyCodec`, kept in the
 * `Outbox` until the server takes it), and holds its parts: `Inbound` (pushed frames → events, the
 * offline queue, acknowledgements), `MessageChanges` (edits, deletions, reactions, disappearing
 * messages) and, from `ServerCommands`, the commands that are one request (presence, rooms,
 * moderation, keys). `LiveBackend` wraps it for a UI; the scripted surfaces call it directly.
 */
import { randomId } from "../../common/random.ts";
import { type Clock, systemClock } from "../../common/clock.ts";
import { VERSION, versionNotice } from "../../common/version.ts";
import { DEFAULT_MAX_FRAME } from "../../protocol/frame.ts";
import { PROTOCOL_VERSION } from "../../protocol/messages.ts";
import { BackendError, type BackendEvent, type ChatMessage, type Role, type Target } from "../backend.ts";
import { type BodyCodec, handOut, PlainCodec, sealAndSend } from "../e2e/mod.ts";
import type { Connection } from "../session/connection.ts";
import type { LocalStore } from "../session/local_store.ts";
import { authenticate } from "../session/account_login.ts";
import type { AccountSecrets } from "../../crypto/account_kdf.ts";
import { convOf, wire } from "../session/wire_events.ts";
import { utf8 } from "../../common/bytes.ts";
import { checkFrameSize, checkTextSize } from "./message_size.ts";
import { encodeTyping } from "./typing.ts";
import { Outbox } from "./outbox.ts";
import { Inbound } from "./inbound.ts";
import type { LinkAck } from "./link.ts";
import { envelopeOf, ServerLink } from "./server_link.ts";
import { MessageChanges } from "./message_changes.ts";
import { ServerCommands } from "./server_commands.ts";
import { NO_VIDEO, type VideoPart } from "./video_part.ts";
import type { LoginOptions } from "./login_options.ts";

export type { LoginOptions } from "./login_options.ts";
export type { VideoPart } from "./video_part.ts";

/** The fields of a message that `convOf` does not read. */
const NO_TEXT = { seq: 0, mid: "", ts: 0, text: "" };

export class ChatClient extends ServerCommands {
  readonly #listeners = new Set<(e: BackendEvent) => void>();
  #codec: BodyCodec;
  readonly #in: Inbound;
  /** Where sealed messages leave and arrive: the server relay over this connection. */
  readonly link: ServerLink;
  /** Edits, deletions, reactions and disappearing messages (issue 39). */
  readonly changes: MessageChanges;
  /** One's messages until the server takes them (none without a local store). */
  readonly outbox: Outbox | null;
  /** Video: set when the client is assembled (video/client_video.ts `attachVideo`); none until then. */
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

  private constructor(
    conn: Connection,
    readonly server: string,
    user: string,
    public role: Role,
    readonly store: LocalStore | null,
    codec: BodyCodec,
    readonly clock: Clock,
  ) {
    super(conn, user);
    this.#codec = codec;
    this.outbox = store ? new Outbox(store, user, clock) : null;
    this.link = new ServerLink(conn, clock);
    this.#in = new Inbound(this);
    this.changes = new MessageChanges(this);
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

  /** Emits an event to the listeners (used by the encryption layer and the client's parts). */
  notify(e: BackendEvent): void {
    this.#emit(e);
  }

  /** Resolves once everything received so far is opened (room changes seen so far apply first). */
  opened(): Promise<unknown> {
    return this.#in.opened();
  }

  /** Fetches the offline queue (not acknowledged yet); live messages follow as events. */
  sync(): Promise<ChatMessage[]> {
    return this.#in.sync();
  }

  /** Acknowledges messages: the server drops them from this user's queue. */
  ack(ms: ChatMessage[]): Promise<void> {
    return this.#in.ack(ms);
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
      if (this.#codec.encrypted) await this.opened(); // room changes seen so far apply first
      // Disappearing messages (issue 39.5): the conversation's time goes inside and to the server.
      const ttl = this.#codec.sealExpiry
        ? this.store?.expiryOf(convOf(this.user, { ...NO_TEXT, from: this.user, to })) ?? 0
        : 0;
      const r = await this.#sealAndSend(to, mid, text, { ...re, ...(ttl ? { ttl } : {}) });
      const ts = r.ts;
      const m: ChatMessage = {
        seq: r.seq,
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
      const how = { kept: o.keep === true, offline: this.conn.closed, maxFrame: this.maxFrame };
      throw this.outbox ? this.outbox.sendFailed(mid, e, how) : e;
    }
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
    if (!this.#codec.sealSignal || target.kind === "broadcast") return;
    await this.#ephemeral(wire(target), (mid) => encodeTyping(mid, active));
  }

  /**
   * Seals a signal (`payload(mid)`, a control kind of its own such as watch together) for a room (by
   * name) or a user end to end and sends it as an ephemeral send: the server relays it to live sessions
   * only. False when there was nobody to seal it for (a user this device never wrote with).
   */
  async signal(to: string | Target, payload: (mid: string) => Uint8Array): Promise<boolean> {
    if (!this.#codec.sealSignal) {
      throw new BackendError("unavailable", "This needs end-to-end keys (a client folder)");
    }
    return await this.#ephemeral(typeof to === "string" ? { kind: "room", name: to } : to, payload);
  }

  async #ephemeral(to: Target, payload: (mid: string) => Uint8Array): Promise<boolean> {
    const codec = this.#codec;
    await this.opened(); // room changes seen so far apply first
    const mid = randomId(undefined, 12);
    const s = await codec.sealSignal!(to, payload(mid));
    if (!s) return false;
    await handOut(codec, this.conn, s.handouts); // the sender key first, as for a message
    await this.conn.request("send", { to, mid, ephemeral: true }, s.body);
    return true;
  }

  /** Seals and sends through the link; when the recipient's or one's own devices changed, seals again. */
  async #sealAndSend(
    to: Target,
    mid: string,
    text: string,
    o: { replyTo?: string; ttl?: number } = {},
  ): Promise<LinkAck> {
    const codec = this.#codec;
    return await sealAndSend(
      () => codec.seal(to, mid, text, o),
      async ({ body, devices, handouts }) => {
        const fields = { ...(devices ? { devices } : {}), ...(o.ttl ? { ttl: o.ttl } : {}) };
        // The header's JSON (ids at most 10 digits) and the frame prefix beside the sealed body.
        const head = utf8.encode(JSON.stringify({ to, mid, ...fields, t: "send", id: 1e9 })).length + 8;
        checkFrameSize(head + body.length, this.maxFrame, text);
        await handOut(codec, this.conn, handouts); // members get the sender key before the message
        return this.link.send(to, mid, body, fields);
      },
      codec.devicesChanged?.bind(codec),
    );
  }

  /** History of one conversation since a time (ms since epoch), oldest first, opened and saved. */
  async history(target: Target, since?: number): Promise<ChatMessage[]> {
    const r = await this.conn.request("history", {
      to: wire(target),
      ...(since !== undefined ? { since } : {}),
    });
    const out: ChatMessage[] = [];
    for (const f of r.items) {
      const m = await this.#in.receive(envelopeOf(f), true);
      if (m) out.push(m);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.link.close();
    await this.opened().catch(() => {});
    this.store?.close();
  }
}
