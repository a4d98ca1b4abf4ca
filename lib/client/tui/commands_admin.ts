/**
 * The administrators' rows of the command table (`COMMANDS` in commands.ts includes them, in this
 * order): `/kick`, `/ban`, `/kicked`, `/grant`, `/revoke`, `/changegrant`. Handlers use the
 * backend's moderation capability (asked through `capability`); they never touch the terminal.
 */
import { type CommandContext, type CommandSpec, user } from "./command_context.ts";
import { durationText, KICK_USAGE, parseDuration, parseKick } from "../../common/parse_time.ts";
import { capability } from "../backend.ts";

/** Runs another row of this table (`/changegrant` prints what `/grant` or `/revoke` print). */
const run = (name: string, ctx: CommandContext, args: string[]) =>
  ADMIN_COMMANDS.find((c) => c.name === name)!.run(ctx, args);

/** What a user who typed the server's /kick may have meant (IRC's /kick takes someone out of a channel). */
const ROOM_KICK = "to take someone out of a room you administer: /room kick ROOM USER";

/** `/kick`, `/ban`, `/kicked`, `/grant`, `/revoke`, `/changegrant` (permission "admin"). */
export const ADMIN_COMMANDS: readonly CommandSpec[] = [
  {
    name: "kick",
    aliases: ["kickuser"],
    usage: KICK_USAGE,
    help:
      "Disconnect a user; with DURATION (600, 10m, 2h, 1d) also ban them that long; REASON is shown to them",
    permission: "admin",
    refusedHint: ROOM_KICK,
    run: async (ctx, args) => {
      const k = parseKick(args);
      await capability(ctx.backend, "moderation").kick(user(k.user), k.banSeconds, k.reason);
      // Typed in a room, it may have meant the room (IRC's /kick): say which it was.
      const where = ctx.target?.kind === "room" ? ` off the server (${ROOM_KICK})` : "";
      ctx.print(
        k.banSeconds
          ? `${user(k.user)} kicked and banned for ${durationText(k.banSeconds)}${where}`
          : `${user(k.user)} kicked${where}`,
      );
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
      ctx.print(`${user(k.user)} banned for ${durationText(k.banSeconds!)}`);
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
      const all = ctx.backend.remote ? await ctx.backend.remote.users() : null;
      const role = all ? all.find((x) => x.user === name)?.role : (await ctx.backend.whois(name))?.role;
      if (!role) {
        throw new Error(
          all ? `There is no user named ${name}` : `${name} is not online: use /grant or /revoke`,
        );
      }
      await run(role === "admin" ? "revoke" : "grant", ctx, [name]);
    },
  },
];
