/**
 * Where the file control messages a client receives go (issue 34 point 2). Pure but for the keystore
 * reads of its `CryptoStateStore`; the codec commits what it returns.
 *
 * Every process of a client folder is the same device: each gets every message, the first to take
 * the folder's lock opens it and the others find it consumed. So a control message is never kept
 * in the memory of the process that happened to open it: the handlers of channel.ts turn an offer ("file"), a
 * late SHA-256 ("file-sum") and a direct-path candidate ("file-ready") into keystore writes,
 * committed with the message's ratchet step — offers and sums into "files:in", candidates into
 * "files:ready" keyed by sender and transfer id — and the process waiting for one (`send-file
 * --direct` beside the full-screen client) reads it from there (`readyIn`, `takeReady`).
 * The kinds are registered with the codec's registry in channel.ts.
 */
import type { CryptoStateStore, StoreWrites } from "../../crypto/state_store.ts";
import type { FileReady } from "./offer.ts";

export const READY_KEY = "files:ready";
/** Candidates kept for their waiters (the oldest go first), and how long one stays usable. */
const READY_KEEP = 64;
const READY_TTL_MS = 10 * 60_000;

/** A direct-path candidate filed for the process that waits for it. */
export interface ReadyEntry {
  from: string;
  /** When it was sent (the server's time of the message). */
  at: number;
  ready: FileReady;
}

async function entries(cs: CryptoStateStore): Promise<ReadyEntry[]> {
  return ((await cs.get(READY_KEY)) ?? []) as ReadyEntry[];
}

const same = (e: ReadyEntry, from: string, fid: string) => e.from === from && e.ready.fid === fid;

/** The keystore writes that file a direct-path candidate for its waiter (the oldest and stale go first). */
export async function readyWrites(cs: CryptoStateStore, e: ReadyEntry): Promise<StoreWrites> {
  const kept = (await entries(cs)).filter((x) => e.at - x.at < READY_TTL_MS && !same(x, e.from, e.ready.fid));
  return { put: { [READY_KEY]: [...kept, e].slice(-READY_KEEP) }, del: [] };
}

/** Whether `from`'s candidate for `fid` is filed (a cheap look before `takeReady`). */
export function readyIn(list: unknown, from: string, fid: string): boolean {
  return Array.isArray(list) && (list as ReadyEntry[]).some((e) => same(e, from, fid));
}

/** `from`'s candidate for `fid`, and the writes that take it out of the keystore; null when none is filed. */
export async function takeReady(
  cs: CryptoStateStore,
  from: string,
  fid: string,
): Promise<{ ready: FileReady; writes: StoreWrites } | null> {
  const list = await entries(cs);
  const e = list.find((x) => same(x, from, fid));
  if (!e) return null;
  return { ready: e.ready, writes: { put: { [READY_KEY]: list.filter((x) => x !== e) }, del: [] } };
}
