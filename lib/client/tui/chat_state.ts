/**
 * The UI's model of the chat: buffers, who is online, rooms, connection and encryption state,
 * typing and transfers; fed by `BackendEvent`s. Plain data, no terminal, time injected.
 *
 * Contract: `handle(event)` updates the model and returns the notifications to raise (a DM or a
 * mention of the user that arrived live, not from the offline queue, and not sent by the user).
 * While the user is busy nothing is raised (do not disturb): messages still arrive and count as
 * unread, and `setMyStatus("free")` tells how many came meanwhile.
 * `addMessage` routes a message to its buffer (room → `#room`, DM → the other party's query,
 * broadcast → status buffer), sanitising sender and text; a repeated `mid` is ignored.
 */
import { progressText, RateMeter, sizeText } from "../../common/progress.ts";
import type { BackendEvent, CatchUp, ChatMessage, Presence, RoomInfo, Status } from "../backend.ts";
import { BufferList, type ChatBuffer, type Line } from "./buffers.ts";
import type { MemberEntry } from "./render.ts";
import { sanitize, sanitizeName } from "../../common/sanitize.ts";

export interface Notice {
  title: string;
  body: string;
}

export interface TransferView {
  name: string;
  direction: "up" | "down";
  done: number;
  total: number;
  state: "active" | "done" | "failed";
  until?: number;
  /** Bytes per second since the transfer was first seen. */
  rate?: number;
}

export const TYPING_TTL = 6000;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** What a quote shows of a message: its first line, at most `max` characters. */
export function firstLine(text: string, max = 60): string {
  const first = text.split("\n")[0]!;
  return first.length > max ? first.slice(0, max - 1) + "…" : first;
}

