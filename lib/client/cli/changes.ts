/**
 * Scripted changes of messages already sent (issue 39; added to the fixed contract of cli/main.ts):
 * `edit MID TEXT…` and `delete MID` (one's own message), `react MID EMOJI` (toggles one's reaction;
 * :codes: are converted as in messages), `edits MID` (the earlier texts of an edited message),
 * `expire TARGET [TIME|off]` (disappearing messages in a conversation: `Messages to T now disappear
 * after TIME` / `Messages to T no longer disappear`; without TIME, since 0.19: `Messages to T
 * disappear after TIME` / `Messages to T do not disappear`). MID
 * is a message's id as `read --json` and `send --json` print it. One line each:
 * `Edited MID`, `Deleted MID`, `Reacted MID EMOJI` or `Unreacted MID EMOJI`; `edits`: `TIME TEXT`.
 */
import type { Command } from "commander";
import { sanitize } from "../../common/sanitize.ts";
import { durationText, isoSeconds, parseDuration } from "../../common/parse_time.ts";
import { withoutHash } from "../../protocol/names.ts";
import { BackendError, type Target } from "../backend.ts";
import { type CliIo, formatTarget, type WithClient } from "./io.ts";

const MID_RE = /^[A-Za-z0-9_-]{8,64}$/;

function mid(raw: string | undefined): string {
  if (!raw || !MID_RE.test(raw)) {
    throw new BackendError(
      "usage",
      "Say which message by its id (parley read --json shows each message's id)",
    );
  }
  return raw;
}

/** Registers `edit`, `delete`, `react`, `expire` and `edits` on the program, in this order. */
export function registerChangeCommands(program: Command, io: CliIo, withClient: WithClient): void {
  program.command("edit").description(
    "edit your own message (within 24 hours); everyone sees it marked edited",
  )
    .argument("<id>", "the message's id (read --json, send --json)")
    .argument("<text...>", "the new text")
    .option("--raw", "the text exactly as typed (no emoji conversion)")
    .addHelpText("after", "\nExamples:\n  parley edit 3kq0aZ8mXb1c 'fixed the typo'")
    .action(withClient(async (c, o, [id, ...words]) => {
      const typed = words.join(" ");
      if (!typed.trim()) {
        throw new BackendError("usage", "There is no new text (to take a message back: parley delete ID)");
      }
      const text = o.raw ? typed : (await import("../core/emoji.ts")).convertEmoji(typed);
      await c.changes.changeMessage(mid(id), { kind: "edit", text });
      io.out(`Edited ${id}`);
    }));

  program.command("delete").description(
    "delete your own message for everyone: its text is removed everywhere",
  )
    .argument("<id>", "the message's id (read --json, send --json)")
    .addHelpText("after", "\nExamples:\n  parley delete 3kq0aZ8mXb1c")
    .action(withClient(async (c, _o, [id]) => {
      await c.changes.changeMessage(mid(id), { kind: "delete" });
      io.out(`Deleted ${id}`);
    }));

  program.command("react").description(
    "react to a message with an emoji; the same reaction again takes it back",
  )
    .argument("<id>", "the message's id (read --json)")
    .argument("<emoji>", "an emoji or a :code: such as :thumbsup:")
    .addHelpText("after", "\nExamples:\n  parley react 3kq0aZ8mXb1c :thumbsup:")
    .action(withClient(async (c, _o, [id, raw]) => {
      const emoji = (await import("../core/emoji.ts")).convertEmoji(String(raw ?? "")).trim();
      if (!emoji || [...emoji].length > 8 || /\s/.test(emoji)) {
        throw new BackendError("usage", `"${sanitize(String(raw ?? ""))}" is not one emoji (try :thumbsup:)`);
      }
      const m = await c.changes.react(mid(id), emoji);
      const on = m.reactions?.[emoji]?.includes(c.user) ?? false;
      io.out(`${on ? "Reacted" : "Unreacted"} ${id} ${emoji}`);
    }));
  registerExpireEdits(program, io, withClient);
}

/** `expire TARGET [TIME|off]` (without TIME: how long now, added in 0.19), `edits MID`. */
function registerExpireEdits(program: Command, io: CliIo, withClient: WithClient): void {
  program.command("expire")
    .description("make messages in a conversation disappear everywhere after a time (off: keep them)")
    .argument("<target>", "USER or '#ROOM'")
    .argument("[time]", "30s, 10m, 2h, 1d, 1w, or off; without it, how long now")
    .addHelpText(
      "after",
      "\nExamples:\n  parley expire bob 1d\n  parley expire '#dev' off\n  parley expire '#dev'",
    )
    .action(withClient(async (c, _o, [t, time]) => {
      const target: Target = t!.startsWith("#")
        ? { kind: "room", name: withoutHash(t!) }
        : { kind: "user", name: t! };
      if (time === undefined) {
        await c.sync(); // a time set meanwhile arrives with the queue
        const s = await c.changes.expiry(target);
        return io.out(
          s
            ? `Messages to ${formatTarget(target)} disappear after ${durationText(s)}`
            : `Messages to ${formatTarget(target)} do not disappear`,
        );
      }
      let seconds = 0;
      if (time !== "off") {
        try {
          seconds = parseDuration(String(time)) / 1000;
        } catch (e) {
          throw new BackendError("usage", (e as Error).message);
        }
        if (seconds < 1) {
          throw new BackendError("usage", "Messages can disappear after 1 second at the earliest");
        }
      }
      await c.changes.setExpiry(target, seconds);
      io.out(
        seconds
          ? `Messages to ${formatTarget(target)} now disappear after ${durationText(seconds)}`
          : `Messages to ${formatTarget(target)} no longer disappear`,
      );
    }));

  program.command("edits").description("the earlier texts of an edited message, oldest first")
    .argument("<id>", "the message's id (read --json)")
    .addHelpText("after", "\nExamples:\n  parley edits 3kq0aZ8mXb1c")
    .action(withClient((c, _o, [id]) => {
      const m = c.store?.byMidAny(mid(id));
      if (!m) throw new BackendError("no_such_message", `There is no message ${id} in this client's history`);
      const list = c.store!.editsOf(m.seq);
      if (!list.length) return io.err("That message was never edited");
      for (const e of list) io.out(`${isoSeconds(e.at)} ${sanitize(e.text)}`);
    }));
}
