/**
 * The peer script's `outbox` (issue 39; part of PEER_SCRIPT, cli/peer_script.ts): what waits for a
 * peer that is away, numbered as the full-screen client's `/outbox` numbers it (the node's core's
 * outbox listing, core/outbox.ts `outboxControls`: the one rule), and `outbox drop N`. Added lines of the fixed contract (peer.ts):
 *
 *   outbox N TIME message|change|file PEER waiting|failed TEXT
 *                             (`outbox`) one line per entry, oldest first: a text (failed: it can never
 *                             be sent), a queued edit, deletion, reaction or disappearing time, or a
 *                             file offer; TEXT on one line (the text, or what the change or file is)
 *   dropped N message|change|file PEER TEXT
 *                             (`outbox drop N`) entry N will not be sent: a text left the outbox, a
 *                             change its queue (it stays done here), a file offer was withdrawn
 */
import { BackendError, type OutboxEntry } from "../backend.ts";
import type { PeerNode } from "../peer/node.ts";
import { sanitize } from "../../common/sanitize.ts";
import { isoSeconds } from "../../common/parse_time.ts";
import type { ScriptCommand } from "./peer_changes.ts";

/** The word of an entry's kind. */
const kindWord = (e: OutboxEntry) => e.kind ?? "message";

/** The `outbox` line of entry `e`. */
export function outboxLine(e: OutboxEntry): string {
  const state = e.failed !== undefined ? "failed" : "waiting";
  return `outbox ${e.n} ${isoSeconds(e.ts)} ${kindWord(e)} ${e.to.name} ${state} ${sanitize(e.text)}`;
}

/** The rows of `outbox` and `outbox drop N`. */
export const OUTBOX_SCRIPT: readonly ScriptCommand[] = [
  {
    name: "outbox",
    usage: "[drop] [N]",
    help: 'list what waits for a peer ("outbox N TIME message|change|file PEER waiting|failed TEXT"); ' +
      'drop N: it will not be sent ("dropped N KIND PEER TEXT"; a file offer is withdrawn)',
    run: async (node: PeerNode, [verb, n], io) => {
      if (verb === undefined) {
        for (const e of await node.client.outbox.list()) io.out(outboxLine(e));
        return;
      }
      if (verb !== "drop" || !/^\d+$/.test(n ?? "")) {
        throw new BackendError("usage", "Usage: outbox [drop N]");
      }
      const e = await node.client.outbox.drop(Number(n));
      if (!e) throw new BackendError("no_entry", `There is nothing numbered ${n} in the outbox (see outbox)`);
      io.out(`dropped ${e.n} ${kindWord(e)} ${e.to.name} ${sanitize(e.text)}`);
    },
  },
];
