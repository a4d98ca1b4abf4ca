/**
 * `/busy [REASON]`, `/away [REASON]` and `/free` (also `/back`): the status the server shows others
 * (busy: do not disturb here, no bell or notification; messages still arrive), and with a REASON the
 * away reason this client tells whoever writes to the user directly, once each, end to end
 * (`ChatBackend.away`, core/away.ts): the server never holds it. `/free` clears both. `/away` alone
 * is IRC's: back when busy, else busy. The table ends with commands_settings.ts's `/set`.
 */
import { sanitize } from "../../common/sanitize.ts";
import type { CommandSpec } from "./command_context.ts";
import { SET_COMMANDS } from "./commands_settings.ts";

/** Another row of this table (`/away` is `/busy` or `/free`). */
const row = (name: string): CommandSpec => STATUS_COMMANDS.find((c) => c.name === name)!;

export const STATUS_COMMANDS: readonly CommandSpec[] = [
  {
    name: "busy",
    usage: "[REASON…]",
    help:
      "Mark yourself busy: do not disturb (no bell or notification; messages still arrive); with REASON, " +
      "whoever writes to you directly is told it once, end to end",
    permission: "user",
    run: async (ctx, [reason]) => {
      const away = ctx.backend.away, why = reason?.trim() ?? "";
      if (why && !away) {
        throw new Error("This client cannot tell anyone an away reason here: /busy alone marks you busy");
      }
      const was = away?.reason ?? null;
      away?.set(why || null); // refuses a reason that cannot be one before anything changes
      try {
        await ctx.backend.setStatus("busy");
      } catch (e) {
        away?.set(was);
        throw e;
      }
      ctx.setOwnStatus("busy");
      ctx.print(
        why
          ? `You are now away: ${sanitize(why)} (whoever writes to you directly is told, once each)`
          : "You are now busy",
      );
    },
  },
  {
    name: "away",
    usage: "[REASON…]",
    help: "As on IRC: with REASON, /busy REASON; alone, back (/free) when you are busy, else /busy",
    permission: "user",
    run: async (ctx, args) => {
      if (!args[0]?.trim()) {
        const me = await ctx.backend.whois(ctx.backend.user).catch(() => null);
        if (me?.status === "busy") return await row("free").run(ctx, []); // irssi's and WeeChat's /away alone
      }
      await row("busy").run(ctx, args);
    },
  },
  {
    name: "free",
    aliases: ["back"],
    usage: "",
    help: "Mark yourself free (and forget the away reason)",
    permission: "user",
    run: async (ctx) => {
      await ctx.backend.setStatus("free");
      ctx.backend.away?.set(null);
      ctx.print("You are now free");
      ctx.setOwnStatus("free"); // then how many messages arrived while busy
    },
  },
  ...SET_COMMANDS, // /set (commands_settings.ts): /help lists it after the status rows
];
