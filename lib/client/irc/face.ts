/**
 * The IRC face of one Parley session (issue 72): the ChatBackend stays online whether or not an IRC
 * client is attached; every attached client gets the same lines (events.ts), a client's own sends
 * echoed to the others (and to itself with echo-message). While none is attached, what arrives is
 * kept (at most PLAYBACK_MAX lines) and played back on the next attach, with `time` tags
 * (server-time) or a time before the text, in a `chathistory` batch when the client has batch.
 * Commands go through mapping.ts's table; registration is conn.ts's.
 */
import type { BackendEvent, ChatBackend, ChatMessage } from "../backend.ts";
import type { Clock } from "../../common/clock.ts";
import type { IrcMessage } from "./codec.ts";
import type { ConnHost, IrcConn } from "./conn.ts";
import type { FaceHost } from "./face_host.ts";
import { changeLines, eventLines, messageLines, type Seen, tagFallback } from "./events.ts";
import { nickOf } from "./names.ts";
import { ircWhere, sourceOf } from "./events.ts";
import { joinAll, runCommand } from "./mapping.ts";
import { channel, sendJoin } from "./chan.ts";
import { markLine, ReadMarkers } from "./markers.ts";
import { BROADCAST_CHANNEL, ircTarget, parleyTarget } from "./names.ts";
import { controlNotice } from "./events.ts";

/** Lines kept for playback while no IRC client is attached. */
export const PLAYBACK_MAX = 1000;
/** Messages whose last state is kept to tell what a change changed. */
const SEEN_MAX = 5000;

export interface IrcFaceOptions {
  /** The folder's IRC password (home_dir.ts `ircPassword`). */
  password: string;
  clock: Clock;
}

export class IrcFace implements ConnHost, FaceHost {
  readonly conns = new Set<IrcConn>();
  readonly nick: string;
  readonly account: string;
  /** Mids of the texts sent from IRC: their later events (seq, outbox) are not shown again. */
  readonly sent = new Set<string>();
  /** How far each conversation was read (draft/read-marker, markers.ts). */
  readonly markers = new ReadMarkers();
  /** The nicks of the direct conversations seen, for CHATHISTORY TARGETS (history.ts). */
  readonly queries = new Set<string>();
  #missed: IrcMessage[] = [];
  /** Who is online, as the broadcast channel's JOIN and PART tell. */
  #online = new Set<string>();
  #dropped = 0;
  #seen = new Map<string, Seen>();
  #off: (() => void) | null = null;
  #batch = 0;

  constructor(readonly backend: ChatBackend, readonly o: IrcFaceOptions) {
    this.account = backend.user;
    this.nick = nickOf(backend.user);
  }

  /** Follows the session: what arrived while no screen showed it is the first playback. */
  async start(): Promise<void> {
    this.#off = this.backend.on((e) => this.#event(e));
    for (const p of await this.backend.who()) this.#online.add(p.user);
    const c = await this.backend.feed?.catchUp();
    for (const m of c?.recent ?? []) {
      this.#remember(m);
      this.#query(m);
    }
    for (const m of c?.unseen ?? []) this.#message(m);
  }

  stop(): void {
    this.#off?.();
    for (const c of [...this.conns]) c.close("The Parley client is closing");
  }

  checkPassword(pw: string): boolean {
    const a = new TextEncoder().encode(pw), b = new TextEncoder().encode(this.o.password);
    let diff = a.length ^ b.length;
    for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
    return diff === 0;
  }

  async attach(c: IrcConn): Promise<void> {
    this.conns.add(c);
    await joinAll(this, c);
    for (const [where, iso] of this.markers.all()) c.push(markLine(where, iso));
    this.#playback(c);
  }

  /** The user read `where` up to `iso` (MARKREAD): every client that asked is told, and the other devices. */
  markRead(where: string, iso: string): boolean {
    if (!this.markers.set(where, iso)) return false;
    const seq = this.markers.seqAt(where, iso), t = parleyTarget(where);
    if (seq !== null && t) this.backend.feed?.read(t, seq);
    for (const c of this.conns) c.send(markLine(where, iso));
    return true;
  }

  detach(c: IrcConn): void {
    this.conns.delete(c);
  }

  run(c: IrcConn, m: IrcMessage): Promise<void> {
    return runCommand(this, c, m);
  }

  /** Lines to every attached client but `except` (kept for playback when none is attached). */
  toAll(lines: IrcMessage[], except?: IrcConn): void {
    if (this.conns.size === 0) return this.#keep(lines);
    for (const c of this.conns) if (c !== except) { for (const l of lines) this.#sendTo(c, l); }
  }

  /** One's own text sent from IRC client `from`: echoed to the others, and to it with echo-message. */
  echo(from: IrcConn, m: ChatMessage): void {
    this.sent.add(m.mid);
    if (this.sent.size > SEEN_MAX) this.sent.delete(this.sent.values().next().value!);
    this.#remember(m);
    const lines = messageLines(m, this.account, this.#quote(m));
    this.#query(m);
    this.markers.note(ircWhere(m, this.account), new Date(m.ts).toISOString(), m.seq);
    this.toAll(lines, from);
    if (from.caps.has("echo-message")) {
      for (const l of lines) from.send(l);
    }
  }

  #sendTo(c: IrcConn, l: IrcMessage): void {
    if (l.command === "TAGMSG" && !c.caps.has("message-tags")) {
      const f = tagFallback(l);
      if (f) c.push(f);
    } else c.push(l);
  }

  #keep(lines: IrcMessage[]): void {
    for (const l of lines) if (l.command !== "TAGMSG" || l.tags["+draft/react"]) this.#missed.push(l);
    const over = this.#missed.length - PLAYBACK_MAX;
    if (over > 0) {
      this.#missed.splice(0, over);
      this.#dropped += over;
    }
  }

