/**
 * The command table: one row per slash command with its arguments, help text, permission and
 * handler. Handlers never touch the terminal; they call the `ChatBackend` and print through the
 * `CommandContext` the app gives them. Argument counts and permissions are checked by `parse.ts`
 * from this table before a handler runs, so a handler can trust `args`.
 *
 * Usage strings: UPPER words are parameters, `[X]` is optional, a last `TEXT` or `X…` takes the rest
 * of the line.
 */
import {
  type CommandContext,
  type CommandSpec,
  needRoom,
  needTarget,
  openQuery,
  presenceLine,
  targetText,
  user,
} from "./command_context.ts";
import { sanitize } from "../../common/sanitize.ts";
import { KICK_USAGE, parseDuration, parseKick, parseSince } from "../../common/parse_time.ts";
import { VIDEO_COMMANDS } from "./commands_video.ts";
import { refuseTwinRoom } from "../core/room_twin.ts";
import { FILE_COMMANDS } from "./commands_files.ts";
import { CHANGE_COMMANDS } from "./commands_changes.ts";
import { othersWarning } from "../e2e/mod.ts";
import { withoutHash } from "../../protocol/names.ts";
import { capability } from "../backend.ts";

export type { CommandContext, CommandSpec };
export { ago } from "./command_context.ts";

