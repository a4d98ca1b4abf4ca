/**
 * The receiving side of peer-mode files (carried.ts has the contract and the sending side, carried_common.ts
 * what both use, carried_offer.ts the record, an offer's checks and `--accept-files`).
 *
 * `FileInbox`: a checked offer waits, numbered, for `accept(N)` / `reject(N)` (or is accepted at once:
 * `autoAccept`, from a verified peer only). An accepted file goes to `<downloads>/NAME.part`; `fget
 * FROM` asks for the chunks the `.part` lacks; each chunk is authenticated before it is written
 * (files/part_writer.ts, through files/carrier.ts's window `Pushes`); data out of order
 * (`batchBytes`), changed or past the offered size fails the transfer (the
 * `.part` removed, the sender told); the last chunk in, the size and SHA-256 must match before the
 * rename (`finishPart`). An offer may come before its SHA-256 (`fsum` follows): taken at once it runs
 * meanwhile and is saved once the sum came; one for a person is shown once the sum came (`fhash`
 * asks for it at once). A dropped channel pauses it, as does a failure not the file's fault (disk.ts
 * `partGoes`: the disk; its `.part` kept); the sender's next offer of the same id resumes it,
 * in this run or a later one (kept in the `FileBook`, the node's store). `gen` counts restarts, so
 * work still in flight for an older run stops instead of touching the new one.
 */
import { fromBase64 } from "../../common/bytes.ts";
import { sanitize } from "../../common/sanitize.ts";
import { CHUNK_SIZE, openFileHeader } from "../../crypto/age_stream.ts";
import { BackendError, type FileEntryInfo } from "../backend.ts";
import { downloadTarget, finishPart, openPart, partGoes, removePart } from "./disk.ts";
import { PartWriter } from "./part_writer.ts";
import { batchBytes, Pushes } from "./carrier.ts";
import {
  CARRIED_IN_OPEN,
  type CarriedInState,
  type CarriedOutState,
  readBookSync,
  saveSide,
} from "./book.ts";
import { entryOf, keep, type PeerFilesHost, progress, type Via } from "./carried_common.ts";
import {
  autoVerdict,
  booked,
  fromBook,
  type In,
  offerCheck,
  offeredIn,
  pick,
  refusal,
  sameFile,
  shown,
  shownOffer,
  waitingOf,
} from "./carried_offer.ts";
import type { FileRecord } from "./carried_common.ts";
import { sizeText } from "../../common/progress.ts";
import { Stall, STALL_MS } from "./stall.ts";

