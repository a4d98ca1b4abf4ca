/**
 * What the two sides of a carried transfer (carried.ts and carried_out.ts send, carried_in.ts receive) share:
 * `Via` (a channel as files use it), the events, the host (`FileBook`: the store that keeps their records, book.ts,
 * across restarts), `Transfer` (the fields of both kinds), `keep` (a bounded map), `progress`
 * (the "transfer" event), `entryOf` (a `/files` row) and `sentEnd` (the end of a file sent, which a
 * command — carried_desk.ts `send` — and watch together's offer — peer/watch_copies.ts — wait for). No I/O.
 */
import { BackendError, type BackendEvent, type FileEntryInfo, type FileOfferInfo } from "../backend.ts";
import { DIRECT_BATCH } from "./direct.ts";
import { bounded, type CarriedInState, type CarriedOutState } from "./book.ts";

/**
 * Resolves once the peer saved the file offered as `fid` (`file.sent`), or rejects with `file_failed` and
 * its reason (`file.failed`); `on` adds a listener of the node's events.
 */
export function sentEnd(on: (l: (e: BackendEvent) => void) => () => void, fid: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const off = on((e) => {
      if ((e.type !== "file.sent" && e.type !== "file.failed") || e.fid !== fid) return;
      off();
      if (e.type === "file.sent") resolve();
      else reject(new BackendError("file_failed", e.why));
    });
  });
}

/** One channel to a peer, as far as files need it. */
export interface Via {
  say(r: FileRecord): Promise<void>;
  readonly ended: boolean;
}

/** What carried transfers tell: the core's events (backend.ts), an offer numbered. */
export type PeerFileEvent =
  | { type: "file.offer"; offer: FileOfferInfo & { n: number } }
  | Extract<BackendEvent, { type: "transfer" | "file.saved" | "file.sent" | "file.failed" }>
  | { type: "notice"; text: string; level: "info" | "warn" | "error" };

/** Where transfers are remembered across restarts: the node's PeerStore (memory with --ephemeral). */
export interface FileBook {
  get(key: string): unknown;
  commit(w: { put: Record<string, unknown>; del: string[] }): void;
}

export interface PeerFilesHost {
  book?: FileBook;
  me: string;
  /** the peer's channel once it said hello, undefined when it is not connected */
  via(peer: string): Via | undefined;
  verified(peer: string): boolean;
  emit(e: PeerFileEvent): void;
  /** now (ms): when a file was offered (`/outbox` lists those waiting for their peer) */
  now?(): number;
}

/** What sending and receiving transfers have in common. */
export interface Transfer {
  dir: "up" | "down";
  fid: string;
  peer: string;
  name: string;
  size: number;
  sha256: string;
  state: CarriedInState | CarriedOutState;
  via?: Via;
  /** bumped whenever the transfer restarts, pauses or ends: older work in flight stops */
  gen: number;
  why?: string;
  path?: string;
}

/** Adds to a bounded map: past the cap the oldest finished entries go (files/offer.ts `bounded`). */
export function keep<T extends { state: CarriedInState | CarriedOutState }>(
  m: Map<string, T>,
  k: string,
  v: T,
  open: readonly T["state"][],
): void {
  m.set(k, v);
  const kept = new Set(bounded([...m.values()], (x) => open.includes(x.state)));
  for (const [key, x] of m) if (!kept.has(x)) m.delete(key);
}

/** The "transfer" event (status line, progress on standard error) of `x` at `done` bytes. */
export function progress(
  host: PeerFilesHost,
  x: Transfer,
  done: number,
  state: "active" | "done" | "failed",
): void {
  const { fid: id, name, peer, size: total, dir: direction } = x;
  host.emit({ type: "transfer", id, name, peer, direction, done, total, state });
}

/** `x` as `/files` lists it (`n`: its number among the offers waiting). */
export function entryOf(x: Transfer, n?: number): FileEntryInfo {
  return {
    ...(n ? { n } : {}),
    fid: x.fid,
    direction: x.dir === "up" ? "out" : "in",
    peer: x.peer,
    name: x.name,
    size: x.size,
    state: x.state === "sent-all" ? "sending" : x.state,
    ...(x.path ? { path: x.path } : {}),
    sha256: x.sha256,
  };
}

/** Chunks per `fdata` (8 × (64 KiB + tag) ≈ 513 KiB, under a peer channel's 1 MiB frame cap): the direct path's. */
export const PEER_BATCH = DIRECT_BATCH;

/** The records of a direct file transfer (carried.ts) but `fdata`, as on the wire and in memory. */
export type FileHead =
  | {
    t: "foffer";
    fid: string;
    name: string;
    size: number;
    sha256: string;
    key: string;
    fmt?: string;
    hdr: string;
  }
  | { t: "fhash"; fid: string }
  | { t: "fsum"; fid: string; sha256: string }
  | { t: "fget"; fid: string; from: number }
  | { t: "fend"; fid: string; ok: boolean; why?: string };

/** `fdata` in memory: its bytes (as parts when sending; one buffer as received). */
export interface FileData {
  t: "fdata";
  fid: string;
  i: number;
  data: readonly Uint8Array[];
}

/** The records of a peer file transfer as carried.ts, carried_out.ts and carried_in.ts send and handle them; their codec: carried_wire.ts (inside the channel's, peer/wire.ts). */
export type FileRecord = FileHead | FileData;

/** A file record for carried.ts (`fdata` only once its bytes are joined to it). */
export function isFileRecord(r: { t: string } | FileRecord): r is FileRecord {
  return ["foffer", "fhash", "fsum", "fget", "fend"].includes(r.t) || (r.t === "fdata" && "data" in r);
}
