/**
 * Neutralises untrusted text before it reaches a terminal, a script or a log: the one home of the
 * "unsafe character" rule (TUI, scripted CLI output incl. --json, server log). Pure.
 *
 * Contract: the result holds no C0/C1 control character, no DEL, no bidi override or isolate and no
 * lone surrogate, so it can never move the cursor, change colours, set the title or reorder text.
 * Each removed character is replaced by a visible stand-in: C0 and DEL in caret notation (`ESC` →
 * `^[`, `DEL` → `^?`), C1 and invisible format characters as `<U+XXXX>`. A tab becomes spaces.
 * Newlines are kept only when `keepNewlines` is set (message bodies); `\r\n` and `\r` count as `\n`.
 * The set: C0, DEL, C1, U+061C, U+200E/F, U+2028/9, U+202A-202E, U+2066-2069, U+FFF9-FFFB.
 */

const UNSAFE_SET =
  "\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2028\\u2029\\u2066-\\u2069\\ufff9-\\ufffb";
/** Matches one unsafe character (see the module contract). */
export const UNSAFE: RegExp = new RegExp(`[${UNSAFE_SET}]`);
const UNSAFE_G = new RegExp(`[${UNSAFE_SET}]`, "g");

export const TAB_SPACES = "    ";

function standIn(ch: string, keepNewlines: boolean): string {
  const c = ch.charCodeAt(0);
  if (c === 0x0a) return keepNewlines ? "\n" : "^J";
  if (c === 0x09) return TAB_SPACES;
  if (c < 0x20) return "^" + String.fromCharCode(c + 0x40);
  if (c === 0x7f) return "^?";
  return "<U+" + c.toString(16).toUpperCase().padStart(4, "0") + ">";
}

/** Returns `text` made safe to print; see the module contract. */
export function sanitize(text: string, keepNewlines = false): string {
  let s = text.isWellFormed() ? text : text.toWellFormed();
  if (!UNSAFE.test(s)) return s;
  if (keepNewlines) s = s.replace(/\r\n?/g, "\n");
  return s.replace(UNSAFE_G, (ch) => standIn(ch, keepNewlines));
}

/** Like `sanitize` but for names (users, rooms): also trims and never keeps newlines. */
export function sanitizeName(name: string): string {
  return sanitize(name).trim();
}

/** Strips (rather than shows) everything unsafe; for text placed inside OSC sequences. */
export function stripControls(text: string): string {
  const s = text.isWellFormed() ? text : text.toWellFormed();
  return s.replace(UNSAFE_G, " ");
}

/** For scripted output: like `sanitize` with newlines kept, continuation lines indented by `indent`. */
export function sanitizeLines(text: string, indent = "    "): string {
  return sanitize(text, true).replace(/\n/g, "\n" + indent);
}

/**
 * `JSON.stringify` whose output holds no unsafe character: C0 is escaped by JSON already, and C1,
 * DEL, bidi and line/paragraph separators become `\uXXXX` escapes, so the data parses back exact.
 */
export function safeJson(v: unknown): string {
  return JSON.stringify(v).replace(UNSAFE_G, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}