export class FileInbox {
  readonly #ins = new Map<string, In>();
  #accepting: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(
    readonly host: PeerFilesHost,
    readonly o: { downloads: string | null; autoAccept?: boolean; stallMs?: number },
  ) {
    for (const i of fromBook(host.book && readBookSync<In, { state: CarriedOutState }>(host.book).in)) {
      this.#ins.set(`${i.peer}/${i.fid}`, i);
    }
  }

  #save(): void {
    if (this.#closed || !this.host.book) return;
    saveSide(this.host.book, "in", booked(this.#ins.values()));
  }

  #notice(level: "info" | "warn", text: string): void {
    this.host.emit({ type: "notice", level, text });
  }

  /** A channel closed: what was received on it pauses until the peer is back. */
  dropped(peer: string, via: Via): void {
    for (const i of this.#ins.values()) {
      if (i.peer !== peer || i.via !== via || i.state !== "receiving") continue;
      this.#stop(i, "paused");
      progress(this.host, i, i.next * CHUNK_SIZE, "failed");
      const why = `the connection dropped; it goes on when ${peer} is back`;
      this.#notice("warn", `Receiving ${i.name} from ${peer} stopped: ${why}`);
    }
  }

  /** A file offered (`foffer`), or offered again after a reconnect (then it goes on). */
  async offered(peer: string, via: Via, r: Extract<FileRecord, { t: "foffer" }>): Promise<void> {
    const old = this.#ins.get(`${peer}/${r.fid}`);
    const end = (ok: boolean, why?: string) =>
      via.say({ t: "fend", fid: r.fid, ok, ...(why ? { why } : {}) });
    if (old) { // offered again after a reconnect
      if (!sameFile(old, r)) return await end(false, "another file under the same id");
      if (r.sha256) await this.summed(peer, r);
      else if (old.state === "offered") await via.say({ t: "fhash", fid: r.fid }); // asked again
      if (old.state === "done") return await end(true);
      if (!CARRIED_IN_OPEN.includes(old.state)) return await end(false, old.why ?? "refused");
      if (old.state === "receiving" && old.via === via) return; // the same offer twice on one channel
      old.via = via;
      if (old.state !== "offered") await this.#start(old, via);
      return;
    }
    const name = sanitize(r.name);
    const checked = await offerCheck(r, this.#ins.values());
    if ("why" in checked) {
      const text = `Refused ${name} (${r.size} bytes) from ${peer}: ${checked.why}`;
      this.host.emit({ type: "file.failed", fid: r.fid, peer, direction: "down", why: text });
      return await end(false, checked.why);
    }
    const i = offeredIn(peer, via, { ...r, name }, checked.cipher), { fid, size, sha256 } = i;
    keep(this.#ins, `${peer}/${fid}`, i, CARRIED_IN_OPEN);
    this.#save();
    const verified = this.host.verified(peer);
    const auto = await autoVerdict(this.o.autoAccept, this.o.downloads, { from: peer, name, size, verified });
    if (auto?.take) {
      return await this.#accept(i).catch((e) =>
        this.host.emit({ type: "file.failed", fid, peer, direction: "down", why: (e as Error).message })
      );
    }
    i.held = { verified, ...(auto ? { why: auto.why } : {}) };
    if (sha256) return this.#show(i);
    await via.say({ t: "fhash", fid }); // shown with its sum
  }

  /** Offer `i` waits for a person: shown (`file.offer`, numbered among those waiting). */
  #show(i: In): void {
    const n = shown(this.#ins.values()).indexOf(i) + 1;
    for (const e of shownOffer(i, n)) this.host.emit(e);
  }

  /** The SHA-256 of a file offered without it (`fsum`): an offer is shown, a file all in is saved. */
  async summed(peer: string, r: { fid: string; sha256: string }): Promise<void> {
    const i = this.#ins.get(`${peer}/${r.fid}`);
    if (!i || i.sha256 || !CARRIED_IN_OPEN.includes(i.state)) return;
    i.sha256 = r.sha256;
    this.#save();
    if (i.state === "offered") return this.#show(i);
    if (i.got !== undefined && i.via) await this.#finish(i, i.via, i.gen);
  }

  /** Offers waiting for an answer, oldest first (`accept(N)`, `reject(N)`). */
  waiting(): ReturnType<typeof waitingOf> {
    return waitingOf(this.#ins.values());
  }

  /** Accepts waiting offer `n` (default the oldest); `saved` resolves with the path once it is saved. */
  async accept(
    n?: number,
  ): Promise<{ fid: string; from: string; name: string; size: number; saved: Promise<string> }> {
    const i = pick(this.#ins.values(), n);
    i.saved = Promise.withResolvers<string>();
    i.saved.promise.catch(() => {}); // a caller may not wait; failures are events too
    await this.#accept(i);
    return { fid: i.fid, from: i.peer, name: i.name, size: i.size, saved: i.saved.promise };
  }

  #accept(i: In): Promise<void> {
    const run = this.#accepting.then(async () => { // one at a time: no two pick the same free name
      if (i.state !== "offered") throw new BackendError("no_offer", "That offer is not waiting any more");
      if (!this.o.downloads) {
        throw new BackendError(
          "no_downloads",
          "This node keeps nothing on disk (--ephemeral): start it with --out DIR to receive files",
        );
      }
      i.target = await downloadTarget(this.o.downloads, i.name);
      i.state = "paused";
      this.#save();
      const via = this.host.via(i.peer);
      if (via) return await this.#start(i, via);
      (await openPart(`${i.target}.part`, i.size)).out.close(); // holds the name meanwhile
      this.#notice("warn", `${i.name} will come when ${i.peer} is back`);
    });
    this.#accepting = run.catch(() => {});
    return run;
  }

  /** Refuses waiting offer `n` (default the oldest); the sender is told. */
  reject(n?: number): FileEntryInfo {
    const i = pick(this.#ins.values(), n);
    this.#stop(i, "rejected");
    i.why = `${this.host.me} declined it`;
    this.#save();
    void i.via?.say({ t: "fend", fid: i.fid, ok: false, why: i.why }).catch(() => {});
    return entryOf(i);
  }

  /** (Re)opens the `.part` and asks for the chunks it lacks. */
  async #start(i: In, via: Via): Promise<void> {
    this.#stop(i, "receiving");
    const gen = i.gen;
    i.via = via;
    i.cipher ??= await openFileHeader(fromBase64(i.key), fromBase64(i.hdr));
    const { out, next, hash } = await openPart(`${i.target}.part`, i.size);
    if (i.gen !== gen) return out.close();
    i.w = new PartWriter(out, i.cipher, i.size, next, hash);
    i.pushes = new Pushes(i.w);
    i.next = next;
    this.#watch(i);
    progress(this.host, i, next * CHUNK_SIZE, "active");
    if (next > 0) {
      const at = `${sizeText(next * CHUNK_SIZE)} of ${sizeText(i.size)}`;
      this.#notice("info", `Receiving ${i.name} from ${i.peer} again at ${at}`);
    }
    await via.say({ t: "fget", fid: i.fid, from: next }).catch(() => this.dropped(i.peer, via));
  }

  /** Data (`fdata`) on the channel the transfer runs on; other data is ignored. */
  async data(peer: string, via: Via, r: Extract<FileRecord, { t: "fdata" }>): Promise<void> {
    const i = this.#ins.get(`${peer}/${r.fid}`), w = i?.w;
    if (i?.state !== "receiving" || i.via !== via || !w || !i.pushes) return;
    const gen = i.gen;
    try {
      await i.pushes.add(batchBytes(i.size, w.issued, r.i, r.data));
      if (i.gen !== gen) return;
      i.next = w.next;
      i.stall?.bound.moved(w.next);
      if (!w.done) return progress(this.host, i, w.next * CHUNK_SIZE, "active");
      i.pushes = undefined;
      w.out.close(); // every chunk is in: the rest is checking the whole
      i.w = undefined;
      i.got = w.hash.hex();
      if (i.sha256) await this.#finish(i, via, gen); // else its sum is still to come, within the bound
    } catch (e) {
      if (i.gen === gen) await this.#fail(i, e);
    }
  }

  /** The sender gave up (`fend` not ok): the `.part` goes. */
  async ended(peer: string, r: Extract<FileRecord, { t: "fend" }>): Promise<void> {
    const i = this.#ins.get(`${peer}/${r.fid}`);
    if (i && CARRIED_IN_OPEN.includes(i.state) && !r.ok) {
      await this.#fail(i, new BackendError("file_cancelled", `${peer} stopped sending it: ${r.why ?? "?"}`));
    }
  }

  /** Every chunk of `i` is in (`got`: their SHA-256) and its sum known: checked, renamed, told. */
  async #finish(i: In, via: Via, gen: number): Promise<void> {
    try {
      i.stall?.stop();
      i.path = await finishPart(`${i.target}.part`, i.target!, i, i.got!);
      i.state = "done";
      this.#save();
      progress(this.host, i, i.size, "done");
      i.saved?.resolve(i.path);
      const { fid, peer, path, name, size, sha256 } = i as In & { path: string };
      this.host.emit({ type: "file.saved", fid, peer, path, name, size, sha256 });
      await via.say({ t: "fend", fid, ok: true }).catch(() => {});
    } catch (e) {
      if (i.gen === gen) await this.#fail(i, e);
    }
  }

  /** `i` failed: for good when the file is at fault (disk.ts `partGoes`: its `.part` goes), else paused. */
  async #fail(i: In, e: unknown): Promise<void> {
    if (!partGoes(e)) {
      const why = `Receiving ${i.name} from ${i.peer} stopped: ${(e as Error).message}`;
      return this.#pause(i, e as Error, `${why}; it goes on when ${i.peer} offers it again`);
    }
    this.#stop(i, "failed");
    if (i.target) await removePart(`${i.target}.part`);
    const why = (e as Error).message;
    i.why = why;
    this.#save();
    progress(this.host, i, 0, "failed");
    const { text, err } = refusal(i, e);
    i.saved?.reject(err);
    this.host.emit({ type: "file.failed", fid: i.fid, peer: i.peer, direction: "down", why: text });
    if (!(e instanceof BackendError && e.code === "file_cancelled")) {
      await i.via?.say({ t: "fend", fid: i.fid, ok: false, why }).catch(() => {});
    }
  }

  /** The stall bound while receiving: no verified chunk for `stallMs` pauses it (`.part` kept) and fails its waiter. */
  #watch(i: In): void {
    const gen = i.gen, now = this.host.now && (() => this.host.now!());
    const bound = new Stall(
      this.o.stallMs ?? STALL_MS,
      `data of ${i.name} from ${i.peer}`,
      now,
      `paused until ${i.peer} offers it again`,
    );
    const stop = bound.watch((e) => {
      if (i.gen === gen && i.state === "receiving") this.#pause(i, e);
    });
    i.stall = { bound, stop };
  }

  /** Pauses `i` (its `.part` kept: it goes on when its sender offers it again) and tells why. */
  #pause(i: In, e: Error, text = e.message): void {
    this.#stop(i, "paused");
    this.#save();
    progress(this.host, i, i.next * CHUNK_SIZE, "failed");
    i.saved?.reject(e);
    this.#notice("warn", text);
  }

  /** Ends what runs on `i` (its open `.part`, data in flight) and sets its state. */
  #stop(i: In, state: CarriedInState): void {
    i.stall?.stop();
    i.stall = undefined;
    i.gen++;
    i.w?.out.close();
    i.w = undefined;
    i.got = undefined;
    i.pushes = undefined; // what was under way fails on the closed file, unheard
    i.state = state;
  }

  list(): FileEntryInfo[] {
    let n = 0;
    return [...this.#ins.values()].map((i) => entryOf(i, i.state === "offered" ? ++n : undefined));
  }

  /** Stops everything (a `.part` stays for a later run to look at). */
  close(): void {
    this.#save(); // what was under way is picked up by the next run
    this.#closed = true;
    for (const i of this.#ins.values()) if (i.w) this.#stop(i, "paused");
    for (const i of this.#ins.values()) i.stall?.stop();
  }
}
