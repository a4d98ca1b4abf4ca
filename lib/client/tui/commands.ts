/**
 * The command table: one row per slash command with its arguments, help text, permission and
 * handler. Handlers never touch the terminal; they call the `ChatBackend` and print through the
 * `CommandContext` the app gives them. Argument counts and permissions are checked by `parse.ts`
 * from this table before a handler runs, so a handler can trust `args`.
 *
 * Usage strings: UPPER words are parameters, `[X]` is optional, a last `TEXT` or `X…` takes the rest
 * of the line. Rows by family live beside it (commands_rooms, commands_admin, commands_video,
 * commands_files, commands_changes, commands_status…); this table puts them in /help's order.
 */
import {
  type CommandContext,
  type CommandSpec,
  helpHang,
  needTarget,
  openQuery,
  presenceLine,
  targetText,
  user,
} from "./command_context.ts";
import { sanitize, sanitizeName } from "../../common/sanitize.ts";
import { parseSince } from "../../common/parse_time.ts";
import { everyPage, UNPAGED, unreadableLine } from "../core/history_pages.ts";
import { VIDEO_COMMANDS } from "./commands_video.ts";
import { FILE_COMMANDS } from "./commands_files.ts";
import { CHANGE_COMMANDS, ME } from "./commands_changes.ts";
import { SEARCH_COMMANDS } from "./commands_search.ts";
import { BLOCK_COMMANDS, blockedNote, refuseBlockedHere } from "./commands_blocks.ts";
import { leavingMessage, ROOM_COMMANDS, roomTarget } from "./commands_rooms.ts";
import { STATUS_COMMANDS } from "./commands_status.ts";
import { MUTE_COMMANDS, mutedNote } from "./commands_mutes.ts";
import { saidBy } from "../core/action.ts";
import { ADMIN_COMMANDS } from "./commands_admin.ts";
import { othersWarning } from "../e2e/mod.ts";
import { droppedText } from "../core/outbox.ts";
import { agree, counted } from "../../common/words.ts";

