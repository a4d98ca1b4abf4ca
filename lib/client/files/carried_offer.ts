/**
 * What peer mode's receiving side keeps of a file offered to it, and how an offer is judged
 * (carried_in.ts runs the transfers): the `In` record and what of it the node's store keeps
 * (`booked`, `fromBook`); an offer's checks before it may wait (`offerCheck`: a plain name, not too many waiting,
 * the age format, its key opens its header); and whether `--accept-files` takes it at once
 * (`autoVerdict`: verified peers only, within the size and the free space, files/policy.ts); how an
 * offer for a person is shown (`shown`, `pick`, `shownOffer`: once its SHA-256 is known); what a
 * failure tells (`refusal`).
 */
import { fromBase64 } from "../../common/bytes.ts";
import { type ChunkCipher, FILE_FORMAT, openFileHeader } from "../../crypto/age_stream.ts";
import { BackendError } from "../backend.ts";
import { DecryptError } from "../../crypto/primitives.ts";
import { roomFor } from "./disk.ts";
import type { Pushes } from "./carrier.ts";
import { formatProblem, pickOffer } from "./offer.ts";
import { type CarriedInState } from "./book.ts";
import { nameProblem } from "./file_name.ts";
import type { PartWriter } from "./part_writer.ts";
import type { Stall } from "./stall.ts";
import { DEFAULT_MAX_SIZE, judgeOffer } from "./policy.ts";
import type { PeerFileEvent, Transfer, Via } from "./carried_common.ts";
import type { FileRecord } from "./carried_common.ts";

/** A file offered to this node, received or being received. */
export interface In extends Transfer {
  dir: "down";
  key: string;
  hdr: string;
  /** opened from key and header when first needed (not kept in the book) */
  cipher?: ChunkCipher;
  state: CarriedInState;
  target?: string;
  /** the open `.part` while receiving */
  w?: PartWriter;
  /** pushes to `w` under way (files/carrier.ts): a record is decrypted while the ones before it are written */
  pushes?: Pushes;
  next: number;
  saved?: PromiseWithResolvers<string>;
  /** the stall bound while receiving (files/stall.ts), and how to stop watching it */
  stall?: { bound: Stall; stop(): void };
  /** the SHA-256 of what the `.part` holds once every chunk is in (its offer's may be still to come) */
  got?: string;
  /** an offer for a person, not shown yet (its sum is still to come): verified, why not taken at once */
  held?: { verified: boolean; why?: string };
}

/** Offers waiting for an answer, from every peer together. */
export const MAX_WAITING = 32;

/** What the node's store keeps of each transfer (nothing of a run: channel, cipher, open file, timers). */
export function booked(ins: Iterable<In>): { state: CarriedInState }[] {
  return [...ins].map((i) => {
    const {
      dir: _d,
      via: _v,
      gen: _g,
      cipher: _c,
      w: _w,
      next: _n,
      saved: _s,
      stall: _t,
      pushes: _f,
      got: _h,
      held: _o,
      ...keep
    } = i;
    return keep;
  });
}

/**
 * The transfers an earlier run kept (`booked`): those under way wait as paused for the sender's next
 * offer; offers never answered are forgotten (the sender offers them again, and they show again).
 */
export function fromBook(records: readonly In[] | undefined): In[] {
  return (records ?? []).filter((r) => r.state !== "offered")
    .map((r) => ({
      ...r,
      state: r.state === "receiving" ? "paused" : r.state,
      gen: 0,
      next: 0,
      dir: "down",
    }));
}

/** The events that show offer `i` (held for a person) as waiting offer `n`; none once shown. */
export function shownOffer(i: In, n: number): PeerFileEvent[] {
  const { fid, peer, name, size, sha256, held } = i;
  if (!held) return [];
  i.held = undefined;
  const verified = held.verified;
  const out: PeerFileEvent[] = [{
    type: "file.offer",
    offer: { n, fid, from: peer, name, size, sha256, verified },
  }];
  if (held.why === undefined) return out;
  const why = verified
    ? held.why
    : `${peer}'s key is not verified (/fingerprint ${peer}, then /verify ${peer})`;
  return [...out, { type: "notice", level: "warn", text: `${name} waits for /accept: ${why}` }];
}

