/**
 * Where the file control messages a client receives go (issue 34 point 2). Pure but for the keystore
 * reads of its `CryptoStateStore`; the codec commits what it returns.
 *
 * Every process of a client folder is the same device: each gets every message, the first to take
 * the folder's lock opens it and the others find it consumed. So a control message is never kept
 * in the memory of the process that happened to open it: `fileControl` turns an offer ("file"), a
 * late SHA-256 ("file-sum") and a direct-path candidate ("file-ready") into keystore writes,
 * committed with the message's ratchet step — offers and sums into "files:in", candidates into
 * "files:ready" keyed by sender and transfer id — and the process waiting for one (`send-file
 * --direct` beside the full-screen client) reads it from there (`readyIn`, `takeReady`).
 * (Issue 35 will make this one kind of a registry of control kinds.)
 */
import type { CryptoStateStore, StoreWrites } from "../../crypto/state_store.ts";
import {
  decodeFileOffer,
  decodeFileReady,
  decodeFileSum,
  type FileOffer,
  type FileReady,
  offerWrites,
  sumWrites,
} from "./offer.ts";

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

/**
 * The keystore writes that file a file control message `from` sent (`mid`, at `at`), and the offer to
 * announce when it is a new one; null when `plaintext` is no file control message. SyntaxError when
 * it is one but malformed or replayed.
 */
export async function fileControl(
  cs: CryptoStateStore,
  from: string,
  plaintext: Uint8Array,
  mid: string,
  at: number,
): Promise<{ writes: StoreWrites; offer?: FileOffer } | null> {
  const ready = decodeFileReady(plaintext, mid);
  if (ready) return { writes: await readyWrites(cs, { from, at, ready }) };
  const sum = decodeFileSum(plaintext, mid);
  if (sum) return { writes: await sumWrites(cs, from, sum) };
  const offer = decodeFileOffer(plaintext, mid);
  if (!offer) return null;
  const writes = await offerWrites(cs, from, offer, at);
  return Object.keys(writes.put).length ? { writes, offer } : { writes };
}

async function entries(cs: CryptoStateStore): Promise<ReadyEntry[]> {
  return ((await cs.get(READY_KEY)) ?? []) as ReadyEntry[];
}

const same = (e: ReadyEntry, from: string, fid: string) => e.from === from && e.ready.fid === fid;

async function readyWrites(cs: CryptoStateStore, e: ReadyEntry): Promise<StoreWrites> {
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
