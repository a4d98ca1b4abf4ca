/**
 * The scripted message commands (fixed contract, registered on the `parley` program by cli/main.ts,
 * in this order): `send TARGET TEXT…` (`--broadcast`, `--raw`, `--me`, `--reply-to ID`, `--json`; TEXT `-` or
 * `--lines`: standard input, send_stdin.ts), `read` (`--from`, `--room`, `--broadcast`, `--since`,
 * `--json`: prints what no client of this folder showed yet, then acknowledges it; `--follow`:
 * read_follow.ts; `--all`, `--before SEQ`: history page by page, read_pages.ts), `search WORDS…`
 * (the same filters, `--limit N`: what this folder keeps), `who [--json]`, `status busy|free`. Results go to `out`, "No new messages" to `err`; every line
 * through the program's one escaping rule (main.ts).
 */
import type { Command } from "commander";
import { asAction } from "../core/action.ts";
import { BackendError, type ChatMessage, type Target } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { safeJson } from "../../common/sanitize.ts";
import { withoutHash } from "../../protocol/names.ts";
import { isoSeconds } from "../../common/parse_time.ts";
import { systemClock } from "../../common/clock.ts";
import { type CliIo, formatMessage, formatTarget, type WithClient } from "./io.ts";
import { sendKeptOnce, sendLines, stdinLines, wholeText } from "./send_stdin.ts";
import { filterFlags, matches, messageJson, sinceFlag } from "./message_filters.ts";
import { pagesAsked, readPages } from "./read_pages.ts";
import { everyPage } from "../core/history_pages.ts";
import type { ConnectFlags } from "../start/session_setup.ts";

type Opts = Record<string, unknown>;

/** Registers `send`, `read`, `search`, `who` and `status` on the program. */
export function registerMessageCommands(program: Command, io: CliIo, withClient: WithClient): void {
  program.command("send").description("send a message to a user, a #room, or everyone (--broadcast)")
    .argument("[target-and-text...]", "TARGET TEXT…, or TEXT… with --broadcast; TEXT - reads standard input")
    .option("--broadcast", "send to everyone")
    .option("--lines", "send each line of standard input as its own message, as it arrives (TEXT: - or none)")
    .option("--raw", "send the text exactly as typed (no emoji conversion)")
    .option("--me", "send it as an action: shown as * YOURNAME TEXT (as /me)")
    .option("--reply-to <id>", "answer the message with this id (read --json shows ids)")
    .option("--json", "print the sent message's id, seq and time as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  parley send bob 'hello there'\n  parley send '#dev' build is green\n  parley send --broadcast server restarts at noon\n  parley send bob 'ship it :rocket: :-)'\n  parley send '#dev' --me is deploying\n  parley send --reply-to 3kq0aZ8mXb1c bob 'yes, at noon'\n  git log -3 | parley send bob -\n  tail -f app.log | parley send '#ops' --lines",
    )
    .action(withClient((c, o, args) => sendMessage(io, c, o, args)));

  program.command("read").description("print new messages and acknowledge them")
    .option("--from <user>", "only direct messages with USER")
    .option("--room <room>", "only messages in ROOM")
    .option("--broadcast", "only broadcasts")
    .option(
      "--since <time>",
      "also print history since this time (2h, 3d, 2026-01-31, 2026-01-31T12:00:00Z, '1 Jun 2026 16:00')",
    )
    .option("--json", "print JSON (with --follow: one object a line)")
    .option("--follow", "then print every message as it arrives, until Ctrl-C (a script's input)")
    .option("--others", "only messages others sent (a bot that answers does not read its own lines)")
    .option("--all", "print the conversation's whole history on the server, page by page, oldest first")
    .option("--before <seq>", "print the page of history before this seq (read --json shows seqs)")
    .addHelpText(
      "after",
      "\nExamples:\n  parley read\n  parley read --room dev --since 2026-01-31T00:00:00Z --json\n  parley read --follow --room ops --json --others\n  parley read --from bob --all\n  parley read --room dev --before 5120 --json",
    )
    .action(withClient((c, o) => readMessages(io, c, o)));

  program.command("search").description("find messages kept in this folder whose text holds every word")
    .argument("<words...>", "words that must all appear, each at the start of a word (any case, any order)")
    .option("--from <user>", "only direct messages with USER")
    .option("--room <room>", "only messages in ROOM")
    .option("--broadcast", "only broadcasts")
    .option(
      "--since <time>",
      "only messages since this time (with --from or --room, loaded from the server too)",
    )
    .option("--limit <n>", "print at most the newest N matches (default 100)")
    .option("--json", "print JSON, as read --json does")
    .addHelpText(
      "after",
      "\nExamples:\n  parley search deploy friday\n  parley search --room ops --since 7d 'disk full'",
    )
    .action(withClient((c, o, args) => searchMessages(io, c, o, args)));

  program.command("who").description("who is online, from where, since when").option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  parley who\n  parley who --json")
    .action(withClient(async (c, o) => {
      const list = await c.who();
      if (o.json) return io.out(safeJson(list));
      for (const p of list) {
        io.out(
          `${p.user.padEnd(16)} ${p.status.padEnd(4)} ${(p.addr || "-").padEnd(22)} active since ${
            isoSeconds(p.since)
          }${p.role === "admin" ? " admin" : ""}${p.node ? ` node ${p.node}` : ""}`,
        );
      }
    }));

  program.command("status").description("set your status").argument("<busy|free>")
    .addHelpText("after", "\nExamples:\n  parley status busy\n  parley status free")
    .action(withClient(async (c, _o, args) => {
      const s = args[0];
      if (s !== "busy" && s !== "free") throw new BackendError("usage", `Status is busy or free, not "${s}"`);
      await c.setStatus(s);
      io.out(`Status: ${s}`);
    }));
}