/** The offers waiting for a person, oldest first: those shown (with their SHA-256). */
export function shown(ins: Iterable<In>): In[] {
  return [...ins].filter((i) => i.state === "offered" && i.sha256);
}

/** The offers waiting, as `waiting()` lists them. */
export function waitingOf(
  ins: Iterable<In>,
): { fid: string; from: string; name: string; size: number; sha256: string }[] {
  return shown(ins).map(({ fid, peer: from, name, size, sha256 }) => ({ fid, from, name, size, sha256 }));
}

/** Waiting offer `n` (from 1), or `no_offer`. */
export function pick(ins: Iterable<In>, n = 1): In {
  return pickOffer(shown(ins), n);
}

/** What the receiver of `i` is told when it fails with `e` (DecryptError: `file_tampered`). */
export function refusal(i: In, e: unknown): { text: string; err: BackendError } {
  // The sender gave up: said as what it is, not as a refusal of ours.
  const text = e instanceof BackendError && e.code === "file_cancelled"
    ? `${i.name} from ${i.peer} did not come: ${e.message}; nothing was saved`
    : `Refused ${i.name} from ${i.peer}: ${(e as Error).message}; nothing was saved`;
  return { text, err: new BackendError(e instanceof DecryptError ? "file_tampered" : "file_failed", text) };
}

/** Whether offer `r`, made again, is the file `old` was offered as (a sum given once stays). */
export function sameFile(old: In, r: Extract<FileRecord, { t: "foffer" }>): boolean {
  const sums = !old.sha256 || !r.sha256 || old.sha256 === r.sha256;
  return sums && old.size === r.size && old.key === r.key && old.hdr === r.hdr;
}

/** Why offer `r` is refused (`ins`: the transfers kept), or the cipher its key opens from its header. */
export async function offerCheck(
  r: Extract<FileRecord, { t: "foffer" }>,
  ins: Iterable<In>,
): Promise<{ why: string } | { cipher: ChunkCipher }> {
  const problem = nameProblem(r.name);
  if (problem) return { why: problem };
  // Shown or still waiting for their sum: a peer that never sends it cannot pile offers up.
  const waiting = [...ins].filter((i) => i.state === "offered").length;
  if (waiting >= MAX_WAITING) return { why: "too many offers are waiting" };
  if (r.fmt !== FILE_FORMAT) return { why: formatProblem(r.fmt) };
  try {
    return { cipher: await openFileHeader(fromBase64(r.key), fromBase64(r.hdr)) };
  } catch {
    return { why: "its key does not open its header" };
  }
}

/**
 * With `--accept-files` (`auto`), whether the offer is taken at once: from verified peers only, up
 * to 4 GiB and the free space of the download folder (files/policy.ts); null without it.
 */
export async function autoVerdict(
  auto: boolean | undefined,
  downloads: string | null,
  o: { from: string; name: string; size: number; verified: boolean },
): Promise<ReturnType<typeof judgeOffer> | null> {
  if (!auto) return null;
  const room = downloads ? await roomFor(downloads) : null;
  return judgeOffer({ anyone: false, maxSize: DEFAULT_MAX_SIZE }, { ...o, resumed: false }, o.verified, room);
}

/** The record of offer `r` (its name already made safe), waiting for an answer. */
export function offeredIn(
  peer: string,
  via: Via,
  r: Extract<FileRecord, { t: "foffer" }>,
  cipher: ChunkCipher,
): In {
  const { fid, name, size, sha256, key, hdr } = r;
  return {
    dir: "down",
    fid,
    peer,
    name,
    size,
    sha256,
    key,
    hdr,
    cipher,
    state: "offered",
    via,
    next: 0,
    gen: 0,
  };
}
