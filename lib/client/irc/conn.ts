/**
 * One IRC client's connection to the face (issue 72), a state machine with no socket of its own
 * (listen.ts feeds it lines and writes what it sends): registration (`PASS`, `NICK`, `USER`,
 * `CAP LS 302`/`REQ`/`LIST`/`END`, SASL PLAIN) against the folder's IRC password, then every command
 * through the face's table (mapping.ts). Bad input gets Modern IRC's numerics, never a crash; what it
 * sends carries only the tags its capabilities allow.
 */
import { type IrcMessage, type ParseFailure, parseLine, serialize } from "./codec.ts";
import { ERR, RPL } from "./numerics.ts";

/** Where a connection's lines go (listen.ts: the socket). */
export interface IrcTransport {
  write(line: string): void;
  close(): void;
}

/** What a connection asks of the face (face.ts). */
export interface ConnHost {
  /** The user's own nick. */
  readonly nick: string;
  /** The Parley account (account-tag, SASL's account). */
  readonly account: string;
  checkPassword(pw: string): boolean;
  /** Registration is done: welcome sent; the face sends the channels and the playback. */
  attach(c: IrcConn): Promise<void>;
  detach(c: IrcConn): void;
  /** A registered connection's command (the mapping's table). */
  run(c: IrcConn, msg: IrcMessage): Promise<void>;
}

/** The capabilities offered, each with a test (tests/irc_face_test.ts). */
export const CAPS: Record<string, string> = {
  "server-time": "",
  "message-tags": "",
  "echo-message": "",
  "batch": "",
  "away-notify": "",
  "account-tag": "",
  "multi-prefix": "",
  "invite-notify": "",
  "draft/message-redaction": "",
  "draft/message-edit": "",
  "labeled-response": "",
  "standard-replies": "",
  "draft/chathistory": "",
  "draft/read-marker": "",
  "sasl": "PLAIN",
};

/** The most one CHATHISTORY may ask for (ISUPPORT CHATHISTORY; history.ts). */
export const HISTORY_LIMIT = 100;

/** The server's name in numerics and as the source of its own lines. */
export const SERVER = "parley";

/** Whether a connection with `caps` may see tag `name`. */
function tagAllowed(name: string, caps: ReadonlySet<string>): boolean {
  if (name === "time") return caps.has("server-time");
  if (name === "account") return caps.has("account-tag");
  if (name === "batch") return caps.has("batch");
  if (name === "label") return caps.has("labeled-response");
  return caps.has("message-tags"); // msgid and client tags
}

const PRE_REGISTRATION = new Set(["CAP", "PASS", "NICK", "USER", "AUTHENTICATE", "PING", "QUIT"]);
const WHY: Record<ParseFailure, [string, string] | null> = {
  empty: null,
  input_too_long: [ERR.INPUTTOOLONG, "Input line was too long"],
  tags_too_long: [ERR.INPUTTOOLONG, "Input line was too long (message tags)"],
  malformed: [ERR.UNKNOWNCOMMAND, "Malformed line"],
};

export class IrcConn {
  readonly caps = new Set<string>();
  registered = false;
  closed = false;
  #pass: string | null = null;
  #sasl = false;
  #saslBuf: string | null = null;
  #nickGiven = false;
  #userGiven = false;
  #capPending = false;
  #capture: IrcMessage[] | null = null;
  #batches = 0;

  constructor(readonly host: ConnHost, readonly t: IrcTransport) {}

  /** The nick numerics are addressed to ("*" before registration). */
  get me(): string {
    return this.registered ? this.host.nick : "*";
  }

