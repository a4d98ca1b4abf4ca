/**
 * Tab completion of the word before the cursor. Pure.
 *
 * Contract: `Completer.complete(text, cursor, sources)` (cursor in UTF-16 units) returns the new
 * text and cursor, or null when nothing matches. Kinds, chosen by the word: `/cmd` at line start →
 * command names; `#room` → rooms; `:em` (two or more characters after the colon) → `:emoji:` names;
 * anything else → nicks, most recent speakers first (the order of `sources.nicks`), case-insensitive,
 * with `: ` appended at line start and a space elsewhere. In a command's argument the kind comes
 * from `sources.argKind` (USER → nicks, #ROOM → `#room`, VIDEO → `sources.videos`, PATH or FILE →
 * `sources.paths(word)`, which lists a folder: a folder is completed with `/` and no space), so Tab on an empty argument (`/msg `,
 * `/join `) offers every choice: the first is inserted and `choices` lists them all. Pressing Tab
 * again right after a completion (text and cursor unchanged) cycles to the next candidate;
 * `backwards` cycles back. Tab right after `/topic ` brings the room's topic (`sources.topic`) to
 * edit, as irssi does. Any other edit should call `reset()`.
 */
import { emojiNames } from "../core/emoji.ts";
import { withoutHash } from "../../protocol/names.ts";

export interface CompletionSources {
  /** Nicks, most relevant first (recent speakers, then others). */
  nicks: readonly string[];
  commands: readonly string[];
  rooms: readonly string[];
  /** What argument `index` (0-based) of command `name` (no slash) is, when the line is a command. */
  argKind?(name: string, index: number): ArgKind | null;
  /** The server's video names (after `/play`). */
  videos?: readonly string[];
  /** Completions of a file path as typed (after `/send`, `/stream`): folders end in `/`. */
  paths?(typed: string): string[];
  /** The topic of the room on screen, which Tab after `/topic ` puts on the line to edit. */
  topic?: string;
}

/** What an argument names; `conv`: a room (#ROOM) or a user written with an @ (@USER). */
export type ArgKind = "user" | "room" | "conv" | "video" | "path";

export interface Completed {
  text: string;
  cursor: number;
  /** Every candidate, on a fresh completion of an empty argument with more than one choice. */
  choices?: string[];
}

interface CycleState {
  start: number;
  tail: string;
  head: string;
  items: string[];
  index: number;
  last: Completed;
}

function candidates(word: string, head: string, src: CompletionSources): string[] {
  const atStart = head === "";
  const lw = word.toLowerCase();
  const pick = (list: readonly string[], p: string) => {
    const seen = new Set<string>();
    return list.filter((x) => {
      const ok = x.toLowerCase().startsWith(p) && !seen.has(x);
      seen.add(x);
      return ok;
    });
  };
  if (atStart && word.startsWith("/")) return pick(src.commands, lw.slice(1)).map((c) => `/${c} `);
  const cmd = /^\/(\S+)\s+/.exec(head);
  if (word === "" && src.topic && /^\/topic\s+$/i.test(head)) return [src.topic];
  const kind = cmd ? src.argKind?.(cmd[1]!, head.trim().split(/\s+/).length - 1) ?? null : null;
  if (kind === "user" && !word.startsWith("#")) {
    return pick(src.nicks, lw.replace(/^@/, "")).map((n) => `${n} `);
  }
  if (kind === "conv" && !word.startsWith("#")) {
    return pick(src.nicks, lw.replace(/^@/, "")).map((n) => `@${n} `);
  }
  if (kind === "video") return pick(src.videos ?? [], lw).map((v) => `${v} `);
  if (kind === "path") return (src.paths?.(word) ?? []).map((p) => (p.endsWith("/") ? p : `${p} `));
  if (kind === "room") return pick(src.rooms, withoutHash(lw)).map((r) => `#${r} `);
  if (word.startsWith("#")) return pick(src.rooms, withoutHash(lw)).map((r) => `#${r} `);
  if (word.startsWith(":") && word.length >= 3 && !word.slice(1).includes(":")) {
    return emojiNames(lw.slice(1)).map((n) => `:${n}: `);
  }
  if (word === "") return [];
  return pick(src.nicks, lw).map((n) => (atStart ? `${n}: ` : `${n} `));
}

export class Completer {
  #state: CycleState | null = null;

  reset(): void {
    this.#state = null;
  }

  complete(text: string, cursor: number, src: CompletionSources, backwards = false): Completed | null {
    const st = this.#state;
    if (st && st.last.text === text && st.last.cursor === cursor && st.items.length > 0) {
      st.index = (st.index + (backwards ? -1 : 1) + st.items.length) % st.items.length;
      return this.#apply(st);
    }
    const before = text.slice(0, cursor);
    const start = before.search(/\S*$/);
    const word = before.slice(start);
    const items = candidates(word, before.slice(0, start), src);
    if (items.length === 0) {
      this.#state = null;
      return null;
    }
    const next: CycleState = {
      start,
      head: text.slice(0, start),
      tail: text.slice(cursor).replace(/^ /, ""),
      items,
      index: backwards ? items.length - 1 : 0,
      last: { text, cursor },
    };
    this.#state = next;
    const done = this.#apply(next);
    return word === "" && items.length > 1 ? { ...done, choices: items.map((i) => i.trim()) } : done;
  }

  #apply(st: CycleState): Completed {
    const item = st.items[st.index]!;
    const text = st.head + item + st.tail;
    st.last = { text, cursor: st.head.length + item.length };
    return st.last;
  }
}
