/**
 * The IRC wire, pure (issue 72): one line parsed into a message and a message written as one line,
 * with IRCv3 message tags (values escaped and unescaped), the Modern IRC size limits (a body of 512
 * bytes with its CRLF, a client's tag data of 4094 bytes), CTCP ACTION ↔ Parley's "/me " action
 * (core/action.ts) and a long text cut into lines that fit. No sockets, no clock: the IRC face
 * uses it; codec_test.ts holds its tables.
 */
import { actionOf, asAction } from "../core/action.ts";

export interface IrcMessage {
  /** IRCv3 tags: name → value ("" for a tag without one). */
  tags: Record<string, string>;
  /** The prefix (`nick!user@host` or a server name), without its colon. */
  source?: string;
  /** Upper-cased command or three-digit numeric. */
  command: string;
  params: string[];
  /** Sent only to clients that negotiated this capability (not on the wire). */
  cap?: string;
  /** Sent only to clients that did not negotiate this capability: the readable form (not on the wire). */
  without?: string;
}

/** Why a line was refused (each answered with a numeric by the face, never a crash). */
export type ParseFailure = "empty" | "input_too_long" | "tags_too_long" | "malformed";

/** A line's body (source, command, params), CRLF included: Modern IRC's 512 bytes. */
export const MAX_BODY = 512;
/** Tag data a client may send, without the leading `@` and the space after (IRCv3 message-tags). */
export const MAX_CLIENT_TAGS = 4094;
/** The longest line a reader keeps before it drops the rest: tags and body at their limits. */
export const MAX_LINE = MAX_CLIENT_TAGS + 2 + MAX_BODY;
/** Modern IRC allows 15 parameters. */
const MAX_PARAMS = 15;

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s).length;

const ESCAPES: Record<string, string> = { ":": ";", s: " ", "\\": "\\", r: "\r", n: "\n" };
const UNESCAPES: Record<string, string> = { ";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n" };

/** A tag value as it goes on the wire (`;`, space, backslash, CR, LF escaped). */
export function escapeTagValue(v: string): string {
  return v.replace(/[; \\\r\n]/g, (c) => UNESCAPES[c]!);
}

/** A tag value read from the wire: a backslash before another character drops the backslash, a trailing one is dropped. */
export function unescapeTagValue(v: string): string {
  return v.replace(/\\(.?)/gs, (_, c: string) => (c === "" ? "" : ESCAPES[c] ?? c));
}

function parseTags(raw: string): Record<string, string> | null {
  const tags: Record<string, string> = {};
  for (const part of raw.split(";")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    if (!/^\+?(?:[A-Za-z0-9.-]+\/)?[A-Za-z0-9-]+$/.test(name)) return null;
    tags[name] = eq < 0 ? "" : unescapeTagValue(part.slice(eq + 1)); // the last of a repeated tag wins
  }
  return tags;
}

/** One line (without or with its CR LF) as a message, or why it is refused. */
export function parseLine(line: string): { ok: true; msg: IrcMessage } | { ok: false; why: ParseFailure } {
  let rest = line.replace(/\r?\n$/, "").replace(/\r$/, "");
  let tags: Record<string, string> = {};
  if (rest.startsWith("@")) {
    const sp = rest.indexOf(" ");
    if (sp < 0) return { ok: false, why: "malformed" };
    const raw = rest.slice(1, sp);
    if (bytes(raw) > MAX_CLIENT_TAGS) return { ok: false, why: "tags_too_long" };
    const t = parseTags(raw);
    if (!t) return { ok: false, why: "malformed" };
    tags = t;
    rest = rest.slice(sp + 1);
  }
  rest = rest.replace(/^ +/, "");
  if (bytes(rest) + 2 > MAX_BODY) return { ok: false, why: "input_too_long" };
  if (rest === "") return { ok: false, why: "empty" };
  if (/[\0\r\n]/.test(rest)) return { ok: false, why: "malformed" };
  let source: string | undefined;
  if (rest.startsWith(":")) {
    const sp = rest.indexOf(" ");
    if (sp < 0) return { ok: false, why: "malformed" };
    source = rest.slice(1, sp);
    rest = rest.slice(sp + 1).replace(/^ +/, "");
  }
  const params: string[] = [];
  const trail = rest.indexOf(" :");
  const head = trail < 0 ? rest : rest.slice(0, trail);
  const words = head.split(" ").filter((w) => w !== "");
  const command = words.shift();
  if (!command || !/^(?:[A-Za-z]+|\d{3})$/.test(command)) return { ok: false, why: "malformed" };
  params.push(...words);
  if (trail >= 0) params.push(rest.slice(trail + 2));
  if (params.length > MAX_PARAMS) return { ok: false, why: "malformed" };
  return { ok: true, msg: { tags, ...(source ? { source } : {}), command: command.toUpperCase(), params } };
}

