/**
 * The peer script's rows for replies, edits, deletions, reactions and disappearing messages (issue
 * 39; part of PEER_SCRIPT, cli/peer_script.ts) and the event lines they bring. A script names a
 * message as the full-screen client does: `reply` and `react` take the last message PEER sent,
 * `edit` and `delete` the last one sent to PEER (a deleted one never counts). Added lines of the
 * fixed contract (peer.ts):
 *
 *   replied PEER QUOTE        after PEER's message line when it answers one: QUOTE is the first line
 *                             of the message it answers (at most 60 characters), or "an earlier message"
 *   edited PEER TEXT          PEER edited a message: its new text
 *   deleted PEER              PEER deleted a message of theirs (its text is gone here too)
 *   reacted|unreacted PEER EMOJI   PEER reacted to a message, or took the reaction back
 *   expired N                 N disappearing messages were deleted, their time up
 *   edits TIME TEXT           (`edits PEER`) an earlier text of the last edited message with PEER
 *
 * `inbox` shows a deleted message as "(message deleted)" and an edited one with " (edited)". The rows drive
 * the node's core, client mode's (peer/node.ts `client`, core/chat_client.ts), as the full-screen client does.
 */
import { BackendError, type BackendEvent, type ChatMessage, type Target } from "../backend.ts";
import type { CliIo } from "./io.ts";
import type { PeerNode } from "../peer/node.ts";
import { normalizeName } from "../../protocol/names.ts";
import { sanitize } from "../../common/sanitize.ts";
import { isoSeconds, parseDuration } from "../../common/parse_time.ts";

/** One row of the script table (PEER_SCRIPT). */
export interface ScriptCommand {
  name: string;
  aliases?: string[];
  usage: string;
  help: string;
  /** Runs the command; true ends the script. */
  run(node: PeerNode, args: string[], io: CliIo): unknown;
}

/** The emoji conversion, loaded when a command first needs it (its data is not read at every start). */
const emoji = async () => (await import("../core/emoji.ts")).convertEmoji;

/** The messages of the conversation with `peer`, oldest first. */
function conversation(node: PeerNode, peer: string): ChatMessage[] {
  const name = normalizeName(peer) ?? peer;
  return node.store.local.list(node.name, 0, { kind: "user", name });
}

/** The last message (not deleted) PEER sent (`mine`: I sent to PEER). */
function last(node: PeerNode, peer: string, mine: boolean): ChatMessage {
  const m = conversation(node, peer).findLast((m) => !m.deleted && (m.from === node.name) === mine);
  if (m) return m;
  throw new BackendError(
    "no_such_message",
    mine ? `You have sent ${peer} nothing yet` : `${peer} has sent you nothing yet`,
  );
}

/** The first line of `m` as a reply quotes it (at most 60 characters). */
export function quoteOf(m: ChatMessage | undefined): string {
  if (!m) return "an earlier message";
  if (m.deleted) return "(message deleted)";
  const first = sanitize(m.text.split("\n")[0]!);
  return first.length > 60 ? first.slice(0, 59) + "…" : first;
}

/**
 * The event lines of issue 39 (null: none). A reply quotes the message it answers only from the
 * conversation it came in (an id of another conversation quotes nothing: "an earlier message").
 */
export function changeEventLine(node: PeerNode, e: BackendEvent): string | null {
  if (e.type === "message" && e.message.replyTo && e.message.from !== node.name) {
    const { replyTo: re, replyBy: by } = e.message; // the sender too, when named (issue 69 N2)
    return `replied ${e.message.from} ${
      quoteOf(conversation(node, e.message.from).find((m) => m.mid === re && (!by || m.from === by)))
    }`;
  }
  if (e.type === "messages.expired") return `expired ${e.mids.length}`;
  if (e.type !== "message.changed" || !e.by || !e.change || e.by === node.name) return null;
  const { by, change: c } = e;
  if (c.kind === "edit") return `edited ${by} ${sanitize(c.text)}`;
  if (c.kind === "delete") return `deleted ${by}`;
  return `${c.on ? "reacted" : "unreacted"} ${by} ${sanitize(c.emoji)}`;
}

function seconds(time: string): number {
  if (time === "off") return 0;
  let ms: number;
  try {
    ms = parseDuration(time);
  } catch (e) {
    throw new BackendError("usage", (e as Error).message);
  }
  if (ms < 1000) throw new BackendError("usage", "Messages can disappear after 1 second at the earliest");
  return ms / 1000;
}

/** A conversation with `peer`. */
const dm = (peer: string): Target => ({ kind: "user", name: peer });

export const CHANGE_SCRIPT: readonly ScriptCommand[] = [
  {
    name: "reply",
    usage: "PEER TEXT…",
    help: "answer the last message PEER sent (their screen quotes its first line)",
    run: (node, [peer, text]) =>
      node.client.send(dm(peer!), text!, { replyTo: last(node, peer!, false).mid }),
  },
  {
    name: "edit",
    usage: "PEER TEXT…",
    help: "replace the text of your last message to PEER (within 24 h; both ends keep the earlier text)",
    run: async (node, [peer, text]) =>
      node.client.changes.changeMessage(last(node, peer!, true).mid, {
        kind: "edit",
        text: (await emoji())(text!),
      }),
  },
  {
    name: "delete",
    usage: "PEER",
    help: "delete your last message to PEER on both ends (its text is removed from both stores)",
    run: (node, [peer]) => node.client.changes.changeMessage(last(node, peer!, true).mid, { kind: "delete" }),
  },
  {
    name: "react",
    usage: "PEER EMOJI",
    help: "react to the last message PEER sent (:thumbsup: works); the same again takes it back",
    run: async (node, [peer, raw]) =>
      node.client.changes.react(last(node, peer!, false).mid, (await emoji())(raw!).trim()),
  },
  {
    name: "edits",
    usage: "PEER",
    help: 'print the earlier texts of the last edited message with PEER ("edits TIME TEXT")',
    run: async (node, [peer], io) => {
      const m = conversation(node, peer!).findLast((m) => m.edited !== undefined && !m.deleted);
      if (!m) throw new BackendError("no_such_message", `No message with ${peer} was edited`);
      for (const e of await node.client.changes.editsOf(m.mid)) {
        io.out(`edits ${isoSeconds(e.at)} ${sanitize(e.text)}`);
      }
    },
  },
  {
    name: "expire",
    usage: "PEER TIME|off",
    help: "messages with PEER disappear from both ends TIME after they are sent (30s, 10m, 1d), or no longer",
    run: (node, [peer, time]) => node.client.changes.setExpiry(dm(peer!), seconds(time!)),
  },
];
