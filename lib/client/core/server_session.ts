/**
 * `ServerSession`: one logged-in connection to the server, the per-connection part the
 * conversation core (`ChatClient`, chat_client.ts) holds and swaps on a reconnect: the server's
 * `ChatSession` (chat_session.ts; its link is server_link.ts over `conn`, its acks the queue's `ack`
 * request, an entry cut off POISON_DROPS times in a row marked failed). `login` says
 * hello and registers or logs in (session/account_login.ts) on a connection already open, and keeps
 * what that connection's login gave: the role, the server's frame cap, version notice and nonce
 * (what device proofs sign), the resume token and the account secrets. It sends nothing else: the
 * core's link and commands go over its `conn`. Rejects with the server's reason.
 */
import { VERSION, versionNotice } from "../../common/version.ts";
import { DEFAULT_MAX_FRAME } from "../../protocol/frame.ts";
import { PROTOCOL_VERSION } from "../../protocol/messages.ts";
import type { Clock } from "../../common/clock.ts";
import type { ChatMessage, Role } from "../backend.ts";
import type { AccountSecrets } from "../../crypto/account_kdf.ts";
import { authenticate } from "../session/account_login.ts";
import type { Connection } from "../session/connection.ts";
import type { LoginOptions } from "./login_options.ts";
import type { ChatSession, SendPolicy, SessionEnd } from "./chat_session.ts";
import type { Seen } from "./engine.ts";
import { POISON_DROPS } from "./engine_outbox.ts";
import { ServerLink } from "./server_link.ts";

export class ServerSession implements ChatSession {
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
  /** A server refusing a message's size may reset the connection before its refusal is read. */
  readonly dropLimit = POISON_DROPS;
  #link?: ServerLink;
  /** The relay's one lane, each entry waiting for the server's answer, down with the connection. */
  readonly sends: SendPolicy = { window: 1, offline: () => this.conn.closed };

  /** `server`: "host:port" of the node connected; `user`: the name the server gave back. */
  constructor(
    readonly conn: Connection,
    readonly server: string,
    readonly user: string,
    readonly role: Role,
  ) {}

  /** Whether the connection is gone. */
  get closed(): boolean {
    return this.conn.closed;
  }

  /** The relay over this connection (server_link.ts; `clock`: an ack's time when the server gave none). */
  openLink(clock: Clock): ServerLink {
    return this.#link ??= new ServerLink(this.conn, clock);
  }

  /** The server numbered it (its answer's seq). */
  number(m: ChatMessage): ChatMessage {
    return m;
  }

  /** Drops consumed messages from this user's queue on the server. */
  async ack(acks: Seen[]): Promise<void> {
    await this.conn.request("ack", { acks });
  }

  /** Resolves when the connection ends, with the event that says why. */
  async ended(): Promise<SessionEnd> {
    await this.conn.done;
    const r = this.conn.closeReason;
    return {
      type: "disconnected",
      code: r?.code ?? "closed",
      reason: r?.message ?? "Disconnected",
      ...(r?.until !== undefined ? { until: r.until } : {}),
    };
  }

  /** Says hello, registers or logs in on `o.conn`; rejects with the server's reason. */
  static async login(o: LoginOptions): Promise<ServerSession> {
    const hello = await o.conn.request("hello", {
      v: PROTOCOL_VERSION,
      client: o.clientName ?? "parley-client",
      ...(o.quiet ? { quiet: true } : {}),
      shortPresence: true, // wire_events.ts reads it
    });
    const nonce = typeof hello.header.nonce === "string" ? hello.header.nonce : "";
    const { proveDevice: prove, ...creds } = o; // proven for this session's nonce (account_login.ts)
    const r = await authenticate(o.conn, {
      ...creds,
      ...(prove && nonce ? { proveDevice: () => prove(nonce) } : {}),
    });
    const s = new ServerSession(o.conn, o.server, String(r.header.user), r.header.role as Role);
    const cap = hello.header.maxFrame;
    if (typeof cap === "number" && Number.isInteger(cap) && cap >= 1024) s.maxFrame = cap;
    s.account = r.secrets;
    if (typeof hello.header.nonce === "string") s.nonce = hello.header.nonce;
    s.versionNotice = versionNotice(VERSION, hello.header.version);
    if (typeof r.header.token === "string") s.token = r.header.token;
    return s;
  }
}
