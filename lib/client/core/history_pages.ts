/**
 * History paging (issue 68): every page of a conversation's history on the server, each asked
 * before the oldest seq of the last (the `history` request's `before`, IRCv3 CHATHISTORY BEFORE),
 * until a page comes back empty; each request stays bounded by the server. What the client's keys
 * open is kept, what they cannot is counted (end-to-end encryption decides that, not the page
 * size). `parley read --all` and `--before` (cli/read_pages.ts) and the full-screen client's
 * `/history SINCE` (tui/commands.ts) read through `everyPage`. Pure but for the page it is given.
 */
import { BackendError, type ChatMessage, type HistoryPage, type HistoryQuery } from "../backend.ts";
import { counted } from "../../common/words.ts";

/** What every page gave: the messages opened, oldest first, and what the server sent. */
export interface AllPages {
  messages: ChatMessage[];
  /** Messages the server sent, over every page. */
  count: number;
  /** Of those, how many could not be opened with this client's keys. */
  unreadable: number;
  /** Requests made (the last one, empty, ends the walk). */
  pages: number;
  /** The lowest seq the server sent (null: none). */
  oldest: number | null;
  /** The server refused a page's `before` (it predates paging): only the pages before that are here. */
  unpaged: boolean;
}

/** What the user is told when the server cannot page (`unpaged`). */
export const UNPAGED =
  "This server cannot page through older messages (it predates history paging): only its newest page is here";

/**
 * Reads every page of `page` newest first, since `q.since` and before `q.before`, and answers them
 * oldest first; `onPage` sees each page as it comes (a screen that shows them as they load). A
 * server from before issue 68 refuses `before` ("invalid"; the walk stops at its newest page,
 * `unpaged`) or, were one to ignore it, gives a page that does not go back: the walk stops there.
 */
export function everyPage(
  page: (q: HistoryQuery) => Promise<HistoryPage>,
  q: HistoryQuery = {},
  onPage?: (p: HistoryPage) => void,
): Promise<AllPages> {
  return pagesUntil(page, q, () => false, onPage);
}

/**
 * `everyPage`'s walk, stopped early once `enough` says so, given the pages read so far (newest
 * first, each oldest first): a bounded question (`parley irc`'s CHATHISTORY, irc/history.ts) reads
 * only the pages it needs, under the same rules.
 */
export async function pagesUntil(
  page: (q: HistoryQuery) => Promise<HistoryPage>,
  q: HistoryQuery,
  enough: (newestFirst: ChatMessage[][]) => boolean,
  onPage?: (p: HistoryPage) => void,
): Promise<AllPages> {
  const newestFirst: ChatMessage[][] = [];
  const all: AllPages = { messages: [], count: 0, unreadable: 0, pages: 0, oldest: null, unpaged: false };
  let before = q.before;
  for (;;) {
    let p: HistoryPage;
    try {
      p = await page({
        ...(q.since !== undefined ? { since: q.since } : {}),
        ...(before !== undefined ? { before } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
      });
    } catch (e) {
      // The first page went without `before`, this one with it: a server from before issue 68 refuses it.
      if (all.pages === 0 || !(e instanceof BackendError) || e.code !== "invalid") throw e;
      all.unpaged = true;
      break;
    }
    all.pages++;
    if (p.oldest === null || (before !== undefined && p.oldest >= before)) break;
    all.count += p.count;
    all.unreadable += p.unreadable;
    newestFirst.push(p.messages);
    onPage?.(p);
    before = all.oldest = p.oldest;
    if (enough(newestFirst)) break;
  }
  all.messages = newestFirst.reverse().flat();
  return all;
}

/** The line that says how many messages a folder's keys could not open (none: null). */
export function unreadableLine(n: number): string | null {
  return n > 0 ? `${counted(n, "message")} could not be opened with this folder's keys` : null;
}