/** `send`: one message to a user, a room or everyone; prints where and when (or JSON). */
async function sendMessage(io: CliIo, c: ChatClient, o: Opts, args: string[]): Promise<void> {
  let target: Target, words: string[];
  if (o.broadcast) [target, words] = [{ kind: "broadcast" }, args];
  else {
    const [t, ...rest] = args;
    if (!t) {
      throw new BackendError(
        "usage",
        "Say who to send to: send USER TEXT, send '#ROOM' TEXT or send --broadcast TEXT",
      );
    }
    target = t.startsWith("#") ? { kind: "room", name: withoutHash(t) } : { kind: "user", name: t };
    words = rest;
  }
  const stdin = (words.length === 1 && words[0] === "-") || (o.lines === true && !words.length);
  if (o.lines && !stdin) {
    throw new BackendError(
      "usage",
      "--lines sends the lines of standard input: give - (or no text) as the text",
    );
  }
  const re = o.replyTo === undefined ? undefined : String(o.replyTo);
  if (re !== undefined && !/^[A-Za-z0-9_-]{8,64}$/.test(re)) {
    throw new BackendError(
      "usage",
      "--reply-to takes a message's id (read --json shows each message's id)",
    );
  }
  if (re !== undefined && o.lines) {
    throw new BackendError("usage", "--reply-to answers with one message, not --lines");
  }
  // The same rule as the full-screen client; the emoji tables load only when a message is sent.
  const emoji = o.raw ? null : (await import("../core/emoji.ts")).convertEmoji;
  const act = o.me ? asAction : (s: string) => s; // --me: an action (core/action.ts)
  const convert = (s: string) => act(emoji ? emoji(s) : s);
  const said = (m: ChatMessage) =>
    io.out(
      o.json
        ? safeJson({ id: m.mid, seq: m.seq, time: isoSeconds(m.ts), to: formatTarget(m.to) })
        : `Sent to ${formatTarget(m.to)} at ${isoSeconds(m.ts)}`,
    );
  if (o.lines) {
    const refused = await sendLines(c, target, stdinLines(io), convert, said, io);
    if (!refused.length) return;
    const which = refused.length === 1 ? `line ${refused[0]} was` : `lines ${refused.join(", ")} were`;
    throw new BackendError("frame_too_large", `${which} not sent (see above); the others were`);
  }
  const typed = stdin ? await wholeText(stdinLines(io)) : words.join(" ");
  if (!typed) throw new BackendError("usage", "There is no text to send");
  said(await sendKeptOnce(c, target, convert(typed), re, (l) => io.err(l)));
}