export type { CommandContext, CommandSpec };
export { ago } from "./command_context.ts";

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "help",
    usage: "[COMMAND]",
    help: "List commands, or show how to use one",
    permission: "user",
    run: (ctx, [cmd]) => ctx.helpLines(cmd).forEach((l) => ctx.print(l, "info", helpHang(l, cmd))),
  },
  {
    name: "msg",
    aliases: ["messageto"],
    usage: "USER|#ROOM TEXT",
    help: "Send a private message (or a line to one of your rooms) without switching buffer",
    permission: "user",
    run: async (ctx, [u, text]) => {
      if (u!.startsWith("#")) return await ctx.send(await roomTarget(ctx, u!), text!); // IRC's /msg #channel
      await refuseBlockedHere(ctx, u!); // no empty buffer left for a message that cannot go
      const t = await openQuery(ctx, u!, false);
      await ctx.send(t, text!);
    },
  },
  {
    name: "query",
    usage: "USER [TEXT]",
    help: "Open a private conversation (and send TEXT)",
    permission: "user",
    run: async (ctx, [u, text]) => {
      if (text) await refuseBlockedHere(ctx, u!);
      const t = await openQuery(ctx, u!, true);
      if (text) await ctx.send(t, text);
    },
  },
  ME,
  ...ROOM_COMMANDS,
  {
    name: "who",
    aliases: ["viewusers"],
    usage: "",
    help: "Everyone online, with address and active since",
    permission: "user",
    run: async (ctx) => {
      const list = await ctx.backend.who();
      ctx.print(`${list.length} online:`);
      for (const p of list) ctx.print("  " + presenceLine(ctx, p));
    },
  },
  {
    name: "whois",
    usage: "USER",
    help: "Details about one user",
    permission: "user",
    run: async (ctx, [u]) => {
      const p = await ctx.backend.whois(user(u!));
      const notes = `${await blockedNote(ctx, user(u!))}${await mutedNote(ctx, user(u!))}`;
      ctx.print(`${p ? presenceLine(ctx, p, true) : `${user(u!)} is offline`}${notes}`);
    },
  },
  ...STATUS_COMMANDS,
  {
    name: "broadcast",
    usage: "TEXT",
    help: "Send a message to every user (those offline get it when they next connect)",
    permission: "user",
    run: (ctx, [text]) => ctx.send({ kind: "broadcast" }, text!),
  },
  {
    name: "history",
    usage: "[SINCE…]",
    help: "Load older messages of this conversation (SINCE: 2h, 3d, 2026-01-31, 1 Jun 2026 16:00)",
    permission: "user",
    run: async (ctx, [since]) => {
      const t = needTarget(ctx);
      const from = since ? parseSince(since, ctx.now()) : undefined;
      const b = ctx.backend, remote = b.remote;
      // SINCE: every page back to then from the server (issue 68); without it, the newest page.
      const all = from !== undefined && remote
        ? await everyPage((q) => remote.historyPage(t, q), { since: from })
        : null;
      const msgs = all ? all.messages : await b.history(t, from);
      const unread = unreadableLine(all?.unreadable ?? 0);
      if (unread) ctx.print(unread, "error");
      if (all?.unpaged) ctx.print(UNPAGED, "error");
      const fresh = await ctx.addMessages(msgs);
      if (!msgs.length) return ctx.print(since ? "No messages since then" : "No messages to load");
      const shown = msgs.length - fresh; // on screen already: not counted as loaded
      ctx.print(
        fresh === 0
          ? `Nothing more to load: ${
            shown === 1 ? "that message is" : `those ${shown} messages are`
          } shown already`
          : `${counted(fresh, "message")} loaded${shown ? ` (${shown} more shown already)` : ""}`,
      );
    },
  },
  ...SEARCH_COMMANDS,
  ...BLOCK_COMMANDS,
  ...MUTE_COMMANDS,
  {
    name: "inbox",
    usage: "[USER]",
    help: "Messages that arrived while you were offline",
    permission: "user",
    run: async (ctx, [u]) => {
      const who = u ? user(u) : undefined;
      const b = ctx.backend;
      const msgs = b.keys ? await b.keys.inbox(who) : who ? await b.history({ kind: "user", name: who }) : [];
      void ctx.addMessages(msgs);
      if (!msgs.length) return ctx.print("Inbox is empty");
      // One line a message, with its time (as the scripted inbox); the text on one line (issue 34.13).
      ctx.print(`Inbox: ${counted(msgs.length, "message")}`);
      for (const m of msgs) {
        const to = m.to.kind === "user" ? "" : ` → ${targetText(m.to)}`;
        ctx.print(`${ctx.formatTime(m.ts)} ${saidBy(`${m.from}${to}`, sanitize(m.text))}`);
      }
    },
  },
  {
    name: "outbox",
    usage: "[drop] [N]",
    help: "Your messages not sent yet (✗: can never be sent); drop N removes one",
    permission: "user",
    run: async (ctx, [verb, n]) => {
      const o = ctx.backend.outbox;
      if (!o) throw new Error("This client keeps no outbox");
      if (verb !== undefined) {
        if (verb !== "drop" || !/^\d+$/.test(n ?? "")) throw new Error("Usage: /outbox, or /outbox drop N");
        const e = await o.drop(Number(n));
        if (!e) throw new Error(`There is no message ${n} in the outbox (/outbox lists them)`);
        if (!e.kind) ctx.removeMessage?.(e.mid);
        return ctx.print(droppedText(e, targetText(e.to)));
      }
      const all = await o.list();
      if (!all.length) return ctx.print("The outbox is empty");
      for (const e of all) {
        const state = e.failed !== undefined ? `✗ failed: ${e.failed}` : "waiting";
        ctx.print(
          `${e.n}. ${ctx.formatTime(e.ts)} → ${targetText(e.to)}: ${
            sanitize(e.text).slice(0, 60)
          } (${state})`,
          e.failed !== undefined ? "error" : "info",
        );
      }
    },
  },
  ...ADMIN_COMMANDS,
  {
    name: "fingerprint",
    usage: "[USER]",
    help: "Show the safety number you share with a user (or your own key)",
    permission: "user",
    run: async (ctx, [u]) => {
      const f = await ctx.backend.fingerprint(u ? user(u) : undefined);
      const state = f.changed ? "KEY CHANGED — sending blocked" : f.verified ? "verified" : "not verified";
      ctx.print(`${f.user}: ${f.safetyNumber ?? "unknown"} (${state})`, f.changed ? "error" : "info");
      if (f.others) ctx.print(othersWarning(f.user, f.others, "/verify"), "error");
    },
  },
  {
    name: "verify",
    usage: "USER [NUMBER…]",
    help:
      "Mark a user's key as checked: the one whose safety number you compared (NUMBER, or the one /fingerprint showed)",
    permission: "user",
    run: async (ctx, [u, n]) => {
      const f = await ctx.backend.verify(user(u!), n || undefined);
      ctx.print(`Verified ${f.user}: ${f.safetyNumber ?? "unknown"}`);
    },
  },
  {
    name: "trust",
    usage: "USER [NUMBER…]",
    help: "Accept a user's changed key without verifying it (sending resumes)",
    permission: "user",
    run: async (ctx, [u, n]) => {
      if (!ctx.backend.keys) throw new Error("This client has no end-to-end keys");
      const f = await ctx.backend.keys.trust(user(u!), n || undefined);
      ctx.print(`Trusted ${f.user}: ${f.safetyNumber ?? "unknown"} (not verified)`);
    },
  },
  ...VIDEO_COMMANDS,
  ...FILE_COMMANDS,
  ...CHANGE_COMMANDS,
  {
    name: "info",
    usage: "",
    help: "This client: server, user, device, connection, queues, versions",
    permission: "user",
    run: (ctx) => {
      const rows = ctx.backend.feed?.info() ?? [["server", ctx.backend.server], ["user", ctx.backend.user]];
      const w = Math.max(...rows.map(([k]) => k.length));
      for (const [k, v] of rows) ctx.print(`${k.padEnd(w)}  ${v}`);
    },
  },
  {
    name: "reconnect",
    aliases: ["restart"],
    usage: "",
    help: "Connect to the server again now (after a kick, a ban or a lost connection)",
    permission: "user",
    run: (ctx) => {
      if (!ctx.backend.remote) throw new Error("This client cannot reconnect");
      ctx.backend.remote.reconnectNow();
      ctx.print("Reconnecting…");
    },
  },
  {
    name: "quit",
    aliases: ["exit", "disconnect"],
    usage: "[TEXT]",
    help:
      "Leave Parley (warns once when messages are not sent yet or files are under way); with TEXT, say it to your rooms first, end to end, as IRC's quit message",
    permission: "user",
    run: async (ctx, [text]) => {
      if (text !== undefined) await quitMessage(ctx, text);
      const n = ctx.backend.outbox?.count() ?? 0;
      const moving = (await ctx.backend.files?.list().catch(() => []) ?? [])
        .filter((e) => e.state === "sending" || e.state === "receiving")
        .map((e) => `${sanitize(e.name)} ${e.direction === "out" ? "to" : "from"} ${sanitizeName(e.peer)}`);
      if ((n > 0 || moving.length) && !ctx.quitWarned) {
        ctx.quitWarned = true;
        const pending = n > 0
          ? `${await pendingWords(ctx, n)} not sent yet: they go out the next time Parley connects. `
          : "";
        const files = moving.length
          ? `Under way: ${moving.join(", ")}; it goes on the next time Parley runs. `
          : "";
        return ctx.print(`${pending}${files}/quit again to leave now`);
      }
      return ctx.quit();
    },
  },
];

