/**
 * The UI's model of the chat: buffers, who is online, rooms, connection and encryption state,
 * typing and transfers; fed by `BackendEvent`s. Plain data, no terminal, time injected.
 *
 * Contract: chat_events.ts's `applyEvent(state, event)` updates the model and returns the
 * notifications to raise (a DM or a mention of the user that arrived live, not from the offline
 * queue, and not sent by the user).
 * While the user is busy nothing is raised (do not disturb): messages still arrive and count as
 * unread, and `setMyStatus("free")` tells how many came meanwhile.
 * `addMessage` routes a message to its buffer (room → `#room`, DM → the other party's query,
 * broadcast → status buffer), sanitising sender and text; a repeated `mid` is ignored.
 */
import { RateMeter } from "../../common/progress.ts";
import type { BackendEvent, CatchUp, ChatMessage, Presence, RoomInfo, Status, Target } from "../backend.ts";
import type { ChatBuffer, Line } from "./buffers.ts";
import { BufferList } from "./buffer_list.ts";
import type { MemberEntry } from "./render.ts";
import { sanitize, sanitizeName } from "../../common/sanitize.ts";
import { withoutHash } from "../../protocol/names.ts";
import { answers, firstLine, mentionPattern, messageLine, transferText } from "./chat_lines.ts";
import { conversationOf } from "../session/wire_events.ts";
import type { TransferView } from "./chat_lines.ts";
import { saidBy } from "../core/action.ts";
import { agree, counted } from "../../common/words.ts";

/** A notification to raise: a DM or a mention that arrived live, a file offer, a disconnection. */
export interface Notice {
  title: string;
  body: string;
}

export class ChatState {
  readonly buffers = new BufferList();
  readonly presence = new Map<string, Presence>();
  /** Everyone seen online since start, every registered user, every known peer in peer mode: Tab completes them. */
  readonly known = new Set<string>();
  readonly rooms = new Map<string, RoomInfo>();
  connection: "connecting" | "online" | "offline" = "online";
  encryption: { state: "on" | "off" | "warning"; detail?: string } = { state: "on" };
  myStatus: Status = "free";
  /** Messages from others that arrived live while the user was busy (told on `/free`). */
  arrivedWhileBusy = 0;
  #busy = false;
  /** `bufferKey|user` → expiry time. */
  readonly typing = new Map<string, number>();
  readonly transfers = new Map<string, TransferView>();
  /** The conversation line of each transfer in progress, updated in place. */
  readonly #transferLines = new Map<string, Line>();
  readonly #rates: RateMeter;
  #mention: RegExp;

  constructor(readonly me: string, readonly now: () => number) {
    this.#rates = new RateMeter(now);
    this.#mention = mentionPattern(me);
  }

  /** The highlight words (`/highlight`): a room line holding one (or my name) is a highlight from now on. */
  setHighlights(words: readonly string[]): void {
    this.#mention = mentionPattern(this.me, words);
  }

  info(buf: ChatBuffer, text: string, kind: "info" | "error" = "info", hang = 0): void {
    buf.add({ ts: this.now(), from: "", text: sanitize(text, true), kind, highlight: false, hang }, true);
  }

  /**
   * A line that asks something of the user (a file offered to them, a room they were put in or taken
   * out of): like `info`, and it marks its buffer as a highlight while the user looks elsewhere.
   */
  alert(buf: ChatBuffer, text: string): void {
    buf.add(
      { ts: this.now(), from: "", text: sanitize(text, true), kind: "info", highlight: true },
      buf === this.buffers.current,
    );
  }

