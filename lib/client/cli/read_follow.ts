/**
 * `parley read --follow` (fixed contract, added in 0.16): what `read` prints, then every message
 * that arrives, as it arrives, until Ctrl-C or SIGTERM (exit 0) — the input of a script or a bot,
 * as `send --lines` is its output. The same filters (`--from`, `--room`, `--broadcast`, `--since`);
 * `--json` prints one JSON object per line here (the same fields as `read --json`), so each line can
 * be read as it comes. Every message printed is marked shown in the folder and acknowledged (the
 * core acknowledges what it follows in batches, and the last batch when it closes); one outside the
 * filter stays new for `read` and the full-screen client. A lost connection is followed by a new
 * one (`reconnect`: the password came from PARLEY_PASSWORD or --password-file), said on standard
 * error; without one, and after a kick or a password change, the command ends with why (a ban is
 * waited out, as the full-screen client does).
 */
import { safeJson } from "../../common/sanitize.ts";
import { systemClock } from "../../common/clock.ts";
import { BackendError, type ChatMessage, type Target } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import type { ServerSession } from "../core/server_session.ts";
import { reconnectsAfter } from "../core/reconnect.ts";
import { type CliIo, formatMessage, SaidError } from "./io.ts";
import { matches, messageJson } from "./message_filters.ts";
import { stopOnInterrupt } from "./video_screen.ts";
import { everyPage } from "../core/history_pages.ts";

export interface FollowOptions {
  filter?: Target;
  since?: number;
  json: boolean;
  /** Only messages others sent (`--others`): a bot does not read what it wrote itself. */
  others?: boolean;
  /** A new session after a lost connection; null: the command ends there. */
  reconnect: (() => Promise<ServerSession>) | null;
}

/** Follows `c`'s feed, printing what `o` asks for (see the contract above). */
export async function readFollow(io: CliIo, c: ChatClient, o: FollowOptions): Promise<void> {
  const now = io.now ?? systemClock.now;
  const shown = new Set<number>();
  const show = (m: ChatMessage) => {
    if (shown.has(m.seq) || m.seq <= 0 || !matches(c.user, m, o.filter)) return;
    if (o.others && m.from === c.user) return;
    if (o.since !== undefined && m.ts < o.since) return;
    if (m.expires !== undefined && m.expires <= now()) return;
    shown.add(m.seq);
    io.out(o.json ? safeJson(messageJson(m)) : formatMessage(m));
    c.feed.markSeen([m]);
  };
  if (o.reconnect) c.reconnect = o.reconnect;
  let end!: (why?: BackendError) => void;
  const ended = new Promise<BackendError | undefined>((r) => (end = r));
  let caught = false, offline = false;
  const early: ChatMessage[] = [];
  const said = new Set<string>(); // error notices on standard error (scriptedSession prints them)
  const off = c.on((e) => {
    if (e.type === "notice" && e.level === "error") said.add(e.text);
    if (e.type === "message" && !e.message.pending) caught ? show(e.message) : early.push(e.message);
    if (e.type === "disconnected") {
      if (!c.reconnect) {
        const how = "(with the password in PARLEY_PASSWORD or --password-file, read --follow connects again)";
        end(new BackendError("connection_lost", `The connection was lost: ${e.reason} ${how}`));
      } else if (!reconnectsAfter(e, now())) {
        end(new (said.has(e.reason) ? SaidError : BackendError)(e.code, e.reason)); // a kick's notice said it
      } else if (e.code === "banned") io.err(`parley: ${e.reason}; following again once the ban ends`);
    }
    if (e.type !== "connection") return;
    if (e.state === "offline" && !offline) io.err("parley: The connection was lost; connecting again…");
    else if (e.state === "online" && offline) io.err("parley: Connected again");
    offline = e.state === "offline" ? true : e.state === "online" ? false : offline;
  });
  try {
    c.changes.purgeExpired(now());
    const first = await c.catchUp(); // the core follows the feed from here
    let before: ChatMessage[] = [...first.unseen];
    if (o.since !== undefined) { // concat, not push(...): a long history is one argument each
      const f = o.filter; // every page back to then (issue 68)
      if (f) {
        before = before.concat((await everyPage((q) => c.historyPage(f, q), { since: o.since })).messages);
      }
      before = before.concat(c.store?.list(c.user, o.since, o.filter) ?? []);
    }
    for (const m of before.sort((a, b) => a.seq - b.seq)) show(c.store?.get(m.seq) ?? m);
    caught = true;
    for (const m of early) show(m);
    const why = await stopOnInterrupt(() => end(), () => ended); // Ctrl-C, SIGTERM or SIGHUP: done
    if (why) throw why;
  } finally {
    off();
  }
}
