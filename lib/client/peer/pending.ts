/**
 * What waits for a peer in peer mode, as `/outbox` and the script's `outbox` list it and /quit counts
 * it (issue 39): the texts of the outbox, the changes and settings queued for a peer (peer/store.ts
 * `peer_out`: edits, deletions, reactions, disappearing times) and the file offers to a peer that is
 * away (files/carried.ts), each with what it is (`kind`). One numbering, the one rule of both surfaces:
 * oldest first, from 1. Any of them can be dropped by that number (`dropPending`): a text leaves the
 * outbox, a change its queue (its effect here stays: the peer never gets it), a file offer is
 * withdrawn. No I/O of its own.
 */
import type { OutboxEntry, PeerListing } from "../backend.ts";
import { sizeText } from "../../common/progress.ts";
import { expiryText, type Payload } from "../e2e/mod.ts";
import type { Outbox } from "../core/outbox.ts";
import type { PeerFiles } from "../files/carried.ts";
import type { PeerStore } from "./store.ts";

/** What the listing reads of a node. */
export interface PendingSource {
  readonly store: PeerStore;
  readonly files: Pick<PeerFiles, "waitingFor" | "withdraw">;
  peers(): PeerListing[];
}

/** The first line of message `ref` in quotes, shortened (or "a message" when it is gone). */
function quoted(store: PeerStore, ref: string): string {
  const m = store.local.byMidAny(ref);
  if (!m || m.deleted) return "a message";
  const line = m.text.split("\n")[0]!;
  return `"${line.length > 30 ? `${line.slice(0, 30)}…` : line}"`;
}

/** What a queued payload (JSON) does, in a few words. */
function describe(store: PeerStore, body: string): string {
  const p = JSON.parse(body) as Payload;
  if (p.k === "edit") return `edit of your message: ${p.text}`;
  if (p.k === "delete") return "deletion of your message for both of you";
  if (p.k === "react") return `reaction ${p.emoji}${p.on ? "" : " taken back"} on ${quoted(store, p.ref)}`;
  if (p.k === "expire") return expiryText(p.seconds);
  return p.k;
}

/** Every entry waiting, oldest first, numbered from 1 in that order: texts, changes and files. */
export function pendingEntries(node: PendingSource, texts: Outbox): OutboxEntry[] {
  const online = new Set(node.peers().filter((p) => p.online).map((p) => p.name));
  const changes: OutboxEntry[] = node.store.queuedAll().map((q) => ({
    n: 0,
    mid: q.mid,
    ts: q.ts,
    to: { kind: "user", name: q.peer },
    text: describe(node.store, q.body),
    kind: "change",
  }));
  const files: OutboxEntry[] = node.files.waitingFor((p) => online.has(p)).map((f) => ({
    n: 0,
    mid: f.fid,
    ts: f.ts,
    to: { kind: "user", name: f.peer },
    text: `file ${f.name} (${sizeText(f.size)})`,
    kind: "file",
  }));
  const all = [...texts.list(), ...changes, ...files].sort((a, b) => a.ts - b.ts);
  return all.map((e, i) => ({ ...e, n: i + 1 }));
}

/**
 * Drops entry `n` of `pendingEntries`' numbering: a text leaves the outbox, a change its queue, a
 * file offer is withdrawn. Answers it (null: there is none).
 */
export function dropPending(node: PendingSource, texts: Outbox, n: number): OutboxEntry | null {
  const e = pendingEntries(node, texts).find((x) => x.n === n);
  if (!e) return null;
  if (e.kind === "change") node.store.unqueue(e.to.name!, e.mid);
  else if (e.kind === "file") node.files.withdraw(e.mid);
  else texts.remove(e.mid);
  return e;
}

/** How many entries wait to be sent: texts not failed, changes, files for peers away. */
export function pendingCount(node: PendingSource, texts: Outbox): number {
  const online = new Set(node.peers().filter((p) => p.online).map((p) => p.name));
  return texts.count() + node.store.queuedAll().length + node.files.waitingFor((p) => online.has(p)).length;
}