  /** Records the user's own status; going free returns how many messages arrived while busy. */
  setMyStatus(status: Status): number | null {
    const was = this.myStatus;
    this.myStatus = status;
    if (status === "busy") {
      if (!this.#busy && was !== "busy") this.arrivedWhileBusy = 0;
      this.#busy = true;
      return null;
    }
    // Busy by `/busy`, or from the start (status restored): the server's echo may have come first.
    if (!this.#busy && was !== "busy") return null;
    this.#busy = false;
    const n = this.arrivedWhileBusy;
    this.arrivedWhileBusy = 0;
    return n;
  }

  isUser(name: string): boolean {
    if (this.presence.has(name) || this.buffers.find("dm", name)) return true;
    for (const r of this.rooms.values()) if (r.members.includes(name)) return true;
    return false;
  }

  /** The buffer of conversation `t`, when one is open. */
  bufferOf(t: Target): ChatBuffer | undefined {
    if (t.kind === "broadcast") return this.buffers.status;
    return this.buffers.find(t.kind === "room" ? "room" : "dm", sanitizeName(t.name ?? ""));
  }

  bufferFor(m: ChatMessage): ChatBuffer {
    if (m.to.kind === "room") return this.buffers.ensure("room", sanitizeName(m.to.name ?? ""));
    if (m.to.kind === "user") {
      return this.buffers.ensure("dm", sanitizeName(conversationOf(this.me, m).name!));
    }
    return this.buffers.status;
  }

  /** `m`'s line; a reply quotes a line of its buffer, or of `batch` (lines added with it, by buffer and mid). */
  toLine(m: ChatMessage, batch?: ReadonlyMap<string, Line>): Line {
    const re = m.replyTo;
    const buf = re ? this.bufferFor(m) : undefined; // looked up only for a reply (every message comes here)
    const quoted = buf &&
      (buf.lines.find((l) => answers(l, re, m.replyBy)) ?? batch?.get(`${buf.key} ${re}`));
    return messageLine(m, this.me, quoted, this.#mention);
  }

  /** A message changed (edited, deleted, a reaction): its line shows the new state in place. */
  changeMessage(m: ChatMessage): void {
    const buf = this.bufferFor(m);
    const i = buf.lines.findIndex((l) => l.mid === m.mid && l.from === sanitizeName(m.from));
    if (i < 0) return;
    const old = buf.lines[i]!;
    const next = this.toLine(m);
    Object.assign(old, {
      text: next.text,
      body: next.body,
      deleted: next.deleted,
      action: next.action,
      cacheWidth: undefined,
      cacheRows: undefined,
    });
    // Replies quoting it show its new first line (or that it was deleted).
    for (const l of buf.lines) {
      const nl = l.text.indexOf("\n");
      if (!answers(old, l.replyTo, l.replyBy) || nl < 0) continue;
      const quote = `↪ ${
        next.deleted ? `${old.from}: (message deleted)` : saidBy(old.from, firstLine(sanitize(m.text, true)))
      }`;
      Object.assign(l, { text: quote + l.text.slice(nl), cacheWidth: undefined, cacheRows: undefined });
    }
  }

  /** Adds a message; returns a notification when one should be raised (never while busy). */
  addMessage(m: ChatMessage, live: boolean): Notice | null {
    const buf = this.bufferFor(m);
    this.typing.delete(`${buf.key}|${sanitizeName(m.from)}`); // a message ends its sender's typing there
    const line = this.toLine(m);
    if (buf.muted) line.highlight = false; // muted (/mute): no highlight, bell or notification
    const inView = buf === this.buffers.current && !this.buffers.away; // the terminal may be elsewhere
    const added = buf.add(line, inView);
    if (!added || !live || m.replay || line.kind === "own") return null;
    if (inView && m.seq > 0) this.buffers.onRead?.(buf, m.seq); // read as it came
    if (this.myStatus === "busy" || this.#busy) {
      this.arrivedWhileBusy++; // do not disturb: it arrives and counts as unread, silently
      return null;
    }
    if (!line.highlight) return null;
    const where = m.to.kind === "room" ? ` in #${sanitizeName(m.to.name ?? "")}` : "";
    return { title: `${line.from}${where}`, body: line.text };
  }

  /** Lines of `msgs` (oldest first) by buffer; a reply quotes an earlier one of them too. */
  #lines(msgs: ChatMessage[]): Map<ChatBuffer, Line[]> {
    const groups = new Map<ChatBuffer, Line[]>();
    const batch = new Map<string, Line>();
    for (const m of msgs) {
      const b = this.bufferFor(m);
      const line = this.toLine(m, batch);
      batch.set(`${b.key} ${m.mid}`, line); // a reply quotes a line of its own conversation only
      groups.get(b)?.push(line) ?? groups.set(b, [line]);
    }
    return groups;
  }

  /** Adds fetched (history/inbox) messages to their buffers; how many were not there already. */
  addHistory(msgs: ChatMessage[]): number {
    const groups = this.#lines(msgs);
    let fresh = 0;
    for (const [b, lines] of groups) fresh += b.addHistory(lines);
    return fresh;
  }

  /**
   * What the backend had at start: history, then what arrived while away behind each buffer's read
   * marker, then one's own unsent text; says in the status buffer how much is new.
   */
  catchUp(c: CatchUp): void {
    this.addHistory(c.recent);
    const groups = this.#lines(c.unseen);
    let n = 0;
    for (const [b, lines] of groups) n += b.addUnseen(lines, b === this.buffers.current);
    this.addHistory(c.pending);
    if (n > 0) {
      const k = groups.size;
      this.info(
        this.buffers.status,
        `${counted(n, "new message")} in ${counted(k, "conversation")} while you were away`,
      );
    }
    const waiting = c.pending.filter((m) => m.failed === undefined).length;
    const failed = c.pending.length - waiting;
    if (waiting) {
      this.info(
        this.buffers.status,
        `${counted(waiting, "message")} from last time not sent yet: sending now`,
      );
    }
    if (failed) {
      this.info(
        this.buffers.status,
        `${counted(failed, "message")} in the outbox can never be sent (✗): /outbox lists, ` +
          "/outbox drop N removes",
        "error",
      );
    }
  }

  setRoom(r: RoomInfo): ChatBuffer {
    const name = sanitizeName(r.name);
    this.rooms.set(name, r);
    return this.buffers.ensure("room", name);
  }

  /** A transfer's progress: its view for the status line and its one line in the conversation. */
  transfer(e: Extract<BackendEvent, { type: "transfer" }>): void {
    const until = e.state === "active" ? undefined : this.now() + 5000;
    const rate = this.#rates.rate(e.id, e.done, e.state === "active");
    const t: TransferView = { ...e, name: sanitize(e.name), rate, ...(until ? { until } : {}) };
    this.transfers.set(e.id, t);
    this.#transferLine(e.id, e.room === undefined ? e.peer : `#${e.room}`, transferText(t));
    if (e.state !== "active") this.#transferLines.delete(e.id);
  }

  /**
   * One line per transfer in its conversation (the DM with its peer, or `#room`): added once, then
   * rewritten in place.
   */
  #transferLine(id: string, peer: string, text: string): void {
    const line = this.#transferLines.get(id);
    if (line) {
      line.text = sanitize(text, true);
      line.cacheWidth = undefined;
      return;
    }
    const room = peer.startsWith("#");
    const b = this.buffers.ensure(room ? "room" : "dm", sanitizeName(room ? withoutHash(peer) : peer));
    this.info(b, text);
    const added = b.lines[b.lines.length - 1];
    if (added) this.#transferLines.set(id, added);
  }

  /** Status-line items: who types in the current buffer, transfers in progress. */
  extras(): string[] {
    const now = this.now();
    const cur = this.buffers.current.key + "|";
    const typers: string[] = [];
    for (const [k, until] of this.typing) {
      if (until < now) this.typing.delete(k);
      else if (k.startsWith(cur)) typers.push(k.slice(cur.length));
    }
    const out = typers.length ? [`${typers.join(", ")} ${agree(typers.length, "is", "are")} typing…`] : [];
    for (const [id, t] of this.transfers) {
      if (t.until !== undefined && t.until < now) {
        this.transfers.delete(id);
        continue;
      }
      out.push(transferText(t));
    }
    return out;
  }

  /** The member list of the current buffer. */
  members(): MemberEntry[] {
    const cur = this.buffers.current;
    let names: string[];
    let admins: string[] = [];
    if (cur.kind === "room") {
      const r = this.rooms.get(cur.name);
      names = r?.members.map(sanitizeName) ?? [];
      admins = r?.admins.map(sanitizeName) ?? [];
    } else if (cur.kind === "dm") names = [...new Set([this.me, cur.name])]; // a note to self: one name
    else names = [...this.presence.keys()];
    return names.sort((a, b) => a.localeCompare(b)).map((n) => {
      const p = this.presence.get(n);
      const status: MemberEntry["status"] = n === this.me ? this.myStatus : p ? p.status : "offline";
      return {
        name: n,
        status,
        admin: admins.includes(n), // a room's admin: @ has this one meaning (issue 71.18; /help says it)
        ...(p ? { since: p.since } : {}),
      };
    });
  }
}
