/**
 * Older messages as the user scrolls (issue 68): when PgUp (app_keys.ts) brings the top of a
 * conversation's scrollback into view, the page before its oldest message is asked of the backend
 * (`historyPage`: the `history` request's `before`; what this folder keeps comes back opened from it,
 * what it does not from the server) and merged into the buffer, above what is shown; the view stays
 * where it is, and the next PgUp reaches them. One request at a time per buffer; once the server has
 * nothing before a seq (or cannot page: it predates paging) it is not asked again for it. A backend
 * without paging (peer mode) is not asked.
 */
import type { AppHost } from "./app_host.ts";
import type { ChatBuffer, Measure } from "./buffers.ts";
import { UNPAGED, unreadableLine } from "../core/history_pages.ts";
import { BackendError } from "../backend.ts";
import { counted } from "../../common/words.ts";

/** A buffer's page under way ("asking"), or the seq the server had nothing before. */
const paging = new WeakMap<ChatBuffer, "asking" | number>();

/** Whether the first line of `buf` is in view (the pane `height` rows high). */
function topInView(buf: ChatBuffer, height: number, measure: Measure): boolean {
  const last = buf.scroll ? buf.lines.indexOf(buf.scroll.line) : buf.lines.length - 1;
  let rows = -(buf.scroll?.skip ?? 0); // the rows from the first line to the view's bottom
  for (let i = 0; i <= last && rows <= height; i++) rows += measure(buf.lines[i]!);
  return rows <= height;
}

/** The lowest seq of a stored message in `buf` (undefined: none). */
function oldestSeq(buf: ChatBuffer): number | undefined {
  let lo: number | undefined;
  for (const l of buf.lines) {
    if (l.seq !== undefined && l.seq > 0 && (lo === undefined || l.seq < lo)) lo = l.seq;
  }
  return lo;
}

/** Asks for the page before `buf`'s oldest message when its top is in view (see the contract above). */
export function olderAtTop(app: AppHost, buf: ChatBuffer, height: number, measure: Measure): void {
  const remote = app.backend.remote, t = buf.target;
  if (!remote || !t || !topInView(buf, height, measure)) return;
  const before = oldestSeq(buf), was = paging.get(buf);
  if (was === "asking" || was === (before ?? 0)) return;
  paging.set(buf, "asking");
  const asked = remote.historyPage(t, before === undefined ? {} : { before }).catch((e) => {
    // Said in the buffer by `track`; the next PgUp asks again, unless the server cannot page at all.
    const old = e instanceof BackendError && e.code === "invalid" && before !== undefined;
    if (old) paging.set(buf, before);
    else paging.delete(buf);
    throw old ? new Error(UNPAGED) : e;
  });
  app.track(asked, (p) => {
    if (p.oldest === null) {
      paging.set(buf, before ?? 0);
      return app.state.info(buf, "The start of this conversation: the server has nothing older");
    }
    paging.delete(buf);
    const fresh = app.state.addHistory(p.messages);
    const unread = unreadableLine(p.unreadable);
    app.state.info(buf, `${counted(fresh, "older message")} loaded from the server`);
    if (unread) app.state.info(buf, unread, "error");
  }, buf);
}