  /**
   * Sends a message with the tags this connection negotiated; TAGMSG only with message-tags. While a
   * labeled command runs, what it sends is its answer (#labeled); a line this client does not take is
   * no part of it (an answer of only such lines is an ACK).
   */
  send(m: IrcMessage): void {
    if (this.closed || !this.#takes(m)) return;
    if (this.#capture) return void this.#capture.push(m); // a labeled command's answer (#labeled)
    this.#write(m);
  }

  /**
   * Sends a line of the face's own (an event: a message, a presence, a marker; a replay): never part
   * of the answer of a labeled command running meanwhile.
   */
  push(m: IrcMessage): void {
    if (!this.closed && this.#takes(m)) this.#write(m);
  }

  /** Whether this client takes `m` (TAGMSG only with message-tags; a line of a capability only with it). */
  #takes(m: IrcMessage): boolean {
    if (m.command === "TAGMSG" && !this.caps.has("message-tags")) return false;
    return !((m.cap && !this.caps.has(m.cap)) || (m.without && this.caps.has(m.without)));
  }

  #write(m: IrcMessage): void {
    const tags: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.tags)) if (tagAllowed(k, this.caps)) tags[k] = v;
    this.t.write(
      serialize({ tags, ...(m.source ? { source: m.source } : {}), command: m.command, params: m.params }),
    );
  }

  /** A numeric (or server line) from the server to this client. */
  reply(command: string, ...params: string[]): void {
    this.send({ tags: {}, source: SERVER, command, params: [this.me, ...params] });
  }

  /** Ends the connection (the Parley session stays online). */
  close(why: string): void {
    if (this.closed) return;
    this.#capture = null; // the ERROR is said at once, labeled or not
    this.send({ tags: {}, command: "ERROR", params: [why] });
    this.closed = true;
    this.t.close();
    this.host.detach(this);
  }

  /** A line read from the socket (or null: it was over the limit and dropped). */
  async line(line: string | null): Promise<void> {
    if (this.closed) return;
    if (line === null) return this.reply(ERR.INPUTTOOLONG, "Input line was too long");
    const p = parseLine(line);
    if (!p.ok) {
      const why = WHY[p.why];
      if (why) this.reply(why[0], why[1]);
      return;
    }
    const m = p.msg;
    if (m.command === "CAP") return this.#cap(m.params);
    if (!this.registered) {
      if (!PRE_REGISTRATION.has(m.command)) return this.reply(ERR.NOTREGISTERED, "You have not registered");
      return await this.#register(m);
    }
    if (m.command === "PASS" || m.command === "USER") {
      return this.reply(ERR.ALREADYREGISTERED, "You may not reregister");
    }
    const label = this.caps.has("labeled-response") ? m.tags.label : undefined;
    if (label === undefined || this.#capture) return await this.host.run(this, m);
    const got: IrcMessage[] = (this.#capture = []);
    try {
      await this.host.run(this, m);
    } finally {
      this.#capture = null;
      this.#labeled(label, got);
    }
  }

  /** labeled-response: no answer is an ACK, one carries the label, several go in a batch that does. */
  #labeled(label: string, got: IrcMessage[]): void {
    if (got.length === 0) return this.send({ tags: { label }, source: SERVER, command: "ACK", params: [] });
    if (got.length === 1) return this.send({ ...got[0]!, tags: { ...got[0]!.tags, label } });
    const id = `l${++this.#batches}`;
    this.send({ tags: { label }, source: SERVER, command: "BATCH", params: [`+${id}`, "labeled-response"] });
    for (const g of got) this.send({ ...g, tags: { ...g.tags, batch: id } });
    this.send({ tags: {}, source: SERVER, command: "BATCH", params: [`-${id}`] });
  }

  async #register(m: IrcMessage): Promise<void> {
    const [a] = m.params;
    if (m.command === "PING") {
      return this.send({ tags: {}, source: SERVER, command: "PONG", params: [SERVER, a ?? ""] });
    }
    if (m.command === "QUIT") return this.close("Closing link");
    if (m.command === "AUTHENTICATE") return this.#authenticate(m.params);
    if (a === undefined) {
      return m.command === "NICK"
        ? this.reply(ERR.NONICKNAMEGIVEN, "No nickname given")
        : this.reply(ERR.NEEDMOREPARAMS, m.command, "Not enough parameters");
    }
    if (m.command === "PASS") this.#pass = a;
    if (m.command === "NICK") this.#nickGiven = true;
    if (m.command === "USER") {
      if (m.params.length < 4) return this.reply(ERR.NEEDMOREPARAMS, "USER", "Not enough parameters");
      this.#userGiven = true;
    }
    await this.#maybeWelcome();
  }

  async #maybeWelcome(): Promise<void> {
    if (!this.#nickGiven || !this.#userGiven || this.#capPending || this.registered) return;
    if (!this.#sasl && (this.#pass === null || !this.host.checkPassword(this.#pass))) {
      this.reply(ERR.PASSWDMISMATCH, "Password incorrect (parley irc --show-password prints it)");
      return this.close("Password incorrect");
    }
    this.registered = true;
    const nick = this.host.nick;
    this.reply(RPL.WELCOME, `Welcome to Parley through IRC, ${nick}`);
    this.reply(RPL.YOURHOST, `Your host is ${SERVER}, a local face of the Parley client`);
    this.reply(RPL.CREATED, "This server was started with the Parley client");
    this.reply(RPL.MYINFO, SERVER, "parley", "i", "nt");
    const isupport = [
      "CASEMAPPING=ascii",
      "CHANTYPES=#&",
      "NICKLEN=33",
      "PREFIX=(o)@",
      "CHANMODES=,,,nt",
      `CHATHISTORY=${HISTORY_LIMIT}`,
      "MSGREFTYPES=timestamp,msgid",
    ];
    this.reply(RPL.ISUPPORT, ...isupport, "are supported by this server");
    this.reply(RPL.NOMOTD, "MOTD File is missing");
    await this.host.attach(this);
  }

  #cap(params: string[]): Promise<void> | void {
    const sub = (params[0] ?? "").toUpperCase();
    const capLine = (verb: string, text: string) =>
      this.send({ tags: {}, source: SERVER, command: "CAP", params: [this.me, verb, text] });
    if (sub === "LS") {
      if (!this.registered) this.#capPending = true;
      const v302 = Number(params[1] ?? 0) >= 302;
      const list = Object.entries(CAPS).map(([k, v]) => (v && v302 ? `${k}=${v}` : k));
      return capLine("LS", list.join(" "));
    }
    if (sub === "LIST") return capLine("LIST", [...this.caps].join(" "));
    if (sub === "REQ") {
      if (!this.registered) this.#capPending = true;
      const want = (params[1] ?? "").split(" ").filter((x) => x);
      const ok = want.every((w) => (w.startsWith("-") ? w.slice(1) : w) in CAPS);
      if (ok) { for (const w of want) w.startsWith("-") ? this.caps.delete(w.slice(1)) : this.caps.add(w); }
      return capLine(ok ? "ACK" : "NAK", params[1] ?? "");
    }
    if (sub === "END") {
      this.#capPending = false;
      return this.#maybeWelcome(); // the next line is handled once the welcome and its joins are out
    }
    this.reply(ERR.INVALIDCAPCMD, sub || "*", "Invalid CAP command");
  }

  #authenticate(params: string[]): void {
    const a = params[0];
    if (!this.caps.has("sasl")) {
      return this.reply(ERR.SASLFAIL, "SASL authentication failed (sasl not requested)");
    }
    if (this.#sasl) return this.reply(ERR.SASLALREADY, "You have already authenticated using SASL");
    if (a === undefined) return this.reply(ERR.NEEDMOREPARAMS, "AUTHENTICATE", "Not enough parameters");
    if (a === "*") {
      this.#saslBuf = null;
      return this.reply(ERR.SASLABORTED, "SASL authentication aborted");
    }
    if (this.#saslBuf === null) {
      if (a.toUpperCase() !== "PLAIN") {
        return this.reply(ERR.SASLFAIL, "SASL authentication failed (PLAIN only)");
      }
      this.#saslBuf = "";
      return this.send({ tags: {}, command: "AUTHENTICATE", params: ["+"] });
    }
    if (a !== "+") this.#saslBuf += a;
    if (this.#saslBuf.length > 4000) {
      this.#saslBuf = null;
      return this.reply(ERR.SASLTOOLONG, "SASL message too long");
    }
    if (a.length === 400) return; // more follows
    const [, , pw] = plainParts(this.#saslBuf);
    this.#saslBuf = null;
    if (pw === undefined || !this.host.checkPassword(pw)) {
      return this.reply(ERR.SASLFAIL, "SASL authentication failed");
    }
    this.#sasl = true;
    this.reply(
      RPL.LOGGEDIN,
      `${this.host.nick}!${this.host.nick}@${SERVER}`,
      this.host.account,
      "You are now logged in",
    );
    this.reply(RPL.SASLSUCCESS, "SASL authentication successful");
  }
}

/** SASL PLAIN's `authzid NUL authcid NUL passwd` from base64 (none when it is not that). */
function plainParts(b64: string): string[] {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)),
    );
    const parts = text.split("\0");
    return parts.length === 3 ? parts : [];
  } catch {
    return [];
  }
}
