/**
 * The one home of saved file-transfer records (issue 70), for both modes: one keystore value,
 * "files:book" (`Book`: `in`, the files offered to this folder; `out`, the files it sends), in the
 * client folder's keystore (session/crypto_store.ts: sealed at rest, each value under the keystore
 * key — the records hold file keys) or, in peer mode, in the node's store (peer/store.ts; no
 * password there, nothing sealed, as before). Their typed states (`InState`, `OutState`, and a
 * carried transfer's: `CarriedInState`, `CarriedOutState`), the bound on records kept
 * (`bounded`), and every rule that changes a received record when a control comes (`offerWrites`,
 * `sumWrites`, `goneWrites`, returned as writes the codec commits with the ratchet step that opened
 * the control) live here. Not here: the direct-path candidates a sender waits for ("files:ready",
 * channel.ts `READY`), which are no records but received controls filed for whichever process of
 * the folder waits, taken by it and gone after minutes (e2e/controls.ts `FiledList`, like a
 * stream's keys). A folder of an earlier version kept the lists under
 * "files:in" and "files:out" ("pfiles:in", "pfiles:out" in peer mode): `readBook` reads them while
 * "files:book" is missing, and the first write (`bookWrites`) moves them into it and deletes them.
 */
import { toBase64 } from "../../common/bytes.ts";
import type { CryptoStateStore, StoreWrites } from "../../crypto/state_store.ts";
import type { FileOffer } from "./offer.ts";

/**
 * `withdrawn`: its sender took the offer back ("file-gone") before this client had the file;
 * `elsewhere`: another device of this user received it (the server keeps a file for one device).
 */
export type InState = "offered" | "accepted" | "done" | "rejected" | "failed" | "withdrawn" | "elsewhere";
/** `withdrawn`: its sender took it back (`FileTransfers.withdraw`) before the recipient had it. */
export type OutState = "uploading" | "sent" | "failed" | "withdrawn";

/**
 * The states of a transfer on a carrier that pauses and goes on by itself (the peer channel:
 * carried_in.ts, carried_out.ts; carrier.ts), in the words of those above: an accepted download
 * is `receiving` while its bytes come, or `paused` until its sender offers it again (as `/files` says
 * an accepted relayed one, desk.ts); an upload is `offered`, `sending`, `sent-all` (every byte went,
 * the recipient's answer awaited) or `paused`, then `sent` or `failed`. A withdrawn upload is
 * forgotten (nothing to resume: no copy waits anywhere).
 */
export type CarriedInState =
  | Exclude<InState, "accepted" | "withdrawn" | "elsewhere">
  | "receiving"
  | "paused";
export type CarriedOutState =
  | "offered"
  | "sending"
  | "sent-all"
  | "paused"
  | Exclude<OutState, "uploading" | "withdrawn">;
/** The states of a carried transfer not over yet (a restart resumes them; `/withdraw` takes an upload back). */
export const CARRIED_IN_OPEN: readonly CarriedInState[] = ["offered", "receiving", "paused"];
export const CARRIED_OUT_OPEN: readonly CarriedOutState[] = ["offered", "sending", "sent-all", "paused"];

export interface InRecord {
  fid: string;
  from: string;
  /** The room it was offered in (one upload every member reads, room_send.ts); none for a DM offer. */
  room?: string;
  name: string;
  size: number;
  key: string;
  sha256: string;
  at: number;
  state: InState;
  /** Final path chosen when accepted (its `.part` beside it), then the saved path. */
  path?: string;
  error?: string;
}

/** A transfer sent: `sha256` is "" until it went to the recipient (in the offer, or after it). */
export interface OutRecord {
  fid: string;
  /** The recipient, or `#room` for a room's file (room_send.ts). */
  to: string;
  /** Local path as given, and the name offered. */
  path: string;
  name: string;
  size: number;
  mtime: number;
  sha256: string;
  key: string;
  salt: string;
  at: number;
  state: OutState;
  /** The offer reached the server (a restarted sender offers again until it did). */
  offered?: boolean;
}

/** The saved records of one folder: offers received (`in`) and files sent (`out`), oldest first. */
export interface Book<
  I extends { state: InState | CarriedInState } = InRecord,
  O extends { state: OutState | CarriedOutState } = OutRecord,
> {
  in: I[];
  out: O[];
}

/** The keystore key of the book. */
export const BOOK_KEY = "files:book";
/** Where earlier versions kept the lists, client mode's then peer mode's: moved into the book. */
const OLD_KEYS = { in: ["files:in", "pfiles:in"], out: ["files:out", "pfiles:out"] } as const;
const ALL_OLD = [...OLD_KEYS.in, ...OLD_KEYS.out];
/** Records kept per list; the oldest finished ones go first. */
const MAX_RECORDS = 200;

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The book's lists from its stored value `v`, or, while there is none, from the old keys' values. */
function bookFrom(v: unknown, old: (k: string) => unknown): { in: unknown[]; out: unknown[] } {
  if (typeof v === "object" && v !== null && Array.isArray((v as Book).in)) {
    return { in: list((v as Book).in), out: list((v as Book).out) };
  }
  return { in: OLD_KEYS.in.flatMap((k) => list(old(k))), out: OLD_KEYS.out.flatMap((k) => list(old(k))) };
}

