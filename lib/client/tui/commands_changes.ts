/**
 * `/me TEXT` (`ME`: an action, "* alice TEXT", core/action.ts) and the message-change rows of the
 * command table (issue 39; `COMMANDS` in commands.ts includes them):
 * `/reply TEXT` answers the last message of the others in this buffer, `/edit TEXT` and `/delete`
 * change one's own last message, `/react EMOJI` toggles a reaction on the last message of the
 * others, `/expire TIME|off` sets disappearing messages for the conversation. With a message
 * selected (selection mode, select.ts: its keys run these commands) they act on that one instead;
 * only one's own can be edited, deleting another's is the backend's call (room admins). Handlers
 * use the backend's `changes` capability (`changeMessage`, `react`, `setExpiry`); the lines change in place when
 * the backend announces the change.
 */
import type { ChangeControls } from "../backend.ts";
import { type CommandContext, type CommandSpec, needTarget } from "./command_context.ts";
import { asAction } from "../core/action.ts";
import { convertEmoji } from "../core/emoji.ts";
import { durationText, parseDuration } from "../../common/parse_time.ts";

/** The message acted on: the selected one, else the last one (one's own with `own`). */
function last(ctx: CommandContext, own: boolean, onlyOwn = false) {
  if (!ctx.target) throw new Error("Open a conversation first");
  const sel = ctx.selectedMessage?.();
  if (sel?.mid) {
    if (onlyOwn && sel.kind !== "own") throw new Error("You can edit only your own messages");
    return sel.mid;
  }
  const l = ctx.lastMessage?.(own);
  if (!l?.mid) {
    throw new Error(own ? "You have sent nothing here yet" : "There is no message of someone else here yet");
  }
  return l.mid;
}

function changes(ctx: CommandContext): ChangeControls {
  const c = ctx.backend.changes;
  if (!c) throw new Error("This conversation cannot change messages (no end-to-end keys)");
  return c;
}

/** `/me TEXT`: an action in this conversation, shown "* alice TEXT" (core/action.ts). */
export const ME: CommandSpec = {
  name: "me",
  usage: "TEXT",
  help: "Say what you are doing here: everyone sees * YOURNAME TEXT (as /me on IRC)",
  permission: "user",
  run: async (ctx, [text]) => await ctx.send(needTarget(ctx), asAction(text!)),
};

export const CHANGE_COMMANDS: readonly CommandSpec[] = [
  {
    name: "expire",
    usage: "[TIME|off]",
    help:
      "Messages here disappear everywhere TIME after they are sent (30s, 10m, 1d, 1w), or no longer (off); without TIME, how long now",
    permission: "user",
    run: async (ctx, [time]) => {
      if (!ctx.target || ctx.target.kind === "broadcast") {
        throw new Error("Open a conversation or a room first");
      }
      const c = ctx.backend.changes;
      if (!c) throw new Error("This conversation cannot have disappearing messages (no end-to-end keys)");
      if (!time) {
        const s = await c.expiry(ctx.target);
        return ctx.print(
          s
            ? `Messages here disappear ${durationText(s)} after they are sent (/expire off keeps them)`
            : "Messages here do not disappear (/expire TIME makes them, e.g. /expire 1d)",
        );
      }
      const seconds = time === "off" ? 0 : parseDuration(time!) / 1000;
      if (time !== "off" && seconds < 1) {
        throw new Error("Messages can disappear after 1 second at the earliest");
      }
      void ctx.addMessages([await c.setExpiry(ctx.target, seconds)]);
    },
  },
  {
    name: "reply",
    usage: "TEXT",
    help: "Answer the selected message (Alt+S), else the last of the others here, quoting its first line",
    permission: "user",
    run: async (ctx, [text]) => {
      const ref = last(ctx, false);
      await ctx.send(ctx.target!, text!, ref);
    },
  },
  {
    name: "edit",
    usage: "TEXT",
    help:
      "Replace the text of your selected (Alt+S) or last message here (within 24 h); everyone sees it marked edited",
    permission: "user",
    run: async (ctx, [text]) => {
      await changes(ctx).changeMessage(last(ctx, true, true), {
        kind: "edit",
        text: ctx.settings?.outgoing(text!) ?? convertEmoji(text!),
      });
    },
  },
  {
    name: "delete",
    usage: "",
    help: "Delete your selected (Alt+S) or last message here for everyone",
    permission: "user",
    run: async (ctx) => {
      await changes(ctx).changeMessage(last(ctx, true), { kind: "delete" });
    },
  },
  {
    name: "react",
    usage: "EMOJI",
    help:
      "React to the selected message (Alt+S), else the last of the others here (:thumbsup: works); again to take it back",
    permission: "user",
    run: async (ctx, [raw]) => {
      const emoji = convertEmoji(raw!).trim();
      if (!emoji || /\s/.test(emoji) || [...emoji].length > 8) {
        throw new Error("Usage: /react EMOJI (one emoji)");
      }
      await changes(ctx).react(last(ctx, false), emoji);
    },
  },
];
