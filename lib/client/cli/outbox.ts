/**
 * `parley outbox [--json]` and `parley outbox drop ID` (issue 34.1; part of the fixed contract of
 * lib/client/cli/main.ts): the full-screen client's outbox in this client folder — messages waiting to be
 * sent at the next connect, and those the server can never take (too long, malformed), which are
 * never sent again and stay until dropped. One line an entry: `ID TIME TARGET waiting|failed TEXT`
 * (the text on one line); `--json` adds why an entry failed.
 */
import type { Command } from "commander";
import { safeJson, sanitize } from "../../common/sanitize.ts";
import { BackendError } from "../backend.ts";
import type { CliIo, WithClient } from "./io.ts";
import { formatTarget } from "./io.ts";
import type { LocalStore } from "../session/local_store.ts";
import { isoSeconds } from "../../common/parse_time.ts";

export function registerOutboxCommand(program: Command, io: CliIo, withClient: WithClient): void {
  program.command("outbox")
    .description(
      "the full-screen client's messages not sent yet (waiting, or failed for good); drop ID removes one",
    )
    .argument("[drop]", "drop: remove message ID from the outbox (it is never sent)")
    .argument("[id]", "the message's ID, as listed")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  parley outbox\n  parley outbox --json\n  parley outbox drop 3")
    .action(withClient((c, o, a) => {
      if (a.length) return drop(c.store, a);
      const all = c.outgoing?.list() ?? []; // a change queued offline says what it does
      const state = (f?: string) => f === undefined ? "waiting" : "failed";
      if (o.json) {
        return io.out(safeJson(all.map((e) => ({
          id: e.n,
          mid: e.mid,
          time: isoSeconds(e.ts),
          to: formatTarget(e.to),
          state: state(e.failed),
          ...(e.failed !== undefined ? { reason: e.failed } : {}),
          text: e.text,
        }))));
      }
      if (!all.length) return io.err("The outbox is empty");
      for (const e of all) {
        io.out(`${e.n} ${isoSeconds(e.ts)} ${formatTarget(e.to)} ${state(e.failed)} ${sanitize(e.text)}`);
      }
    }));

  function drop(store: LocalStore | null, [verb, id = ""]: string[]): void {
    if (verb !== "drop" || !/^\d+$/.test(id)) {
      throw new BackendError("usage", "Say which message: parley outbox drop ID (see parley outbox)");
    }
    const e = store?.dropOutbox(Number(id));
    if (!e) throw new BackendError("no_such_message", `There is no message ${id} in the outbox`);
    io.out(`Dropped ${e.n} to ${formatTarget(e.to)}: it will not be sent`);
  }
}
