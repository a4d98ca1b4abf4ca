/**
 * Carried file transfers: peer mode's (`/send PEER PATH`, issue 13), a file straight to a connected
 * peer inside its authenticated channel (peer/node.ts), as the records of carried_common.ts (their
 * codec: carried_wire.ts, inside the channel's peer/wire.ts), the channel a carrier (carrier.ts) among the direct socket's.
 *
 * Send: the file is offered at once (`foffer`: id, safe name, size, a fresh one-time X25519
 * identity and the age header) and hashed on the way (disk.ts `FileSum`, as client mode
 * does): its SHA-256 follows as `fsum` once every byte was read for sending, or at once when the
 * receiver asks (`fhash`: a person is shown the offer with its sum); an offer made again carries it.
 * To a peer that is away the offer waits (kept in the book) and goes when it says hello. When the
 * peer asks (`fget FROM`) the age file's chunks (age_stream.ts, the format of client mode) go from
 * chunk FROM, at most PEER_BATCH chunks (≈513 KiB, under the 1 MiB frame cap) per `fdata` record
 * and the bulk frame after it, as on the direct path (carrier.ts `sendChunks`); each waits
 * until the channel took it, so memory stays bounded whatever the size. The peer's `fend` ends it (`file.sent`, or `file.failed` with its reason).
 *
 * Receive: an offer waits (`file.offer`, numbered from 1 among those waiting) for `accept(N)` or
 * `reject(N)`, or is taken at once with `autoAccept`. A name that is a path or holds control
 * characters is refused. The file goes to `<downloads>/NAME.part` (safeFileName, freeName); each
 * chunk is authenticated before its plaintext is written (files/part_writer.ts `PartWriter`, shared
 * with client mode); data out of order, changed, spliced or past the offered size fails the transfer:
 * the `.part` is removed and the sender told. Only when the last chunk verified and the size and
 * SHA-256 match is the `.part` renamed (`file.saved`). With no download folder (--ephemeral and no
 * --out) offers can be listed and refused; accepting says why it cannot.
 *
 * A dropped channel pauses both sides; when the peer is back the sender offers its unfinished
 * files again and the receiver asks only for the chunks its `.part` lacks. Transfers live in
 * the node's store (`book`; memory only with --ephemeral), so a restarted node resumes them too:
 * the sender offers again, the receiver keeps its `.part`. This file is the sending side and the
 * front (`PeerFiles`), its sending loop carried_out.ts; the receiving side is carried_in.ts, what both
 * use carried_common.ts; peer/node.ts hands it the channels (`Via`) and its store (`FileBook`).
 */
import { toBase64 } from "../../common/bytes.ts";
import { cryptoRandom, randomId } from "../../common/random.ts";
import { sanitize } from "../../common/sanitize.ts";
import { ChunkedEncryptor, FILE_FORMAT, openFileHeader } from "../../crypto/age_stream.ts";
import type { FileEntryInfo } from "../backend.ts";
import { FileSum, sendable } from "./disk.ts";
import { safeFileName } from "./file_name.ts";
import { FileInbox } from "./carried_in.ts";
import { entryOf, keep, type PeerFilesHost, progress, type Via } from "./carried_common.ts";
import { type Out, pump } from "./carried_out.ts";
import { CARRIED_OUT_OPEN, readBookSync, saveSide } from "./book.ts";
import type { In } from "./carried_offer.ts";
import type { FileRecord } from "./carried_common.ts";

export type { PeerFileEvent, Via } from "./carried_common.ts";

export class PeerFiles {
  readonly #outs = new Map<string, Out>();
  readonly #inbox: FileInbox;

  #closed = false;

  constructor(
    readonly host: PeerFilesHost,
    o: { downloads: string | null; autoAccept?: boolean; stallMs?: number },
  ) {
    this.#inbox = new FileInbox(host, o);
    // An earlier run's files not yet saved by their peer are offered again when it connects.
    for (const r of host.book ? readBookSync<In, Out>(host.book).out : []) {
      const state = CARRIED_OUT_OPEN.includes(r.state) ? "paused" : r.state;
      this.#outs.set(r.fid, { ...r, state, gen: 0, dir: "up" });
    }
  }

