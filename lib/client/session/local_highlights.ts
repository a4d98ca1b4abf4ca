/**
 * Highlight words (`/highlight`, `ChatBackend.local.highlights`): words or phrases besides one's own name
 * that make a room line a highlight (bell, notification, "!" in the buffer list), kept in a table of
 * the client folder's local store like the mute list, so every process of the folder and the next
 * start see them. A word is kept trimmed and in lower case (matching ignores case); this is the one
 * home of that rule. What a highlight does is the screen's business (tui/chat_lines.ts).
 */
import type { WordList } from "../backend.ts";
import { BackendError } from "../backend.ts";
import type { SqlDb } from "./local_store_sql.ts";
import { storedSet } from "./local_name_set.ts";
import { lineProblem } from "../../common/words.ts";

/** The longest highlight word or phrase, in code points. */
export const HIGHLIGHT_MAX = 64;

/** `text` as the list keeps it (trimmed, one space between words, lower case), or a refusal saying why not. */
export function highlightWord(text: string): string {
  const w = text.normalize("NFC").trim().replace(/\s+/gu, " ").toLowerCase();
  if (!w) throw new BackendError("usage", "Give a word or phrase to highlight");
  if (/[\p{Cc}\p{Cf}]/u.test(w)) {
    throw new BackendError("usage", "A highlight cannot hold control characters");
  }
  const problem = lineProblem("A highlight", w, HIGHLIGHT_MAX); // its line breaks are spaces by now
  if (problem) throw new BackendError("usage", problem);
  return w;
}

/** The highlight list over the store `db` (its clock gives each entry its time). */
export function highlightList(db: SqlDb, now: () => number): WordList {
  return storedSet(db, "highlights", "word", highlightWord, now);
}