  #playback(c: IrcConn): void {
    if (c.caps.has("draft/chathistory")) { // it asks for what it wants (CHATHISTORY), nothing is pushed
      this.#missed = [];
      this.#dropped = 0;
      return;
    }
    if (this.#dropped) {
      for (const l of controlNotice(this.nick, `${this.#dropped} older lines were not kept`)) c.push(l);
    }
    const id = c.caps.has("batch") && this.#missed.length ? `p${++this.#batch}` : null;
    if (id) {
      c.push({ tags: {}, source: "parley", command: "BATCH", params: [`+${id}`, "chathistory", this.nick] });
    }
    for (const l of this.#missed) {
      const timed = c.caps.has("server-time") ? l : withTimeText(l);
      this.#sendTo(c, id ? { ...timed, tags: { ...timed.tags, batch: id } } : timed);
    }
    if (id) c.push({ tags: {}, source: "parley", command: "BATCH", params: [`-${id}`] });
    this.#missed = [];
    this.#dropped = 0;
  }

  /** A direct message's other party, as a query CHATHISTORY TARGETS names. */
  #query(m: ChatMessage): void {
    if (m.to.kind !== "user" || this.queries.size >= SEEN_MAX) return;
    this.queries.add(nickOf(m.from === this.account ? m.to.name! : m.from));
  }

  /** The original a reply answers, as "nick: text", when this face saw it. */
  #quote(m: ChatMessage): string | undefined {
    const o = m.replyTo ? this.#seen.get(m.replyTo) : undefined;
    return o && !o.deleted ? `${nickOf(o.from)}: ${o.text}` : undefined;
  }

  /** A change made from IRC (a reaction, a deletion): its state, so the backend's event of it shows nothing again. */
  remember(m: ChatMessage): void {
    this.#remember(m);
  }

  #remember(m: ChatMessage): Seen | undefined {
    const before = this.#seen.get(m.mid);
    this.#seen.delete(m.mid);
    this.#seen.set(m.mid, {
      from: m.from,
      text: m.text,
      ...(m.edited !== undefined ? { edited: m.edited } : {}),
      ...(m.deleted ? { deleted: true } : {}),
      reactions: structuredClone(m.reactions ?? {}),
    });
    if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.keys().next().value!);
    return before;
  }

  #message(m: ChatMessage): void {
    if (m.from === this.account && this.sent.has(m.mid)) return; // shown when sent
    if (this.#seen.has(m.mid)) return this.#changed(m);
    this.#remember(m);
    const lines = messageLines(m, this.account, this.#quote(m));
    this.#query(m);
    this.markers.note(ircWhere(m, this.account), new Date(m.ts).toISOString(), m.seq);
    this.toAll(lines);
    if (this.conns.size) this.backend.feed?.markSeen([m]);
  }

  /**
   * A user came online or went away: the broadcast channel's JOIN or PART on a change (its members are
   * the users online), and AWAY for the clients with away-notify. Said to attached clients only.
   */
  #presence(user: string, online: boolean, away: IrcMessage[]): void {
    const change = online !== this.#online.has(user);
    if (online) this.#online.add(user);
    else this.#online.delete(user);
    const line: IrcMessage = online
      ? { tags: { account: user }, source: sourceOf(user), command: "JOIN", params: [BROADCAST_CHANNEL] }
      : { tags: {}, source: sourceOf(user), command: "PART", params: [BROADCAST_CHANNEL, "offline"] };
    for (const c of this.conns) for (const l of change ? [line, ...away] : away) c.push(l);
  }

  /** The user is in room `name` now: every client joins its channel (names, topic). */
  async #joined(name: string): Promise<void> {
    const ch = await channel(this.backend, `#${name}`);
    if (ch) { for (const c of this.conns) await sendJoin(this.backend, c, ch); }
  }

  #changed(m: ChatMessage): void {
    const before = this.#remember(m);
    this.toAll(changeLines(before, m, this.account));
  }

  #event(e: BackendEvent): void {
    if (e.type === "message") return this.#message(e.message);
    if (e.type === "message.changed") return this.#changed(e.message);
    if (e.type === "seen") { // read on another device of the account
      const where = ircTarget(e.target), iso = this.markers.timeOf(where, e.upTo);
      if (iso && this.markers.set(where, iso)) { for (const c of this.conns) c.push(markLine(where, iso)); }
      return;
    }
    if (e.type === "presence" && e.user === this.account) return;
    if (e.type === "typing" && this.conns.size === 0) return;
    if (
      e.type === "room" && (e.change === "created" || e.change === "joined") &&
      (e.user ?? this.account) === this.account
    ) {
      return void this.#joined(e.room.name);
    }
    const lines = eventLines(e, this.account);
    if (e.type === "presence") return this.#presence(e.user, e.online, lines);
    this.toAll(lines);
  }
}

/** A kept line for a client without server-time: its time before its text. */
function withTimeText(l: IrcMessage): IrcMessage {
  const t = l.tags.time;
  if (!t || (l.command !== "PRIVMSG" && l.command !== "NOTICE")) return l;
  const text = l.params[1] ?? "";
  const stamp = `[${t.slice(0, 10)} ${t.slice(11, 19)}Z]`;
  const body = text.startsWith("\x01ACTION ") ? `\x01ACTION ${stamp} ${text.slice(8)}` : `${stamp} ${text}`;
  return { ...l, params: [l.params[0]!, body] };
}