/** `/quit TEXT`: said to each of my rooms first (commands_rooms.ts); offline, the next `/quit` leaves. */
async function quitMessage(ctx: CommandContext, text: string): Promise<void> {
  for (const r of await ctx.backend.rooms?.list() ?? []) {
    try {
      await leavingMessage(ctx, r.name, text, "Parley is still running (/quit alone leaves now)");
    } catch (e) {
      ctx.quitWarned = true;
      throw e;
    }
  }
}

/**
 * "3 messages are", or with what else waits for a peer that is away (peer mode lists queued changes and
 * file offers in its outbox, core/outbox.ts `outboxControls`): "1 message, 2 changes and 1 file offer are".
 */
async function pendingWords(ctx: CommandContext, n: number): Promise<string> {
  const entries = await ctx.backend.outbox?.list().catch(() => []) ?? [];
  const changes = entries.filter((e) => e.kind === "change").length;
  const files = entries.filter((e) => e.kind === "file").length;
  const texts = Math.max(0, n - changes - files);
  const parts = [
    ...(texts || (!changes && !files) ? [counted(texts, "message")] : []),
    ...(changes ? [counted(changes, "change")] : []),
    ...(files ? [counted(files, "file offer")] : []),
  ];
  const words = parts.length > 1 ? `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}` : parts[0]!;
  return `${words} ${agree(n, "is", "are")}`;
}
