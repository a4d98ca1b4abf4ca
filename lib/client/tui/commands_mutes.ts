/**
 * `/mute [#ROOM|@USER|*]`, `/unmute [#ROOM|@USER|*]` (Tab completes both; the @ may be left out),
 * `/muted`: conversations kept quiet in this client folder (`ChatBackend.local.mutes`,
 * session/local_mutes.ts): what arrives there still shows and counts as unread, but rings no bell,
 * raises no notification or highlight, is left out of "Act:" and Alt+A, and its buffer is drawn dim.
 * Without an argument the command acts on the buffer it is typed in ("*": the status buffer, where
 * broadcasts land); a room one is not in, or a user nobody is, is refused. The other way round,
 * `/highlight [TEXT]` (lists, or adds a word or phrase that makes a room line ring like one's name)
 * and `/unhighlight TEXT` (`ChatBackend.local.highlights`, session/local_highlights.ts).
 */
import { sanitizeName } from "../../common/sanitize.ts";
import type { CommandContext, CommandSpec } from "./command_context.ts";
import { targetText } from "./command_context.ts";
import type { MuteList, WordList } from "../backend.ts";
import { muteName } from "../session/local_mutes.ts";
import { highlightWord } from "../session/local_highlights.ts";

function mutes(ctx: CommandContext): MuteList {
  if (!ctx.backend.local) throw new Error("This client keeps no mute list (it needs a client folder)");
  return ctx.backend.local.mutes;
}

function highlights(ctx: CommandContext): WordList {
  if (!ctx.backend.local) {
    throw new Error("This client keeps no highlight words (it needs a client folder)");
  }
  return ctx.backend.local.highlights;
}

/** The conversation named (as the list names it), or the buffer's own. */
const named = (ctx: CommandContext, arg?: string) =>
  muteName(arg ?? (ctx.target ? targetText(ctx.target) : "*"));

/** Refuses a room one is not in (where rooms are listed) or a user nobody is (`whois`); "*" always exists. */
async function mustExist(ctx: CommandContext, conv: string): Promise<void> {
  if (conv === "*") return;
  if (!conv.startsWith("#")) return void await ctx.backend.whois(conv); // "no_such_user" otherwise
  const rooms = await ctx.backend.rooms?.list();
  if (rooms && !rooms.some((r) => `#${r.name}` === conv)) {
    throw new Error(`You are not in ${sanitizeName(conv)} (/rooms lists yours)`);
  }
}

/** "#dev", "bob", or "broadcasts" for "*". */
const said = (conv: string) => conv === "*" ? "broadcasts (the status buffer)" : sanitizeName(conv);

/** " (muted here: /unmute)" after what `/whois` says of `name` when their DM is muted here, else "". */
export async function mutedNote(ctx: CommandContext, name: string): Promise<string> {
  const list: string[] = await ctx.backend.local?.mutes.list().catch(() => []) ?? [];
  return list.includes(muteName(name)) ? " (muted here: /unmute)" : "";
}

export const MUTE_COMMANDS: readonly CommandSpec[] = [
  {
    name: "mute",
    usage: "[#ROOM|@USER|*]",
    help:
      "Keep a conversation quiet here (this one by default): no bell, notification or highlight; it still counts as unread",
    permission: "user",
    run: async (ctx, [arg]) => {
      const conv = named(ctx, arg);
      if (arg) await mustExist(ctx, conv); // a typo mutes nothing
      const before = await mutes(ctx).list();
      ctx.mutedChanged?.(await mutes(ctx).set(conv, true));
      if (before.includes(conv)) return ctx.print(`${said(conv)} is muted already (/muted lists them)`);
      ctx.print(
        `Muted ${said(conv)}: its messages arrive without a bell or highlight; /unmute ${conv} undoes it`,
      );
    },
  },
  {
    name: "unmute",
    usage: "[#ROOM|@USER|*]",
    help: "Let a muted conversation ring and highlight again (this one by default)",
    permission: "user",
    run: async (ctx, [arg]) => {
      const conv = named(ctx, arg);
      const before = await mutes(ctx).list();
      ctx.mutedChanged?.(await mutes(ctx).set(conv, false));
      ctx.print(
        before.includes(conv) ? `Unmuted ${said(conv)}` : `${said(conv)} is not muted (/muted lists them)`,
      );
    },
  },
  {
    name: "muted",
    usage: "",
    help: "List the conversations muted here",
    permission: "user",
    run: async (ctx) => {
      const list = await mutes(ctx).list();
      ctx.print(list.length ? `Muted here: ${list.map(said).join(", ")}` : "Nothing is muted here");
    },
  },
  {
    name: "highlight",
    aliases: ["hilight"],
    usage: "[TEXT]",
    help:
      "Make room lines holding TEXT (a word or phrase, any case) ring and highlight like your name; without TEXT, list them",
    permission: "user",
    run: async (ctx, [text]) => {
      const list = highlights(ctx);
      if (!text) {
        const now = await list.list();
        return ctx.print(
          now.length
            ? `Highlighted here: your name, ${
              now.map((w) => `"${w}"`).join(", ")
            } (/unhighlight TEXT removes one)`
            : "Only your name highlights here (/highlight TEXT adds a word or phrase)",
        );
      }
      const w = highlightWord(text);
      if (w === ctx.backend.user.toLowerCase()) return ctx.print("Your name always highlights");
      const before = await list.list();
      ctx.highlightsChanged?.(await list.set(w, true));
      ctx.print(
        before.includes(w)
          ? `"${w}" highlights already (/highlight lists them)`
          : `Room lines holding "${w}" now highlight here; /unhighlight ${w} undoes it`,
      );
    },
  },
  {
    name: "unhighlight",
    aliases: ["dehilight"],
    usage: "TEXT",
    help: "Stop highlighting room lines that hold TEXT (/highlight lists the words)",
    permission: "user",
    run: async (ctx, [text]) => {
      const list = highlights(ctx), w = highlightWord(text!);
      const before = await list.list();
      ctx.highlightsChanged?.(await list.set(w, false));
      ctx.print(
        before.includes(w)
          ? `"${w}" no longer highlights`
          : `"${w}" is not a highlight here (/highlight lists them)`,
      );
    },
  },
];