/** Runs another row of the table (`/changegrant` prints what `/grant` or `/revoke` print). */
const run = (name: string, ctx: CommandContext, args: string[]) =>
  COMMANDS.find((c) => c.name === name)!.run(ctx, args);

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "help",
    usage: "[COMMAND]",
    help: "List commands, or show how to use one",
    permission: "user",
    run: (ctx, [cmd]) => ctx.helpLines(cmd).forEach((l) => ctx.print(l)),
  },
  {
    name: "msg",
    aliases: ["messageto"],
    usage: "USER TEXT",
    help: "Send a private message without switching buffer",
    permission: "user",
    run: async (ctx, [u, text]) => {
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
      const t = await openQuery(ctx, u!, true);
      if (text) await ctx.send(t, text);
    },
  },
  {
    name: "join",
    usage: "#ROOM",
    help: "Join a room you belong to and switch to it",
    permission: "user",
    run: async (ctx, [r]) => {
      const name = withoutHash(r!);
      const rooms = capability(ctx.backend, "rooms");
      if (rooms.join) await rooms.join(name);
      else if (!(await rooms.list()).some((x) => x.name === name)) {
        throw new Error(`You are not a member of #${name}; ask a member to /invite you`);
      }
      ctx.open({ kind: "room", name }, true);
    },
  },
  {
    name: "part",
    aliases: ["leave", "close"],
    usage: "[#ROOM]",
    help: "Leave a room (or close a private conversation)",
    permission: "user",
    run: async (ctx, [r]) => {
      if (!r && ctx.target?.kind === "user") return ctx.closeCurrent();
      const name = needRoom(ctx, r);
      await capability(ctx.backend, "rooms").leave(name);
      if (!r || ctx.target?.name === name) ctx.closeCurrent();
    },
  },
  {
    name: "room",
    usage: "create|kick NAME USER…",
    help:
      "Create a room with the given members (add --new when a room for the same people exists), or remove one member (room admins; the room's keys change)",
    permission: "user",
    run: async (ctx, [sub, name, rest]) => {
      const words = rest!.split(/\s+/).filter(Boolean);
      const members = words.filter((w) => w !== "--new").map(user);
      const rooms = capability(ctx.backend, "rooms");
      if (sub === "kick") {
        if (members.length !== 1) throw new Error("Usage: /room kick NAME USER");
        await rooms.kick(withoutHash(name!), members[0]!);
        return ctx.print(`Removed ${members[0]} from #${withoutHash(name!)}`);
      }
      if (sub !== "create") throw new Error("Usage: /room create NAME USER… or /room kick NAME USER");
      if (!words.includes("--new")) {
        refuseTwinRoom(await rooms.list(), ctx.backend.user, members, "add --new");
      }
      const info = await rooms.create(withoutHash(name!), members);
      ctx.open({ kind: "room", name: info.name }, true);
      ctx.print(`Room #${info.name} created with ${info.members.join(", ")}`);
    },
  },
  {
    name: "invite",
    usage: "USER [#ROOM]",
    help: "Invite a user into the current room",
    permission: "user",
    run: async (ctx, [u, r]) => {
      const name = needRoom(ctx, r);
      await capability(ctx.backend, "rooms").invite(name, user(u!));
      ctx.print(`Invited ${user(u!)} to #${name}`);
    },
  },
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
      ctx.print(p ? presenceLine(ctx, p) : `${user(u!)} is offline`);
    },
  },
  {
    name: "busy",
    aliases: ["away"],
    usage: "",
    help: "Mark yourself busy: do not disturb (no bell or notification; messages still arrive)",
    permission: "user",
    run: async (ctx) => {
      await ctx.backend.setStatus("busy");
      ctx.setOwnStatus("busy");
      ctx.print("You are now busy");
    },
  },
  {
    name: "free",
    aliases: ["back"],
    usage: "",
    help: "Mark yourself free",
    permission: "user",
    run: async (ctx) => {
      await ctx.backend.setStatus("free");
      ctx.print("You are now free");
      ctx.setOwnStatus("free"); // then how many messages arrived while busy
    },
  },
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
      const msgs = await ctx.backend.history(t, from);
      ctx.addMessages(msgs);
      ctx.print(`${msgs.length} message${msgs.length === 1 ? "" : "s"} loaded`);
    },
  },
  {
    name: "inbox",
    usage: "[USER]",
    help: "Messages that arrived while you were offline",
    permission: "user",
    run: async (ctx, [u]) => {
      const who = u ? user(u) : undefined;
      const msgs = ctx.backend.inbox
        ? await ctx.backend.inbox(who)
        : who
        ? await ctx.backend.history({ kind: "user", name: who })
        : [];
      ctx.addMessages(msgs);
      if (!msgs.length) return ctx.print("Inbox is empty");
      // One line a message, with its time (as the scripted inbox); the text on one line (issue 34.13).
      ctx.print(`Inbox: ${msgs.length} message${msgs.length === 1 ? "" : "s"}`);
      for (const m of msgs) {
        const to = m.to.kind === "user" ? "" : ` → ${targetText(m.to)}`;
        ctx.print(`${ctx.formatTime(m.ts)} ${m.from}${to}: ${sanitize(m.text)}`);
      }
    },
  },
  {
    name: "outbox",
    usage: "[drop] [N]",
    help: "Your messages not sent yet (✗: can never be sent); drop N removes one",
    permission: "user",
    run: async (ctx, [verb, n]) => {
      const b = ctx.backend;
      if (!b.outbox || !b.dropOutbox) throw new Error("This client keeps no outbox");
      if (verb !== undefined) {
        if (verb !== "drop" || !/^\d+$/.test(n ?? "")) throw new Error("Usage: /outbox, or /outbox drop N");
        const e = await b.dropOutbox(Number(n));
        if (!e) throw new Error(`There is no message ${n} in the outbox (/outbox lists them)`);
        ctx.removeMessage?.(e.mid);
        return ctx.print(`Dropped message ${e.n} to ${targetText(e.to)}: it will not be sent`);
      }
      const all = await b.outbox();
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
  {
    name: "kick",
    aliases: ["kickuser"],
    usage: KICK_USAGE,
    help:
      "Disconnect a user; with DURATION (600, 10m, 2h, 1d) also ban them that long; REASON is shown to them",
    permission: "admin",
    run: async (ctx, args) => {
      const k = parseKick(args);
      await capability(ctx.backend, "moderation").kick(user(k.user), k.banSeconds, k.reason);
      ctx.print(k.banSeconds ? `${user(k.user)} kicked and banned for ${args[1]}` : `${user(k.user)} kicked`);
    },
  },
  {
    name: "ban",
    usage: "USER DURATION [REASON…]",
    help: "Kick a user and ban them for DURATION (600, 10m, 2h, 1d); REASON is shown to them",
    permission: "admin",
    run: async (ctx, args) => {
      parseDuration(args[1]!); // a ban needs its duration: "10m", not a reason
      const k = parseKick(args);
      await capability(ctx.backend, "moderation").kick(user(k.user), k.banSeconds, k.reason);
      ctx.print(`${user(k.user)} banned for ${args[1]}`);
    },
  },
  {
    name: "kicked",
    aliases: ["viewkickusers"],
    usage: "",
    help: "List kicked and banned users",
    permission: "admin",
    run: async (ctx) => {
      const list = await capability(ctx.backend, "moderation").kicked();
      if (!list.length) return ctx.print("Nobody is kicked or banned");
      for (const k of list) {
        const ban = k.bannedUntil ? `banned until ${ctx.formatTime(k.bannedUntil)}` : "kicked";
        ctx.print(
          `${k.user} — ${ban} by ${k.by} at ${ctx.formatTime(k.at)}${k.reason ? ` (${k.reason})` : ""}`,
        );
      }
    },
  },
  {
    name: "grant",
    usage: "USER",
    help: "Make a user an admin",
    permission: "admin",
    run: async (ctx, [u]) => {
      await capability(ctx.backend, "moderation").grant(user(u!));
      ctx.print(`${user(u!)} is now an admin`);
    },
  },
  {
    name: "revoke",
    usage: "USER",
    help: "Remove a user's admin rights",
    permission: "admin",
    run: async (ctx, [u]) => {
      await capability(ctx.backend, "moderation").revoke(user(u!));
      ctx.print(`${user(u!)} is no longer an admin`);
    },
  },
  {
    name: "changegrant",
    usage: "USER",
    help: "Make a user an admin, or take their admin rights when they have them",
    permission: "admin",
    run: async (ctx, [u]) => {
      const name = user(u!);
      const all = ctx.backend.users ? await ctx.backend.users() : null;
      const role = all ? all.find((x) => x.user === name)?.role : (await ctx.backend.whois(name))?.role;
      if (!role) {
        throw new Error(
          all ? `There is no user named ${name}` : `${name} is not online: use /grant or /revoke`,
        );
      }
      await run(role === "admin" ? "revoke" : "grant", ctx, [name]);
    },
  },
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
      if (!ctx.backend.trust) throw new Error("This client has no end-to-end keys");
      const f = await ctx.backend.trust(user(u!), n || undefined);
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
      const rows = ctx.backend.info?.() ?? [["server", ctx.backend.server], ["user", ctx.backend.user]];
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
      if (!ctx.backend.reconnectNow) throw new Error("This client cannot reconnect");
      ctx.backend.reconnectNow();
      ctx.print("Reconnecting…");
    },
  },
  {
    name: "quit",
    aliases: ["exit", "disconnect"],
    usage: "",
    help: "Leave Parley (warns once when messages are not sent yet)",
    permission: "user",
    run: (ctx) => {
      const n = ctx.backend.pendingCount?.() ?? 0;
      if (n > 0 && !ctx.quitWarned) {
        ctx.quitWarned = true;
        ctx.print(
          `${n} message${
            n === 1 ? " is" : "s are"
          } not sent yet: they go out the next time Parley connects. ` +
            "/quit again to leave now",
        );
        return;
      }
      return ctx.quit();
    },
  },
];