/** The book of a client folder's keystore (or any asynchronous store). */
export async function readBook(cs: CryptoStateStore): Promise<Book> {
  const v = await cs.get(BOOK_KEY);
  if (v !== undefined) return bookFrom(v, () => undefined) as Book;
  const old = new Map<string, unknown>();
  for (const k of ALL_OLD) old.set(k, await cs.get(k));
  return bookFrom(undefined, (k) => old.get(k)) as Book;
}

/** The writes that store `b` (and drop the old keys: a folder of an earlier version is moved). */
export function bookWrites<
  I extends { state: InState | CarriedInState },
  O extends { state: OutState | CarriedOutState },
>(
  b: Book<I, O>,
): StoreWrites {
  return { put: { [BOOK_KEY]: b }, del: [...ALL_OLD] };
}

/** A store whose reads and writes are synchronous: peer mode's (peer/store.ts, carried_common.ts `FileBook`). */
export interface SyncStore {
  get(key: string): unknown;
  commit(w: StoreWrites): void;
}

/** The book of a synchronous store, its records as `I` and `O` (peer mode's carried transfers). */
export function readBookSync<I extends { state: CarriedInState }, O extends { state: CarriedOutState }>(
  s: SyncStore,
): Book<I, O> {
  return bookFrom(s.get(BOOK_KEY), (k) => s.get(k)) as Book<I, O>;
}

/** Replaces one side of the book of a synchronous store (the other side as stored). */
export function saveSide(
  s: SyncStore,
  side: "in" | "out",
  records: readonly { state: CarriedInState }[] | readonly { state: CarriedOutState }[],
): void {
  s.commit(bookWrites({ ...readBookSync(s), [side]: records }));
}

const liveIn = (r: InRecord) => r.state === "offered" || r.state === "accepted";

/** Writes that replace `in` (bounded) in the book `b`. */
export const inWrites = (b: Book, ins: InRecord[]): StoreWrites =>
  bookWrites({ ...b, in: bounded(ins, liveIn) });

/**
 * Writes that mark `from`'s offer of `fid` withdrawn, and that offer — none when there is
 * no such offer from `from` (in room `room`, or a DM's when none), or it is saved, refused or ended already.
 */
export async function goneWrites(
  cs: CryptoStateStore,
  from: string,
  fid: string,
  room?: string,
): Promise<{ writes: StoreWrites; rec?: InRecord }> {
  const b = await readBook(cs), ins = b.in;
  const i = ins.findIndex((r) =>
    r.fid === fid && r.from === from && r.room === room && (r.state === "offered" || r.state === "accepted")
  );
  if (i < 0) return { writes: { put: {}, del: [] } };
  const rec: InRecord = { ...ins[i]!, state: "withdrawn", error: `${from} withdrew it` };
  return { writes: inWrites(b, ins.map((r, k) => (k === i ? rec : r))), rec };
}

/** Writes that give `from`'s offer of `fid` its SHA-256 (only an offer that has none yet). */
export async function sumWrites(
  cs: CryptoStateStore,
  from: string,
  s: { fid: string; sha256: string },
): Promise<StoreWrites> {
  const b = await readBook(cs), ins = b.in;
  const i = ins.findIndex((r) => r.fid === s.fid && r.from === from && !r.sha256);
  if (i < 0) return { put: {}, del: [] };
  return inWrites(b, ins.map((r, k) => (k === i ? { ...r, sha256: s.sha256 } : r)));
}

/** Writes that file a received offer (a repeated offer of the same file id is ignored). */
export async function offerWrites(
  cs: CryptoStateStore,
  from: string,
  o: FileOffer,
  at: number,
  room?: string,
): Promise<StoreWrites> {
  const b = await readBook(cs), ins = b.in;
  if (ins.some((r) => r.fid === o.fid && r.from === from)) return { put: {}, del: [] };
  const rec: InRecord = {
    fid: o.fid,
    from,
    ...(room === undefined ? {} : { room }),
    name: o.name,
    size: o.size,
    key: toBase64(o.key),
    sha256: o.sha256,
    at,
    state: "offered",
  };
  return inWrites(b, [...ins, rec]);
}

/** Whether offer `fid` from `from` is accepted here and not saved yet. */
export async function acceptedHere(cs: CryptoStateStore, from: string, fid: string): Promise<boolean> {
  const ins = (await readBook(cs)).in;
  return ins.some((r) => r.fid === fid && r.from === from && r.state === "accepted");
}

/** Drops the oldest finished records past the cap (the relay's lists, peer mode's maps: carried_common.ts). */
export function bounded<T>(list: T[], live: (r: T) => boolean): T[] {
  const out = [...list];
  for (let i = 0; out.length > MAX_RECORDS && i < out.length;) {
    if (!live(out[i]!)) out.splice(i, 1);
    else i++;
  }
  return out;
}