  #save(): void {
    if (this.#closed || !this.host.book) return;
    const list = [...this.#outs.values()].map((
      { dir: _d, via: _v, gen: _g, cipher: _c, sum: _s, bare: _b, ...keep },
    ) => keep);
    saveSide(this.host.book, "out", list);
  }

  /**
   * Offers `path` to `peer`; the data goes once the peer accepts. A peer that is away gets the
   * offer when it is back (`queued`), like a message in the outbox. `sum`: its SHA-256, once hashed.
   */
  async send(
    peer: string,
    path: string,
  ): Promise<{ fid: string; name: string; size: number; sum: Promise<string>; queued: boolean }> {
    const f = await sendable(path);
    const fid = randomId(undefined, 16), key = cryptoRandom(32);
    const hdr = (await ChunkedEncryptor.create(key)).header;
    const out: Out = {
      dir: "up",
      fid,
      peer,
      path: f.real,
      name: safeFileName(f.name),
      size: f.size,
      mtime: f.mtime,
      sha256: "",
      cipher: await openFileHeader(key, hdr),
      key: toBase64(key),
      hdr: toBase64(hdr),
      state: "paused",
      gen: 0,
      ...(this.host.now ? { ts: this.host.now() } : {}),
    };
    keep(this.#outs, fid, out, CARRIED_OUT_OPEN);
    this.#save();
    const sum = this.#sum(out);
    sum.catch(() => {}); // a failure fails the transfer
    const via = this.host.via(peer);
    out.bare = via;
    const sent = via && await this.#offer(out, via).then(() => true, () => false);
    if (sent) out.state = "offered";
    else {
      const text = `${out.name} waits for ${peer} to come online: it is offered when ${peer} is back`;
      this.host.emit({ type: "notice", text, level: "info" });
    }
    return { fid, name: out.name, size: out.size, sum, queued: !sent };
  }

  /**
   * The SHA-256 of `o`, taken from what its sending reads (or alone: `o.sum.finish()`); once known it
   * is kept and told to the peer (`fsum`). A file that cannot be read fails the transfer.
   */
  #sum(o: Out): Promise<string> {
    if (o.sha256) return Promise.resolve(o.sha256);
    if (o.sum) return o.sum.done;
    o.sum = new FileSum(o.path, o.size);
    return o.sum.done.then(async (sha256) => {
      if (!CARRIED_OUT_OPEN.includes(o.state)) return sha256;
      o.sha256 = sha256;
      this.#save();
      const via = o.bare; // the channel it was offered on without its sum; else it goes with the next offer
      o.bare = undefined;
      if (via && !via.ended) await via.say({ t: "fsum", fid: o.fid, sha256 }).catch(() => {});
      return sha256;
    }, async (e) => {
      if (!CARRIED_OUT_OPEN.includes(o.state)) throw e;
      const why = `it could not be read: ${(e as Error).message}`;
      await this.host.via(o.peer)?.say({ t: "fend", fid: o.fid, ok: false, why }).catch(() => {});
      this.#outEnd(o, false, why, true);
      throw e;
    });
  }

  #offer(o: Out, via: Via): Promise<void> {
    const { fid, name, size, sha256, key, hdr } = o;
    return via.say({ t: "foffer", fid, name, size, sha256, key, fmt: FILE_FORMAT, hdr });
  }

  /**
   * The peer said hello: files to it not yet saved are offered (again: it asks for what it lacks),
   * those that waited for it too.
   */
  connected(peer: string): void {
    const via = this.host.via(peer);
    for (const o of this.#outs.values()) {
      if (!via || o.peer !== peer || !CARRIED_OUT_OPEN.includes(o.state)) continue;
      void this.#again(o, via);
    }
  }

  /**
   * Offers `o` again on a channel that came up, with its SHA-256 (hashed first when still unknown): a
   * peer that dropped the channel at an offer without it may not know `fsum` (a 0.6 node).
   */
  async #again(o: Out, via: Via): Promise<void> {
    if (!o.sha256) {
      const sum = this.#sum(o);
      o.sum?.finish();
      await sum.catch(() => {});
      if (!o.sha256) return; // it could not be read (the transfer failed), or it ended meanwhile
    }
    await this.#offer(o, via).then(() => o.state === "paused" && (o.state = "offered"), () => {});
  }

  /** A channel closed: what was received on it pauses until the peer is back (sending stops by itself). */
  dropped(peer: string, via: Via): void {
    this.#inbox.dropped(peer, via);
  }

  async handle(peer: string, via: Via, r: FileRecord): Promise<void> {
    if (r.t === "foffer") return await this.#inbox.offered(peer, via, r);
    if (r.t === "fdata") return await this.#inbox.data(peer, via, r);
    if (r.t === "fsum") return await this.#inbox.summed(peer, r);
    const o = this.#outs.get(r.fid);
    if (r.t === "fhash") {
      if (o?.peer !== peer || !CARRIED_OUT_OPEN.includes(o.state)) return;
      void this.#sum(o).catch(() => {});
      return o.sum?.finish();
    }
    if (r.t === "fget") {
      if (o?.peer === peer && CARRIED_OUT_OPEN.includes(o.state)) return void this.#pump(o, via, r.from);
      return await via.say({ t: "fend", fid: r.fid, ok: false, why: "no such file is offered" });
    }
    if (o?.peer === peer) return this.#outEnd(o, r.ok, r.why);
    await this.#inbox.ended(peer, r);
  }

  /** Offers waiting for an answer, oldest first (`accept(N)`, `reject(N)`). */
  waiting(): ReturnType<FileInbox["waiting"]> {
    return this.#inbox.waiting();
  }
  /** Accepts waiting offer `n` (default the oldest); `saved` resolves with the path once it is saved. */
  accept(n?: number): ReturnType<FileInbox["accept"]> {
    return this.#inbox.accept(n);
  }
  /** Refuses waiting offer `n` (default the oldest); the sender is told. */
  reject(n?: number): FileEntryInfo {
    return this.#inbox.reject(n);
  }

  /** Files to peers that are away (`online` says who is not), not saved by them yet, oldest first. */
  waitingFor(
    online: (peer: string) => boolean,
  ): { fid: string; peer: string; name: string; size: number; ts: number }[] {
    return [...this.#outs.values()].filter((o) => CARRIED_OUT_OPEN.includes(o.state) && !online(o.peer))
      .map(({ fid, peer, name, size, ts }) => ({ fid, peer, name, size, ts: ts ?? 0 }));
  }

  /**
   * Withdraws file `fid` not saved by its peer yet (`/withdraw N`, `/outbox drop N`): it is not
   * offered again; a connected peer is told at once (its offer, or the transfer under way, ends), one
   * that took the offer earlier is told "no such file is offered" when it asks for it.
   */
  withdraw(fid: string): boolean {
    const o = this.#outs.get(fid);
    if (!o || !CARRIED_OUT_OPEN.includes(o.state)) return false;
    o.gen++; // a sending loop stops
    this.#outs.delete(fid);
    this.#save();
    void this.host.via(o.peer)?.say({ t: "fend", fid, ok: false, why: "withdrawn by its sender" }).catch(
      () => {},
    );
    // Its send ends (a command waiting for it says so).
    this.host.emit({
      type: "file.failed",
      fid,
      peer: o.peer,
      direction: "up",
      why: `${o.name} to ${o.peer}: withdrawn`,
    });
    return true;
  }

  /**
   * Every transfer: offers waiting numbered from 1, the other received ones, then those sent (the
   * ones not saved by their peer yet numbered from 1 too: `w`, for `/withdraw N`).
   */
  list(): FileEntryInfo[] {
    let w = 0;
    const outs = [...this.#outs.values()].map((o) => ({
      ...entryOf(o),
      ...(CARRIED_OUT_OPEN.includes(o.state) ? { w: ++w } : {}),
    }));
    return [...this.#inbox.list(), ...outs];
  }

  /** Stops everything (a `.part` stays for a later run to look at). */
  close(): void {
    this.#closed = true;
    this.#inbox.close();
    for (const o of this.#outs.values()) o.gen++;
  }

  #pump(o: Out, via: Via, from: number): Promise<void> {
    if (!o.sha256) void this.#sum(o).catch(() => {});
    return pump(o, via, from, { host: this.host, end: (ok, why) => this.#outEnd(o, ok, why, true) });
  }

  #outEnd(o: Out, ok: boolean, why?: string, mine = false): void {
    if (!CARRIED_OUT_OPEN.includes(o.state)) return;
    o.gen++;
    o.state = ok ? "sent" : "failed";
    this.#save();
    progress(this.host, o, ok ? o.size : 0, ok ? "done" : "failed");
    if (ok) {
      const { fid, peer, name, size, sha256 } = o;
      return this.host.emit({ type: "file.sent", fid, peer, name, size, sha256 });
    }
    o.why = mine ? why : sanitize(why ?? "refused");
    const text = mine
      ? `Sending ${o.name} to ${o.peer} failed: ${o.why}`
      : `${o.peer} refused ${o.name}: ${o.why}`;
    this.host.emit({ type: "file.failed", fid: o.fid, peer: o.peer, direction: "up", why: text });
  }
}