/** `read`: what no client of this folder showed yet (and history since `--since`), then the acks. */
async function readMessages(io: CliIo, c: ChatClient, o: Opts): Promise<void> {
  const filter = filterFlags(o);
  const since = sinceFlag(o.since as string | undefined, (io.now ?? systemClock.now)());
  if (pagesAsked(o)) return await readPages(io, c, o, filter, since); // --all, --before: read_pages.ts
  if (o.follow) {
    // A lost connection is followed by a new one when the password needs no one to type it.
    const unattended = o.passwordFile !== undefined || io.env.get("PARLEY_PASSWORD") !== undefined;
    const flags = o as ConnectFlags;
    // The login's modules load only for --follow (cli/main.ts: no family loads its work eagerly).
    const { deviceProver, loginAgain } = await import("../start/login_again.ts");
    const { readFollow } = await import("./read_follow.ts"); // its terminal and reconnect modules: only here
    return await readFollow(io, c, {
      ...(filter ? { filter } : {}),
      ...(since !== undefined ? { since } : {}),
      json: o.json === true,
      others: o.others === true,
      reconnect: unattended
        ? () => loginAgain({ ...flags, user: c.user }, io.env, true, deviceProver(c))
        : null,
    });
  }
  c.changes.purgeExpired((io.now ?? systemClock.now)()); // disappearing messages whose time is up go first
  const queued = await c.sync();
  // New = never shown by any client on this folder: what the queue brought and the screen
  // did not show, plus what was saved while no one showed it (a client killed mid-way).
  const store = c.store;
  const news = new Map<number, ChatMessage>();
  for (const m of queued) if (!store?.isSeen(m.seq)) news.set(m.seq, m);
  for (const m of store?.unseen() ?? []) news.set(m.seq, m);
  const fresh = [...news.values()].filter((m) => matches(c.user, m, filter)).sort((a, b) => a.seq - b.seq);
  let shown = fresh;
  if (since !== undefined) {
    const seen = new Map<number, ChatMessage>();
    // Every page back to then (issue 68), not only the server's newest page.
    const pages = filter ? await everyPage((q) => c.remote.historyPage(filter, q), { since }) : null;
    for (const m of pages?.messages ?? []) seen.set(m.seq, m);
    for (const m of c.store?.list(c.user, since, filter) ?? []) seen.set(m.seq, m);
    for (const m of fresh) seen.set(m.seq, m);
    shown = [...seen.values()].filter((m) => m.ts >= since).sort((a, b) => a.seq - b.seq);
  }
  // Changes (edits, deletions, reactions) that arrived in the same sync apply to what is shown.
  const now = (io.now ?? systemClock.now)();
  shown = shown.map((m) => store?.get(m.seq) ?? m).filter((m) => m.expires === undefined || m.expires > now);
  if (o.others) shown = shown.filter((m) => m.from !== c.user); // acknowledged all the same, below
  c.changes.purgeExpired(now);
  // Nothing for --from or --room: a user or room that does not exist for this user (a typo) is said so,
  // by the server's refusal of its history (`--since` asked for it above already).
  if (!shown.length && filter && filter.kind !== "broadcast" && since === undefined) {
    await c.history(filter, now);
  }
  if (o.json) io.out(safeJson(shown.map(messageJson)));
  else if (shown.length === 0) io.err("No new messages");
  else for (const m of shown) io.out(formatMessage(m));
  store?.markSeen(shown.map((m) => m.seq));
  await c.ack(queued.filter((m) => matches(c.user, m, filter)));
}

/**
 * `search WORDS…`: the messages this folder keeps whose text holds every word (local_store_search.ts),
 * after saving what waits on the server (not acknowledged: `read` still shows it as new); with a
 * conversation and `--since`, its history on the server since then is loaded first. Oldest first, as
 * `read` prints; how much was searched goes to standard error.
 */
async function searchMessages(io: CliIo, c: ChatClient, o: Opts, words: string[]): Promise<void> {
  const text = words.join(" ");
  if (!text.trim()) throw new BackendError("usage", "Say what to look for: search WORDS…");
  const filter = filterFlags(o);
  const now = (io.now ?? systemClock.now)();
  const since = sinceFlag(o.since as string | undefined, now);
  const limit = o.limit === undefined ? 100 : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new BackendError("usage", `--limit takes a whole number from 1 to 10000, not "${o.limit}"`);
  }
  await c.sync();
  // Its history since then is saved first; without --since this only has a typo refused, as `read` does.
  if (filter && (since !== undefined || filter.kind !== "broadcast")) await c.history(filter, since ?? now);
  const q = { text, limit, ...(filter ? { filter } : {}), ...(since !== undefined ? { since } : {}) };
  // A client without a folder keeps none (the search's module loads here, not at every command's start).
  const r = c.local ? await c.local.search(q) : (await import("../session/local_store_search.ts")).NO_MATCHES;
  if (o.json) io.out(safeJson(r.matches.map(messageJson)));
  else for (const m of r.matches) io.out(formatMessage(m));
  const kept = `${r.searched} message${r.searched === 1 ? "" : "s"} kept in this folder${
    r.oldest === undefined ? "" : ` since ${isoSeconds(r.oldest)}`
  }`;
  if (!r.matches.length) io.err(`No message matches "${text}" (searched ${kept})`);
  else if (r.more) io.err(`The newest ${r.matches.length} matches are shown; --limit shows more`);
}
