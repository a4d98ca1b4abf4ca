/**
 * What waits for a peer in peer mode, as `/outbox` and the script's `outbox` list it and /quit counts
 * it (issue 39): the outbox's texts and changes (core/outbox.ts: edits, deletions, reactions,
 * disappearing times) and the file offers to a peer that is away (files/carried.ts), each with what it
 * is (`kind`). One numbering, the one rule of both surfaces: oldest first, from 1. Any of them can be
 * dropped by that number (`dropPending`): a text or change leaves the outbox (a change's effect here
 * stays: the peer never gets it), a file offer is withdrawn. No I/O of its own.
 */
import type { OutboxEntry, PeerListing } from "../backend.ts";
import { sizeText } from "../../common/progress.ts";
import type { Outbox } from "../core/outbox.ts";
import type { PeerFiles } from "../files/carried.ts";

/** What the listing reads of a node. */
export interface PendingSource {
  /** Its texts and changes (the core's outbox, core/outbox.ts). */
  readonly outbox: Outbox;
  readonly files: Pick<PeerFiles, "waitingFor" | "withdraw">;
  peers(): PeerListing[];
}

/** Every entry waiting, oldest first, numbered from 1 in that order: texts, changes and files. */
export function pendingEntries(node: PendingSource): OutboxEntry[] {
  const online = new Set(node.peers().filter((p) => p.online).map((p) => p.name));
  const files: OutboxEntry[] = node.files.waitingFor((p) => online.has(p)).map((f) => ({
    n: 0,
    mid: f.fid,
    ts: f.ts,
    to: { kind: "user", name: f.peer },
    text: `file ${f.name} (${sizeText(f.size)})`,
    kind: "file",
  }));
  const all = [...node.outbox.list(), ...files].sort((a, b) => a.ts - b.ts);
  return all.map((e, i) => ({ ...e, n: i + 1 }));
}

/**
 * Drops entry `n` of `pendingEntries`' numbering: a text or change leaves the outbox, a file offer
 * is withdrawn. Answers it (null: there is none).
 */
export function dropPending(node: PendingSource, n: number): OutboxEntry | null {
  const e = pendingEntries(node).find((x) => x.n === n);
  if (!e) return null;
  if (e.kind === "file") node.files.withdraw(e.mid);
  else node.outbox.remove(e.mid);
  return e;
}

/** How many entries wait to be sent: texts not failed, changes, files for peers away. */
export function pendingCount(node: PendingSource): number {
  const online = new Set(node.peers().filter((p) => p.online).map((p) => p.name));
  return node.outbox.count() + node.files.waitingFor((p) => online.has(p)).length;
}
