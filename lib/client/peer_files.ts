/**
 * Direct file transfers of peer mode (`/send PEER PATH`, issue 13): a file goes straight to a
 * connected peer inside its authenticated channel (peer_node.ts), as the records of peer_wire.ts.
 *
 * Send: the file is hashed (SHA-256, streamed) and offered (`foffer`: id, safe name, size,
 * SHA-256, a fresh random file key and the C2SP header); the peer must be online. When the peer
 * asks (`fget FROM`) the C2SP chunked ciphertext (file_aead.ts; context = id, sender, recipient: the
 * format of client mode) goes from chunk FROM in records of at most BATCH chunks (≈256 KiB, under
 * the 1 MiB frame cap); each record waits until the channel took it, so memory stays bounded
 * whatever the size. The peer's `fend` ends it (`file.sent`, or `file.failed` with its reason).
 *
 * Receive: an offer waits (`file.offer`, numbered from 1 among those waiting) for `accept(N)` or
 * `reject(N)`, or is taken at once with `autoAccept`. A name that is a path or holds control
 * characters is refused. The file goes to `<downloads>/NAME.part` (safeFileName, freeName); each
 * chunk is authenticated before its plaintext is written (file_disk.ts `writeChunks`, shared with
 * client mode); data out of order, changed, spliced or past the offered size fails the transfer:
 * the `.part` is removed and the sender told. Only when the last chunk verified and the size and
 * SHA-256 match is the `.part` renamed (`file.saved`). With no download folder (--ephemeral and no
 * --out) offers can be listed and refused; accepting says why it cannot.
 *
 * A dropped channel pauses both sides; when the peer is back the sender offers its unfinished
 * files again and the receiver asks only for the chunks its `.part` lacks. Transfers live in
 * memory: a restarted node forgets them (its `.part` files stay, not resumed).
 */
import { fromBase64, toBase64 } from "../common/bytes.ts";
import { cryptoRandom, randomId } from "../common/random.ts";
import { sanitize } from "../common/sanitize.ts";
import {
  CHUNK_SIZE,
  type ChunkCipher,
  ChunkedEncryptor,
  fileContext,
  openFileHeader,
} from "../crypto/file_aead.ts";
import { DecryptError } from "../crypto/primitives.ts";
import { BackendError, type FileEntryInfo, type FileOfferInfo } from "./backend.ts";
import {
  cipherBatches,
  downloadTarget,
  finishPart,
  hashFile,
  openPart,
  removePart,
  sendable,
  writeChunks,
} from "./file_disk.ts";
import { BATCH, chunkCount, nameProblem, safeFileName } from "./file_offer.ts";
import type { FileRecord } from "./peer_wire.ts";

/** One channel to a peer, as far as files need it. */
export interface Via {
  say(r: FileRecord): Promise<void>;
  readonly ended: boolean;
}

export type PeerFileEvent =
  | { type: "file.offer"; offer: FileOfferInfo & { n: number } }
  | {
    type: "transfer";
    id: string;
    name: string;
    peer: string;
    direction: "up" | "down";
    done: number;
    total: number;
    state: "active" | "done" | "failed";
  }
  | {
    type: "file.saved";
    fid: string;
    peer: string;
    path: string;
    name: string;
    size: number;
    sha256: string;
  }
  | { type: "file.sent"; fid: string; peer: string; name: string; size: number; sha256: string }
  | { type: "file.failed"; fid: string; peer: string; direction: "up" | "down"; why: string }
  | { type: "notice"; text: string; level: "info" | "warn" | "error" };

export interface PeerFilesHost {
  me: string;
  /** the peer's channel once it said hello, undefined when it is not connected */
  via(peer: string): Via | undefined;
  verified(peer: string): boolean;
  emit(e: PeerFileEvent): void;
}

interface Common {
  fid: string;
  name: string;
  size: number;
  sha256: string;
  via?: Via;
  /** bumped whenever the transfer restarts, pauses or ends: older work in flight stops */
  gen: number;
  why?: string;
}
type OutState = "offered" | "sending" | "sent-all" | "paused" | "sent" | "failed";
interface Out extends Common {
  dir: "up";
  peer: string;
  path: string;
  mtime: number;
  cipher: ChunkCipher;
  key: string;
  hdr: string;
  state: OutState;
}
type InState = "offered" | "receiving" | "paused" | "done" | "rejected" | "failed";
interface In extends Common {
  dir: "down";
  peer: string;
  key: string;
  hdr: string;
  cipher: ChunkCipher;
  state: InState;
  target?: string;
  out?: Deno.FsFile;
  next: number;
  path?: string;
  saved?: PromiseWithResolvers<string>;
}