/** An online and an offline line for one person this close together become "joined and left". */
const MERGE_PRESENCE_MS = 60_000;

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
    this.#mention = new RegExp(`(^|[^\\p{L}\\p{N}_])${escapeRe(me)}($|[^\\p{L}\\p{N}_])`, "iu");
  }

  info(buf: ChatBuffer, text: string, kind: "info" | "error" = "info"): void {
    buf.add({ ts: this.now(), from: "", text: sanitize(text, true), kind, highlight: false }, true);
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

  bufferFor(m: ChatMessage): ChatBuffer {
    if (m.to.kind === "room") return this.buffers.ensure("room", sanitizeName(m.to.name ?? ""));
    if (m.to.kind === "user") {
      const other = m.from === this.me ? m.to.name ?? "" : m.from;
      return this.buffers.ensure("dm", sanitizeName(other));
    }
    return this.buffers.status;
  }

  toLine(m: ChatMessage): Line {
    const own = m.from === this.me;
    const body = sanitize(m.text, true);
    const text = this.#decorated(m, body);
    const kind = own ? "own" : m.to.kind === "broadcast" ? "broadcast" : "msg";
    const highlight = !own && (m.to.kind !== "room" || this.#mention.test(text));
    const line: Line = {
      ts: m.ts,
      from: sanitizeName(m.from),
      text,
      kind,
      highlight,
      mid: m.mid,
      seq: m.seq,
    };
    if (m.failed !== undefined) line.failed = true;
    else if (m.pending) line.pending = true;
    if (m.deleted) line.deleted = true;
    if (m.replyTo) line.replyTo = m.replyTo;
    if (text !== body && !m.deleted) line.body = body;
    return line;
  }

  /**
   * What a message shows besides its text (issue 39): the first line of the message it answers,
   * "(edited)", "message deleted" instead of a deleted text, and its reactions with counts and who.
   */
  #decorated(m: ChatMessage, text: string): string {
    if (m.deleted) return "(message deleted)";
    let out = text;
    if (m.replyTo) {
      const q = this.bufferFor(m).lines.find((l) => l.mid === m.replyTo);
      const first = q
        ? (q.deleted ? "(message deleted)" : firstLine(q.body ?? q.text))
        : "an earlier message";
      out = `↪ ${q ? `${q.from}: ` : ""}${first}\n${out}`;
    }
    if (m.edited !== undefined) out += " (edited)";
    const rs = Object.entries(m.reactions ?? {});
    if (rs.length) {
      out += "\n" +
        rs.map(([e, who]) => `${sanitize(e)} ${who.length} (${who.map(sanitizeName).join(", ")})`).join("  ");
    }
    return out;
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
      cacheWidth: undefined,
      cacheRows: undefined,
    });
    // Replies quoting it show its new first line (or that it was deleted).
    for (const l of buf.lines) {
      const nl = l.text.indexOf("\n");
      if (l.replyTo !== m.mid || nl < 0) continue;
      const quote = `↪ ${old.from}: ${
        next.deleted ? "(message deleted)" : firstLine(sanitize(m.text, true))
      }`;
      Object.assign(l, { text: quote + l.text.slice(nl), cacheWidth: undefined, cacheRows: undefined });
    }
  }

  /** Adds a message; returns a notification when one should be raised (never while busy). */
  addMessage(m: ChatMessage, live: boolean): Notice | null {
    const buf = this.bufferFor(m);
    this.typing.delete(`${buf.key}|${sanitizeName(m.from)}`); // a message ends its sender's typing there
    const line = this.toLine(m);
    const added = buf.add(line, buf === this.buffers.current);
    if (!added || !live || m.replay || line.kind === "own") return null;
    if (this.myStatus === "busy" || this.#busy) {
      this.arrivedWhileBusy++; // do not disturb: it arrives and counts as unread, silently
      return null;
    }
    if (!line.highlight) return null;
    const where = m.to.kind === "room" ? ` in #${sanitizeName(m.to.name ?? "")}` : "";
    return { title: `${line.from}${where}`, body: line.text };
  }

  /** Adds fetched (history/inbox) messages to their buffers. */
  addHistory(msgs: ChatMessage[]): void {
    const groups = new Map<ChatBuffer, Line[]>();
    for (const m of msgs) {
      const b = this.bufferFor(m);
      groups.set(b, [...(groups.get(b) ?? []), this.toLine(m)]);
    }
    for (const [b, lines] of groups) b.addHistory(lines);
  }

  /**
   * What the backend had at start: history, then what arrived while away behind each buffer's read
   * marker, then one's own unsent text; says in the status buffer how much is new.
   */
  catchUp(c: CatchUp): void {
    this.addHistory(c.recent);
    const groups = new Map<ChatBuffer, Line[]>();
    for (const m of c.unseen) {
      const b = this.bufferFor(m);
      groups.set(b, [...(groups.get(b) ?? []), this.toLine(m)]);
    }
    let n = 0;
    for (const [b, lines] of groups) n += b.addUnseen(lines, b === this.buffers.current);
    this.addHistory(c.pending);
    if (n > 0) {
      const k = groups.size;
      this.info(
        this.buffers.status,
        `${n} new message${n === 1 ? "" : "s"} in ${k} conversation${k === 1 ? "" : "s"} while you were away`,
      );
    }
    const waiting = c.pending.filter((m) => m.failed === undefined).length;
    const failed = c.pending.length - waiting;
    if (waiting) {
      this.info(
        this.buffers.status,
        `${waiting} message${waiting === 1 ? "" : "s"} from last time not sent yet: sending now`,
      );
    }
    if (failed) {
      this.info(
        this.buffers.status,
        `${failed} message${failed === 1 ? "" : "s"} in the outbox can never be sent (✗): /outbox lists, ` +
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

  handle(e: BackendEvent): Notice | null {
    const status = this.buffers.status;
    switch (e.type) {
      case "message":
        return this.addMessage(e.message, true);
      case "message.changed":
        this.changeMessage(e.message);
        return null;
      case "messages.expired":
        for (const mid of e.mids) for (const b of this.buffers.buffers) b.removeMessage(mid);
        return null;
      case "presence": {
        const u = sanitizeName(e.user);
        this.known.add(u);
        if (e.online) {
          if (e.presence) this.presence.set(u, e.presence);
          if (u === this.me && e.presence) this.myStatus = e.presence.status;
        } else this.presence.delete(u);
        // Only where it matters: in the conversation with that person, if one is open (the member
        // list shows everyone else); a quick online-then-offline (a scripted command) is one line.
        const b = u === this.me ? null : this.buffers.find("dm", u);
        if (!b) return null;
        const last = b.lines[b.lines.length - 1];
        if (
          !e.online && last?.kind === "info" && last.text.startsWith(`${u} is online`) &&
          this.now() - last.ts < MERGE_PRESENCE_MS
        ) {
          last.text = `${u} joined and left`;
          last.cacheWidth = undefined;
          return null;
        }
        this.info(
          b,
          `${u} is ${e.online ? (e.presence?.status === "busy" ? "online (busy)" : "online") : "offline"}`,
        );
        return null;
      }
      case "room": {
        const name = sanitizeName(e.room.name);
        if (e.change === "left" && !e.room.members.includes(this.me)) {
          this.rooms.delete(name);
          const b = this.buffers.find("room", name);
          if (b) this.buffers.close(b);
          this.info(
            status,
            `You left #${name}${e.by && e.by !== this.me ? ` (removed by ${sanitizeName(e.by)})` : ""}`,
          );
          return null;
        }
        const b = this.setRoom(e.room);
        if (e.change === "created" || e.change === "joined") {
          this.info(b, `You are in #${name}: ${e.room.members.map(sanitizeName).join(", ")}`);
        } else if (e.by) this.info(b, `Members: ${e.room.members.map(sanitizeName).join(", ")}`);
        return null;
      }
      case "notice": {
        this.info(status, e.text, e.level === "error" ? "error" : "info");
        const cur = this.buffers.current;
        if (e.level !== "info" && cur !== status) {
          this.info(cur, e.text, e.level === "error" ? "error" : "info");
        }
        return null;
      }
      case "disconnected": {
        this.connection = "offline";
        const text = `Disconnected: ${e.reason}`;
        this.info(status, text, "error");
        // A kick or ban is said where the user is looking; a network loss only in the status buffer.
        const personal = e.code === "kicked" || e.code === "banned";
        if (personal && this.buffers.current !== status) this.info(this.buffers.current, text, "error");
        return { title: "Parley", body: text };
      }
      case "role":
        return null; // the status line and the command checks read the role from the backend
      case "connection":
        this.connection = e.state;
        return null;
      case "encryption":
        this.encryption = { state: e.state, ...(e.detail ? { detail: sanitize(e.detail) } : {}) };
        if (e.state !== "on") {
          this.info(this.buffers.current, `Encryption ${e.state}${e.detail ? ": " + e.detail : ""}`, "error");
        }
        return null;
      case "typing": {
        const b = this.bufferFor({ seq: 0, mid: "", ts: 0, from: e.from, to: e.to, text: "" });
        const key = `${b.key}|${sanitizeName(e.from)}`;
        if (e.active) this.typing.set(key, this.now() + TYPING_TTL);
        else this.typing.delete(key);
        return null;
      }
      case "file.offer": {
        const o = e.offer;
        const from = sanitizeName(o.from);
        const b = this.buffers.ensure("dm", from);
        const key = o.verified ? "verified key" : "key not verified";
        const where = o.room ? ` to #${sanitizeName(o.room)}` : "";
        this.info(
          b,
          `${from} offers ${sanitize(o.name)}${where} (${sizeText(o.size)}, ${key}): /accept or /reject`,
        );
        return { title: `File from ${from}`, body: sanitize(o.name) };
      }
      case "transfer": {
        const until = e.state === "active" ? undefined : this.now() + 5000;
        const rate = this.#rates.rate(e.id, e.done, e.state === "active");
        const t: TransferView = { ...e, name: sanitize(e.name), rate, ...(until ? { until } : {}) };
        this.transfers.set(e.id, t);
        this.#transferLine(e.id, e.peer, transferText(t));
        if (e.state !== "active") this.#transferLines.delete(e.id);
        return null;
      }
    }
    return null;
  }

  /** One line per transfer in the conversation with its peer: added once, then rewritten in place. */
  #transferLine(id: string, peer: string, text: string): void {
    const line = this.#transferLines.get(id);
    if (line) {
      line.text = sanitize(text, true);
      line.cacheWidth = undefined;
      return;
    }
    const b = this.buffers.ensure("dm", sanitizeName(peer));
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
    const out = typers.length ? [`${typers.join(", ")} ${typers.length > 1 ? "are" : "is"} typing…`] : [];
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
    } else if (cur.kind === "dm") names = [this.me, cur.name];
    else names = [...this.presence.keys()];
    return names.sort((a, b) => a.localeCompare(b)).map((n) => {
      const p = this.presence.get(n);
      const status: MemberEntry["status"] = n === this.me ? this.myStatus : p ? p.status : "offline";
      return {
        name: n,
        status,
        admin: admins.includes(n) || p?.role === "admin",
        ...(p ? { since: p.since } : {}),
      };
    });
  }
}

/** "↓ big.iso [##--------] 20.0 MiB/100.0 MiB 10.0 MiB/s ETA 0:08", or "↑ a.txt done". */
function transferText(t: TransferView): string {
  const st = t.state === "active" ? progressText(t.done, t.total, t.rate ?? 0) : t.state;
  return `${t.direction === "up" ? "↑" : "↓"} ${t.name} ${st}`;
}
