/**
 * `parley export [TARGET]` (issue 71.13; registered by cli/main.ts): a conversation's history as
 * plain text, for the logs WeeChat and irssi users keep. TARGET is a user or '#ROOM': every page the
 * server holds (core/history_pages.ts) with what this folder keeps; without TARGET, every conversation
 * this folder keeps. `--since TIME` (lib/common/parse_time.ts's grammar), `--format text|json` (text:
 * `read`'s lines, io.ts `formatMessage`; json: `read --json`'s objects, message_filters.ts). The
 * messages go to `out`, oldest first, with what waited in the queue (not acknowledged: `read` still
 * shows it); `err` says first that what is written is not encrypted, and how many messages this
 * folder's keys could not open.
 */
import type { Command } from "commander";
import { BackendError, type ChatMessage, type Target } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { everyPage, unreadableLine } from "../core/history_pages.ts";
import { safeJson } from "../../common/sanitize.ts";
import { systemClock } from "../../common/clock.ts";
import { normalizeName, withoutHash } from "../../protocol/names.ts";
import { type CliIo, formatMessage, type WithClient } from "./io.ts";
import { matches, messageJson, sinceFlag } from "./message_filters.ts";

/** Said on `err` before anything is written: the export leaves the end-to-end encryption behind. */
export const EXPORT_WARNING =
  "parley: warning: the export is not encrypted: anyone who can read where it goes can read these messages";

/** TARGET as a conversation: '#ROOM' or USER (the one name rule), or a usage error. */
function exportTarget(raw: string): Target {
  const room = raw.startsWith("#");
  const name = normalizeName(room ? withoutHash(raw) : raw.replace(/^@/, ""));
  if (!name) throw new BackendError("usage", `"${raw}" names no conversation: give a USER or '#ROOM'`);
  return room ? { kind: "room", name } : { kind: "user", name };
}

/** Registers `export`. */
export function registerExportCommand(program: Command, io: CliIo, withClient: WithClient): void {
  program.command("export").description("write a conversation's history as plain text (not encrypted)")
    .argument(
      "[target]",
      "USER or '#ROOM' (every page on the server too); none: every conversation kept here",
    )
    .option("--since <time>", "only messages since this time (2h, 3d, 2026-01-31, '1 Jun 2026 16:00')")
    .option("--format <format>", "text (read's lines) or json (read --json's objects)", "text")
    .addHelpText(
      "after",
      "\nExamples:\n  parley export bob > bob.log\n  parley export '#dev' --since 7d\n  parley export --format json > all.json",
    )
    .action(withClient((c, o, args) => exportHistory(io, c, o, args[0])));
}

/** `export`: the messages of `raw`'s conversation (or of every one kept here) since `--since`, oldest first. */
async function exportHistory(io: CliIo, c: ChatClient, o: Record<string, unknown>, raw?: string) {
  const format = String(o.format ?? "text");
  if (format !== "text" && format !== "json") {
    throw new BackendError("usage", `--format takes text or json, not "${format}"`);
  }
  const now = (io.now ?? systemClock.now)();
  const since = sinceFlag(o.since as string | undefined, now);
  const target = raw === undefined ? undefined : exportTarget(raw);
  io.err(EXPORT_WARNING);
  c.changes.purgeExpired(now); // disappearing messages whose time is up are not written out
  // The queue first (keys and changes that wait open what follows); not acknowledged: `read` still shows it.
  const queued = await c.sync();
  const seen = new Map<number, ChatMessage>();
  for (const m of queued) if (matches(c.user, m, target)) seen.set(m.seq, m);
  if (target) {
    const got = await everyPage((q) => c.remote.historyPage(target, q), since === undefined ? {} : { since });
    for (const m of got.messages) seen.set(m.seq, m);
    const unread = unreadableLine(got.unreadable);
    if (unread) io.err(`parley: ${unread}`);
  }
  for (const m of c.store?.list(c.user, since ?? 0, target) ?? []) seen.set(m.seq, m);
  const store = c.store;
  const out = [...seen.values()].filter((m) => since === undefined || m.ts >= since)
    .sort((a, b) => a.seq - b.seq).map((m) => store?.get(m.seq) ?? m)
    .filter((m) => m.expires === undefined || m.expires > now);
  if (format === "json") io.out(safeJson(out.map(messageJson)));
  else if (!out.length) io.err("No messages");
  else for (const m of out) io.out(formatMessage(m));
}
