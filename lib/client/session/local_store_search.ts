/**
 * Searching the local store's history (`parley search`, `/search`): the text is sealed at rest, so
 * rows are opened newest first, a batch at a time (the event loop runs between), and a message matches when its text holds every
 * word of the query at the start of one of its words (`holdsWord`), whatever their case, width or
 * order (NFKC, lower case). Deleted messages,
 * setting lines and messages whose disappearing time is up are never found. Only this folder's
 * history is searched: what its clients received or loaded (`/history`, `read --since`).
 */
import type { ChatMessage, SearchQuery, SearchResult } from "../backend.ts";
import type { Row, SqlDb } from "./local_store_sql.ts";
import { type HistorySealer, msgAd } from "./local_store_seal.ts";
import { conversation, toMessage } from "./local_store_messages.ts";

/** What a search of no history finds. */
export const NO_MATCHES: SearchResult = { matches: [], searched: 0, more: false };

/** Rows opened per query. */
const BATCH = 500;

/** `s` folded for matching: compatibility forms, lower case. */
export const fold = (s: string): string => s.normalize("NFKC").toLowerCase();

/** The words of a query, folded; empty ones dropped. */
export const queryWords = (text: string): string[] => fold(text).split(/\s+/).filter(Boolean);

/** Letters and digits: a word goes on while they do. */
const WORDY = /[\p{L}\p{N}]/u;
/** Scripts written without spaces between words: a word of theirs may start anywhere. */
const UNSPACED =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/**
 * `text` (folded) holds `word` (folded) at the start of one of its words: "deploy" finds "deployed"
 * and "re-deploy", "39" does not find "139". A word that does not start with a letter or digit
 * (".pdf", "#ops") and a word in a script without spaces (Chinese, Japanese, Thai…) match anywhere.
 */
export function holdsWord(text: string, word: string): boolean {
  const anywhere = !WORDY.test(word.charAt(0)) || UNSPACED.test(word.charAt(0));
  for (let at = text.indexOf(word); at >= 0; at = text.indexOf(word, at + 1)) {
    const before = text.charAt(at - 1); // "" at the start; half of a surrogate pair counts as a gap
    if (anywhere || !WORDY.test(before) || UNSPACED.test(before)) return true;
  }
  return false;
}

/** Lets the event loop run between batches (a long history does not freeze a screen). */
const breathe = () => new Promise((r) => setTimeout(r, 0));

/** Messages whose text holds every word of `q.text` (see the contract above), by `me`, at `now`. */
export async function searchMessages(
  db: SqlDb,
  sealer: HistorySealer,
  me: string,
  q: SearchQuery,
  now: number,
): Promise<SearchResult> {
  const words = queryWords(q.text);
  const only = conversation(me, q.filter);
  const sql = `SELECT * FROM messages WHERE seq < ? AND deleted = 0 AND setting = 0 AND ts >= ?${only.sql}`;
  const args: (string | number)[] = [q.since ?? 0, ...only.args];
  const st = db.prepare(`${sql} ORDER BY seq DESC LIMIT ${BATCH}`);
  const found: ChatMessage[] = [];
  let searched = 0, before = Number.MAX_SAFE_INTEGER, more = false;
  for (;;) {
    const rows = st.all(before, ...args) as Row[];
    for (const r of rows) {
      before = r.seq as number;
      if (r.expires_at !== null && r.expires_at !== undefined && Number(r.expires_at) <= now) continue;
      searched++;
      const text = fold(sealer.open(r.text, msgAd(r.seq as number, r.mid as string)));
      if (!words.every((w) => holdsWord(text, w))) continue;
      if (found.length === q.limit) {
        more = true;
        break;
      }
      found.push(toMessage(db, sealer, r));
    }
    if (more || rows.length < BATCH) break;
    await breathe();
  }
  const first = db.prepare("SELECT MIN(ts) AS t FROM messages WHERE deleted = 0 AND setting = 0")
    .get() as Row;
  const oldest = first?.t === null || first?.t === undefined ? undefined : Number(first.t);
  return { matches: found.reverse(), searched, more, ...(oldest === undefined ? {} : { oldest }) };
}
