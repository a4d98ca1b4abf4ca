/**
 * `read --all` and `read --before SEQ` (issue 68, registered with `read` in messages.ts): a
 * conversation's history on the server page by page (core/history_pages.ts). `--all`: every page,
 * printed oldest to newest with what this folder keeps and what waited in the queue, then
 * acknowledged as `read` does; `--before SEQ`: the page before that seq (with `--all`, every page
 * before it), the queue left for the next `read`. Opens what the folder's keys can open and says on
 * standard error how many they could not; a page's oldest seq is said for the next `--before`.
 */
import { BackendError, type ChatMessage, type HistoryQuery, type Target } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { type AllPages, everyPage, UNPAGED, unreadableLine } from "../core/history_pages.ts";
import { safeJson } from "../../common/sanitize.ts";
import { systemClock } from "../../common/clock.ts";
import { type CliIo, formatMessage } from "./io.ts";
import { matches, messageJson } from "./message_filters.ts";

type Opts = Record<string, unknown>;

/** `--before SEQ`: a whole number above 0, or a usage error. */
export function beforeFlag(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new BackendError("usage", `--before takes a message's seq (a whole number above 0), not "${raw}"`);
  }
  return n;
}

/** Whether `read` pages through history (`--all`, `--before`). */
export const pagesAsked = (o: Opts): boolean => o.all === true || o.before !== undefined;

/** `read --all` / `read --before SEQ` in the conversation `filter`, since `since`. */
export async function readPages(
  io: CliIo,
  c: ChatClient,
  o: Opts,
  filter: Target | undefined,
  since: number | undefined,
): Promise<void> {
  const before = beforeFlag(o.before);
  if (!filter) {
    throw new BackendError(
      "usage",
      "--all and --before page through one conversation: add --from USER, --room ROOM or --broadcast",
    );
  }
  if (o.follow) throw new BackendError("usage", "--all and --before print history, not with --follow");
  const now = (io.now ?? systemClock.now)();
  c.changes.purgeExpired(now); // disappearing messages whose time is up go first
  // What this read could not open in the conversation, from the queue or a page: each said as a notice.
  const unreadable = new Set<number>();
  const off = c.on((e) => {
    const u = e.type === "notice" ? e.unreadable : undefined;
    if (u && matches(c.user, { ...u, mid: "", ts: 0, text: "" }, filter)) unreadable.add(u.seq);
  });
  let queued: ChatMessage[], got: AllPages;
  try {
    queued = await c.sync(); // keys and changes that wait come first: they open what follows
    const q = { ...(since !== undefined ? { since } : {}), ...(before !== undefined ? { before } : {}) };
    got = o.all ? await everyPage((p) => c.remote.historyPage(filter, p), q) : await onePage(c, filter, q);
  } finally {
    off();
  }
  const seen = new Map<number, ChatMessage>();
  for (const m of got.messages) seen.set(m.seq, m);
  // What this folder keeps of the same span (the server may have let older ones go) and, for --all, the queue.
  const from = o.all ? 0 : got.oldest ?? Infinity;
  for (const m of c.store?.list(c.user, since ?? 0, filter) ?? []) {
    if (m.seq >= from && m.seq < (before ?? Infinity)) seen.set(m.seq, m);
  }
  const fresh = o.all && before === undefined ? queued.filter((m) => matches(c.user, m, filter)) : [];
  for (const m of fresh) seen.set(m.seq, m);
  const store = c.store;
  let shown = [...seen.values()].filter((m) => since === undefined || m.ts >= since)
    .sort((a, b) => a.seq - b.seq).map((m) => store?.get(m.seq) ?? m)
    .filter((m) => m.expires === undefined || m.expires > now);
  if (o.others) shown = shown.filter((m) => m.from !== c.user);
  if (o.json) io.out(safeJson(shown.map(messageJson)));
  else if (!shown.length) io.err(before === undefined ? "No messages" : `No messages before seq ${before}`);
  else for (const m of shown) io.out(formatMessage(m));
  if (got.unpaged) io.err(UNPAGED);
  const said = unreadableLine(unreadable.size);
  if (said) io.err(said);
  if (!o.all && got.count > 0) io.err(`Older messages: --before ${got.oldest}`);
  store?.markSeen(shown.map((m) => m.seq));
  await c.ack(fresh);
}

/** One page as `everyPage` answers a walk (`--before` without `--all`). */
async function onePage(c: ChatClient, t: Target, q: HistoryQuery): Promise<AllPages> {
  const p = await c.remote.historyPage(t, q);
  return { ...p, pages: 1, unpaged: false };
}