const OUT_OPEN: readonly OutState[] = ["offered", "sending", "sent-all", "paused"];
const IN_OPEN: readonly InState[] = ["offered", "receiving", "paused"];
/** Offers waiting for an answer, and finished transfers remembered (for /files and repeated offers). */
const MAX_WAITING = 32;
const MAX_KEPT = 200;

export class PeerFiles {
  readonly #outs = new Map<string, Out>();
  readonly #ins = new Map<string, In>();
  #accepting: Promise<unknown> = Promise.resolve();

  constructor(
    readonly host: PeerFilesHost,
    readonly o: { downloads: string | null; autoAccept?: boolean },
  ) {}

  /** Offers `path` to the connected `peer`; the data goes once the peer accepts. */
  async send(
    peer: string,
    path: string,
  ): Promise<{ fid: string; name: string; size: number; sha256: string }> {
    const offline = () =>
      new BackendError("offline", `${peer} is not connected: a file goes only to a peer online now`);
    if (!this.host.via(peer)) throw offline();
    const f = await sendable(path);
    const sha256 = await hashFile(f.real);
    const fid = randomId(undefined, 16), key = cryptoRandom(32);
    const ctx = fileContext(fid, this.host.me, peer);
    const hdr = (await ChunkedEncryptor.create(key, ctx)).header;
    const out: Out = {
      dir: "up",
      fid,
      peer,
      path: f.real,
      name: safeFileName(f.name),
      size: f.size,
      mtime: f.mtime,
      sha256,
      cipher: await openFileHeader(key, ctx, hdr),
      key: toBase64(key),
      hdr: toBase64(hdr),
      state: "offered",
      gen: 0,
    };
    const via = this.host.via(peer);
    if (!via) throw offline();
    keep(this.#outs, fid, out, OUT_OPEN);
    await this.#offer(out, via).catch(() => {
      out.state = "failed";
      throw offline();
    });
    return { fid, name: out.name, size: out.size, sha256 };
  }

  #offer(o: Out, via: Via): Promise<void> {
    const { fid, name, size, sha256, key, hdr } = o;
    return via.say({ t: "foffer", fid, name, size, sha256, key, hdr });
  }

  /** The peer said hello: files to it not yet saved are offered again (it asks for what it lacks). */
  connected(peer: string): void {
    const via = this.host.via(peer);
    for (const o of this.#outs.values()) {
      if (via && o.peer === peer && OUT_OPEN.includes(o.state)) void this.#offer(o, via).catch(() => {});
    }
  }

  /** A channel closed: what was received on it pauses until the peer is back. */
  dropped(peer: string, via: Via): void {
    for (const i of this.#ins.values()) {
      if (i.peer !== peer || i.via !== via || i.state !== "receiving") continue;
      this.#stop(i, "paused");
      this.#progress(i, i.next * CHUNK_SIZE, "failed");
      this.#notice(
        `Receiving ${i.name} from ${peer} stopped: the connection dropped; it goes on when ${peer} is back`,
      );
    }
  }

  async handle(peer: string, via: Via, r: FileRecord): Promise<void> {
    if (r.t === "foffer") return await this.#offered(peer, via, r);
    if (r.t === "fget") {
      const o = this.#outs.get(r.fid);
      if (o?.peer === peer && OUT_OPEN.includes(o.state)) return void this.#pump(o, via, r.from);
      return await via.say({ t: "fend", fid: r.fid, ok: false, why: "no such file is offered" });
    }
    const i = this.#ins.get(`${peer}/${r.fid}`);
    if (r.t === "fdata") {
      if (i?.state === "receiving" && i.via === via) await this.#data(i, via, r.i, r.data);
      return;
    }
    const o = this.#outs.get(r.fid);
    if (o?.peer === peer) return this.#outEnd(o, r.ok, r.why);
    if (i && IN_OPEN.includes(i.state) && !r.ok) {
      await this.#fail(i, new BackendError("file_cancelled", `${peer} stopped sending it: ${r.why ?? "?"}`));
    }
  }

  // ---- sending ----

  async #pump(o: Out, via: Via, from: number): Promise<void> {
    const gen = ++o.gen;
    o.via = via;
    o.state = "sending";
    const it = cipherBatches(o.path, o.cipher, o, from);
    try {
      for (;;) {
        let b: IteratorResult<{ i: number; data: Uint8Array }>;
        try {
          b = await it.next();
        } catch (e) {
          if (o.gen !== gen) return;
          await via.say({ t: "fend", fid: o.fid, ok: false, why: (e as Error).message }).catch(() => {});
          return this.#outEnd(o, false, (e as Error).message, true);
        }
        if (o.gen !== gen) return;
        if (b.done) break;
        try {
          await via.say({ t: "fdata", fid: o.fid, i: b.value.i, data: toBase64(b.value.data) });
        } catch {
          if (o.gen !== gen) return;
          o.state = "paused";
          this.#progress(o, b.value.i * CHUNK_SIZE, "failed");
          return this.#notice(
            `Sending ${o.name} to ${o.peer} stopped: the connection dropped; it goes on when ${o.peer} is back`,
          );
        }
        this.#progress(o, Math.min(o.size, (b.value.i + BATCH) * CHUNK_SIZE), "active");
      }
      o.state = "sent-all"; // the peer's fend says whether it was saved
    } finally {
      await it.return(undefined).catch(() => {});
    }
  }

  #outEnd(o: Out, ok: boolean, why?: string, mine = false): void {
    if (!OUT_OPEN.includes(o.state)) return;
    o.gen++;
    o.state = ok ? "sent" : "failed";
    this.#progress(o, ok ? o.size : 0, ok ? "done" : "failed");
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

  // ---- receiving ----

  async #offered(peer: string, via: Via, r: Extract<FileRecord, { t: "foffer" }>): Promise<void> {
    const old = this.#ins.get(`${peer}/${r.fid}`);
    const end = (ok: boolean, why?: string) =>
      via.say({ t: "fend", fid: r.fid, ok, ...(why ? { why } : {}) });
    if (old) { // offered again after a reconnect
      if (old.size !== r.size || old.sha256 !== r.sha256 || old.key !== r.key || old.hdr !== r.hdr) {
        return await end(false, "another file under the same id");
      }
      if (old.state === "done") return await end(true);
      if (!IN_OPEN.includes(old.state)) return await end(false, old.why ?? "refused");
      old.via = via;
      if (old.state !== "offered") await this.#start(old, via);
      return;
    }
    const name = sanitize(r.name);
    const refuse = async (why: string) => {
      const text = `Refused ${name} (${r.size} bytes) from ${peer}: ${why}`;
      this.host.emit({ type: "file.failed", fid: r.fid, peer, direction: "down", why: text });
      await end(false, why);
    };
    const problem = nameProblem(r.name);
    if (problem) return await refuse(problem);
    if (this.waiting().length >= MAX_WAITING) return await refuse("too many offers are waiting");
    let cipher: ChunkCipher;
    try {
      cipher = await openFileHeader(
        fromBase64(r.key),
        fileContext(r.fid, peer, this.host.me),
        fromBase64(r.hdr),
      );
    } catch {
      return await refuse("its key does not open its header");
    }
    const { fid, size, sha256, key, hdr } = r;
    const i: In = {
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
    keep(this.#ins, `${peer}/${fid}`, i, IN_OPEN);
    if (this.o.autoAccept) {
      return await this.#accept(i).catch((e) =>
        this.host.emit({ type: "file.failed", fid, peer, direction: "down", why: (e as Error).message })
      );
    }
    const n = this.waiting().findIndex((w) => w.fid === fid && w.from === peer) + 1;
    this.host.emit({
      type: "file.offer",
      offer: { n, fid, from: peer, name, size, sha256, verified: this.host.verified(peer) },
    });
  }

  /** Offers waiting for an answer, oldest first (`accept(N)`, `reject(N)`). */
  waiting(): { fid: string; from: string; name: string; size: number; sha256: string }[] {
    return [...this.#ins.values()].filter((i) => i.state === "offered")
      .map(({ fid, peer, name, size, sha256 }) => ({ fid, from: peer, name, size, sha256 }));
  }

  #pick(n = 1): In {
    const w = this.waiting()[n - 1];
    if (!w) {
      const c = this.waiting().length;
      throw new BackendError("no_offer", c ? `There are only ${c} file offers` : "No file is offered to you");
    }
    return this.#ins.get(`${w.from}/${w.fid}`)!;
  }

  /** Accepts waiting offer `n` (default the oldest); `saved` resolves with the path once it is saved. */
  async accept(
    n?: number,
  ): Promise<{ fid: string; from: string; name: string; size: number; saved: Promise<string> }> {
    const i = this.#pick(n);
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
      const via = this.host.via(i.peer);
      if (via) return await this.#start(i, via);
      (await openPart(`${i.target}.part`, i.size)).out.close(); // holds the name meanwhile
      this.#notice(`${i.name} will come when ${i.peer} is back`);
    });
    this.#accepting = run.catch(() => {});
    return run;
  }

  /** Refuses waiting offer `n` (default the oldest); the sender is told. */
  reject(n?: number): FileEntryInfo {
    const i = this.#pick(n);
    this.#stop(i, "rejected");
    i.why = `${this.host.me} declined it`;
    void i.via?.say({ t: "fend", fid: i.fid, ok: false, why: i.why }).catch(() => {});
    return this.#entry(i);
  }

  /** (Re)opens the `.part` and asks for the chunks it lacks. */
  async #start(i: In, via: Via): Promise<void> {
    this.#stop(i, "receiving");
    const gen = i.gen;
    i.via = via;
    const { out, next } = await openPart(`${i.target}.part`, i.size);
    if (i.gen !== gen) return out.close();
    i.out = out;
    i.next = next;
    this.#progress(i, next * CHUNK_SIZE, "active");
    await via.say({ t: "fget", fid: i.fid, from: next }).catch(() => this.dropped(i.peer, via));
  }

  async #data(i: In, via: Via, at: number, data: string): Promise<void> {
    const gen = i.gen;
    try {
      if (!i.out) return;
      if (at !== i.next) {
        throw new BackendError("file_order", `chunk ${at} came where chunk ${i.next} was due`);
      }
      const { next, rest } = await writeChunks(i.out, i.cipher, i.size, i.next, fromBase64(data));
      if (i.gen !== gen) return;
      i.next = next;
      if (rest.length) {
        const past = next >= chunkCount(i.size);
        throw new BackendError(
          "file_size",
          past ? "more data than the size offered" : "a record ended inside a chunk",
        );
      }
      if (next < chunkCount(i.size)) return this.#progress(i, next * CHUNK_SIZE, "active");
      i.out.close(); // every chunk is in: the rest is checking the whole
      i.out = undefined;
      i.path = await finishPart(`${i.target}.part`, i.target!, i);
      i.state = "done";
      this.#progress(i, i.size, "done");
      i.saved?.resolve(i.path);
      const { fid, peer, path, name, size, sha256 } = i as In & { path: string };
      this.host.emit({ type: "file.saved", fid, peer, path, name, size, sha256 });
      await via.say({ t: "fend", fid, ok: true }).catch(() => {});
    } catch (e) {
      if (i.gen === gen) await this.#fail(i, e);
    }
  }

  async #fail(i: In, e: unknown): Promise<void> {
    this.#stop(i, "failed");
    if (i.target) await removePart(`${i.target}.part`);
    const why = (e as Error).message;
    i.why = why;
    this.#progress(i, 0, "failed");
    const text = `Refused ${i.name} from ${i.peer}: ${why}; nothing was saved`;
    const err = new BackendError(e instanceof DecryptError ? "file_tampered" : "file_failed", text);
    i.saved?.reject(err);
    this.host.emit({ type: "file.failed", fid: i.fid, peer: i.peer, direction: "down", why: text });
    if (!(e instanceof BackendError && e.code === "file_cancelled")) {
      await i.via?.say({ t: "fend", fid: i.fid, ok: false, why }).catch(() => {});
    }
  }

  /** Ends what runs on `i` (its open `.part`, data in flight) and sets its state. */
  #stop(i: In, state: InState): void {
    i.gen++;
    i.out?.close();
    i.out = undefined;
    i.state = state;
  }

  // ---- listing, progress ----

  #entry(x: In | Out, n?: number): FileEntryInfo {
    const state = x.state === "sent-all" ? "sending" : x.state;
    return {
      ...(n ? { n } : {}),
      fid: x.fid,
      direction: x.dir === "up" ? "out" : "in",
      peer: x.peer,
      name: x.name,
      size: x.size,
      state,
      ...(x.dir === "down" && x.path ? { path: x.path } : {}),
    };
  }

  /** Every transfer: offers waiting numbered from 1, then the others, received ones first. */
  list(): FileEntryInfo[] {
    let n = 0;
    const ins = [...this.#ins.values()].map((i) => this.#entry(i, i.state === "offered" ? ++n : undefined));
    return [...ins, ...[...this.#outs.values()].map((o) => this.#entry(o))];
  }

  #progress(x: In | Out, done: number, state: "active" | "done" | "failed"): void {
    const { fid: id, name, peer, size: total, dir: direction } = x;
    this.host.emit({ type: "transfer", id, name, peer, direction, done, total, state });
  }

  #notice(text: string): void {
    this.host.emit({ type: "notice", text, level: "warn" });
  }

  /** Stops everything (a `.part` stays for a later run to look at). */
  close(): void {
    for (const i of this.#ins.values()) if (i.out) this.#stop(i, "paused");
    for (const o of this.#outs.values()) o.gen++;
  }
}

/** Adds to a bounded map: past MAX_KEPT the oldest finished entries go. */
function keep<T extends { state: string }>(
  m: Map<string, T>,
  k: string,
  v: T,
  open: readonly string[],
): void {
  m.set(k, v);
  for (const [key, x] of m) {
    if (m.size <= MAX_KEPT) break;
    if (!open.includes(x.state)) m.delete(key);
  }
}