/** Commands whose last parameter is a text: written with its colon always, as servers do. */
const TEXT_LAST = new Set(["PRIVMSG", "NOTICE", "AWAY", "PART", "QUIT", "TOPIC", "KICK", "ERROR"]);
/** A numeric's last parameter past the addressee is its text too. */
const textLast = (m: IrcMessage) =>
  TEXT_LAST.has(m.command) || (/^\d{3}$/.test(m.command) && m.params.length > 1);

/**
 * A message as one line without CRLF. A middle parameter that is empty, holds a space or starts with
 * `:`, or any CR, LF or NUL, is a bug of the caller: it throws (the face splits texts first).
 */
export function serialize(m: IrcMessage): string {
  const parts: string[] = [];
  const tagList = Object.entries(m.tags).map(([k, v]) => (v === "" ? k : `${k}=${escapeTagValue(v)}`));
  if (tagList.length) parts.push("@" + tagList.join(";"));
  if (m.source) parts.push(":" + m.source);
  parts.push(m.command);
  m.params.forEach((p, i) => {
    if (/[\0\r\n]/.test(p)) throw new Error(`IRC parameter with CR, LF or NUL: ${JSON.stringify(p)}`);
    const last = i === m.params.length - 1;
    if (last && (p === "" || p.includes(" ") || p.startsWith(":") || textLast(m))) {
      parts.push(":" + p);
    } else if (p === "" || p.includes(" ") || p.startsWith(":")) {
      throw new Error(`bad middle parameter "${p}"`);
    } else parts.push(p);
  });
  return parts.join(" ");
}

/** The CTCP delimiter. */
const CTCP = "\x01";

/** A PRIVMSG text from IRC as Parley's text: a CTCP ACTION becomes "/me …"; other CTCP: null. */
export function fromIrcText(text: string): string | null {
  if (!text.startsWith(CTCP)) return text;
  const inner = text.endsWith(CTCP) && text.length > 1 ? text.slice(1, -1) : text.slice(1);
  const sp = inner.indexOf(" ");
  const verb = sp < 0 ? inner : inner.slice(0, sp);
  return verb === "ACTION" ? asAction(sp < 0 ? "" : inner.slice(sp + 1)) : null;
}

/** Parley's text as an IRC text: an action becomes a CTCP ACTION. */
export function toIrcText(text: string): string {
  const act = actionOf(text);
  return act === null ? text : `${CTCP}ACTION ${act}${CTCP}`;
}

/**
 * `text` cut into lines of at most `budget` bytes each: at its newlines (CR LF, CR alone or LF; an
 * empty line becomes " " so it is not lost), then at UTF-8 character boundaries, preferring a space.
 */
export function splitText(text: string, budget: number): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r\n|\r|\n/)) {
    let line = raw.replace(/\0/g, "") || " ";
    while (bytes(line) > budget) {
      let cut = 0, used = 0, space = -1;
      for (const ch of line) {
        const b = bytes(ch);
        if (used + b > budget) break;
        used += b;
        cut += ch.length;
        if (ch === " ") space = cut;
      }
      const at = space > cut / 2 ? space : Math.max(cut, 1);
      out.push(line.slice(0, at));
      line = line.slice(at);
    }
    out.push(line);
  }
  return out;
}

/**
 * Splits a byte stream into lines (pure, one per connection): a line longer than MAX_LINE is
 * reported once as too long and the rest of it, to the next LF, dropped.
 */
export class LineReader {
  #buf = new Uint8Array(0);
  #dropping = false;
  readonly #dec = new TextDecoder();

  /** Feeds bytes; returns the complete lines (or "too long" markers) they finish, in order. */
  push(chunk: Uint8Array): ({ line: string } | { tooLong: true })[] {
    const out: ({ line: string } | { tooLong: true })[] = [];
    const all = new Uint8Array(this.#buf.length + chunk.length);
    all.set(this.#buf);
    all.set(chunk, this.#buf.length);
    let start = 0;
    for (let i = 0; i < all.length; i++) {
      if (all[i] !== 10) continue;
      if (this.#dropping) this.#dropping = false;
      else if (i - start > MAX_LINE) out.push({ tooLong: true });
      else out.push({ line: this.#dec.decode(all.subarray(start, i)).replace(/\r$/, "") });
      start = i + 1;
    }
    let rest = all.subarray(start);
    if (rest.length > MAX_LINE) {
      if (!this.#dropping) out.push({ tooLong: true });
      this.#dropping = true;
      rest = new Uint8Array(0);
    }
    this.#buf = rest.slice();
    return out;
  }
}
