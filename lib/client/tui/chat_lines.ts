/**
 * What the chat model writes on a conversation line: a message's line (`messageLine`), its
 * decorations (the quote it answers, "(edited)", deletion, reactions), the first line of a quoted
 * message, a transfer's progress text, and the pattern that finds a mention of the user. Pure
 * functions of their arguments.
 */
import { progressText } from "../../common/progress.ts";
import { sanitize, sanitizeName } from "../../common/sanitize.ts";
import type { ChatMessage } from "../backend.ts";
import type { Line } from "./buffers.ts";
import { actionOf, saidBy } from "../core/action.ts";

/** A file transfer as the status line and its conversation line show it. */
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

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The user's name, or one of their highlight `words` (`/highlight`), as a whole word or phrase
 * (letters, digits and `_` around it do not count), any case.
 */
export function mentionPattern(me: string, words: readonly string[] = []): RegExp {
  const any = [me, ...words].map(escapeRe).join("|");
  return new RegExp(`(^|[^\\p{L}\\p{N}_])(?:${any})($|[^\\p{L}\\p{N}_])`, "iu");
}

/** What a quote shows of a message: its first line, at most `max` characters. */
export function firstLine(text: string, max = 60): string {
  const first = text.split("\n")[0]!;
  return first.length > max ? first.slice(0, max - 1) + "…" : first;
}

/**
 * What a message shows besides its text (issue 39): the first line of the message it answers
 * (`quoted`, when that line is in the buffer), "(edited)", "message deleted" instead of a deleted
 * text, and its reactions with counts and who.
 */
export function decorate(m: ChatMessage, text: string, quoted: Line | undefined): string {
  if (m.deleted) return "(message deleted)";
  let out = text;
  if (m.replyTo) {
    const q = quoted;
    const first = q ? (q.deleted ? "(message deleted)" : firstLine(q.body ?? q.text)) : "an earlier message";
    out = `↪ ${q ? saidBy(q.from, first) : first}\n${out}`;
  }
  if (m.edited !== undefined) out += " (edited)";
  const rs = Object.entries(m.reactions ?? {});
  if (rs.length) {
    out += "\n" +
      rs.map(([e, who]) => `${sanitize(e)} ${who.length} (${who.map(sanitizeName).join(", ")})`).join("  ");
  }
  return out;
}

/** Whether line `l` is the message a reply answers: its id `re`, and its sender `by` when the reply names one. */
export const answers = (l: Line, re: string | undefined, by: string | undefined): boolean =>
  l.mid === re && (by === undefined || l.from === sanitizeName(by));

/**
 * The line of message `m` for user `me`: sender and text sanitised, decorated (`quoted`: the line it
 * answers, when shown), an action ("/me waves") as "alice waves" with its marked text as `body`,
 * a highlight for a DM or broadcast of someone else or a room line that mentions `me` (`mention`).
 */
export function messageLine(m: ChatMessage, me: string, quoted: Line | undefined, mention: RegExp): Line {
  const own = m.from === me;
  const body = sanitize(m.text, true);
  const act = actionOf(body); // "/me waves": "alice waves" beside a "*"
  const text = decorate(m, act === null ? body : `${sanitizeName(m.from)} ${act}`, quoted);
  const kind = own ? "own" : m.to.kind === "broadcast" ? "broadcast" : "msg";
  const highlight = !own && (m.to.kind !== "room" || mention.test(text));
  const line: Line = { ts: m.ts, from: sanitizeName(m.from), text, kind, highlight, mid: m.mid, seq: m.seq };
  if (m.failed !== undefined) line.failed = true;
  else if (m.pending) line.pending = true;
  if (m.deleted) line.deleted = true;
  if (m.setting) line.setting = true;
  if (m.topic !== undefined) line.topic = sanitize(m.topic);
  if (m.replyTo) line.replyTo = m.replyTo;
  if (m.replyTo && m.replyBy) line.replyBy = m.replyBy;
  if (act !== null && !m.deleted) line.action = true;
  if (text !== body && !m.deleted) line.body = body;
  return line;
}

/** "↓ big.iso [##--------] 20.0 MiB/100.0 MiB 10.0 MiB/s ETA 0:08", or "↑ a.txt done". */
export function transferText(t: TransferView): string {
  const st = t.state === "active" ? progressText(t.done, t.total, t.rate ?? 0) : t.state;
  return `${t.direction === "up" ? "↑" : "↓"} ${t.name} ${st}`;
}
