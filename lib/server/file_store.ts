/**
 * Relayed file transfers on disk (issue 12): `<files>/<fid>.bin` (the files folder: `--files-dir`,
 * else `<data>/files`) holds the ciphertext exactly as uploaded (an age file; the server cannot read
 * it), `<fid>.json` its metadata (sender, recipient, declared size, expiry, state: file_meta.ts).
 * With file_meta.ts and file_handles.ts, the server modules besides data_dir.ts and the SQLite store
 * that touch the file system. Streaming both ways: a put appends one bounded body at the stored
 * offset, a get reads one bounded range; no file is ever held whole in memory. The handles of files
 * being uploaded and downloaded stay open between requests (file_handles.ts; closed when the file is
 * complete, done or removed, and by `close()`).
 *
 * The stored length is the file's length on disk (re-read at start), so after a crash or kill
 * the upload resumes from what reached the disk. Quota: the declared sizes of a sender's files
 * not yet fetched (`used`, and `usedAll` for everyone: the server's cap; a `direct` file's record
 * holds no byte and counts for neither), at most
 * MAX_FILES_PER_USER of them (`count`; fetched ones no longer count); expiry: `ttlMs` after
 * creation (swept, and checked on every lookup).
 *
 * Its FileWatch (`watch`, for `file.wait`, issue 36) is told when a file changes — a body stored,
 * the file complete, taken (done) or removed — so a reader behind its sender or a sender waiting
 * for delivery is woken by the change instead of polling.
 *
 * Several nodes may share the folder: the sidecars are written through file_meta.ts (a
 * lock per file, merged with the disk, renamed into place; on a cluster's nodes authenticated under
 * the cluster key, `macKey`, and only regular files are opened, never through a link: issue 69 S1); a fid this node does not know is read
 * from the folder (`lookup`), and one another node changed is read again (`refresh`, on its bus
 * event: file_share.ts).
 */
import type { Clock } from "../common/clock.ts";
import { writeAll } from "../common/bytes.ts";
import * as sidecar from "./file_meta.ts";
import { SERVING_LOCK } from "./data_dir.ts";
import { FileHandles } from "./file_handles.ts";
import { FileWatch } from "./file_watch.ts";

export type FileState = sidecar.FileState;

export interface FileMeta {
  fid: string;
  from: string;
  /** The recipient, or the room when `room` is set. */
  to: string;
  /** A room's file: every member may read it; it is done once every other member took it. */
  room?: boolean;
  /** A room's file: the members who took (or declined) it so far. */
  took?: string[];
  /**
   * A room's file: its members (the sender aside) when it was created, whom the offer is for; it
   * goes once those still in the room took it (one who joins later, like a late joiner's older
   * messages, is not waited for). Missing on files stored before it was kept: everyone in the room.
   */
  members?: string[];
  /** Declared ciphertext size, bytes. */
  size: number;
  /** The file goes straight to its recipient: only this record is kept, no byte (no quota). */
  direct?: boolean;
  created: number;
  expires: number;
  state: FileState;
}

export interface FileEntry extends FileMeta {
  /** Bytes stored so far. */
  have: number;
}

/** Files one user may have waiting, not yet fetched, at once (bounds the metadata kept in memory). */
export const MAX_FILES_PER_USER = 256;

const FID = /^[A-Za-z0-9_-]{8,64}$/;

export class FileStore {
  readonly #files = new Map<string, FileEntry>();
  /** Files with a write in progress (a second writer is told to retry). */
  readonly writing = new Set<string>();
  /** Handles kept open between requests (file_handles.ts). */
  readonly #handles = new FileHandles((fid) => this.#bin(fid));
  readonly dir: string;
  /** Who waits for a change of a file (`file.wait`): told when one is stored, complete, done, removed. */
  readonly watch = new FileWatch();
  /** Taken files' ciphertexts being unlinked (`done` does not wait for them). */
  readonly #unlinking = new Set<Promise<void>>();
  /** Unlinks a taken file's ciphertext (file_meta.ts); replaceable so that a test can hold it. */
  removeBin: (fid: string) => Promise<void> = (fid) => sidecar.removeBin(this.dir, fid);
  /** The node a file this node cannot read lives on (a cluster without a shared folder), else null. */
  elsewhere: (fid: string) => string | null = () => null;
  /**
   * Data without metadata younger than this is left by `load` (a cluster's shared folder: another
   * node may be making it); 0: one node alone, all of it goes.
   */
  orphanGraceMs = 0;
  /**
   * The key the sidecars are authenticated under (file_meta.ts `sidecarKey` of the cluster key), set
   * before `load` on a node of a cluster: a sidecar without a valid MAC is not read (issue 69 S1).
   */
  macKey: sidecar.SidecarKey = null;

  /** `dir`: the files folder (made by `load`). */
  constructor(dir: string, readonly quota: number, readonly ttlMs: number, readonly clock: Clock) {
    this.dir = dir;
  }

  /** Creates the folder and loads what an earlier run left (lengths from the disk). */
  async load(): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    for await (const e of Deno.readDir(this.dir)) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      try {
        const m = await sidecar.loadMeta<FileMeta>(this.dir, e.name.slice(0, -".json".length), this.macKey);
        if (!m || !FID.test(m.fid)) continue; // its MAC does not verify: not a node's (issue 69 S1)
        const have = m.state === "done" ? m.size : await sidecar.binLength(this.dir, m.fid);
        if (have === null) continue; // its data is a link, not a file: never served (issue 69 S1)
        this.#files.set(m.fid, { ...m, have });
      } catch {
        // A half-written sidecar (killed while writing): the upload starts again.
        await this.#unlink(`${this.dir}/${e.name}`);
      }
    }
    // Data without metadata (killed between the two writes of `create`) belongs to no transfer.
    // In a shared folder another node may be making it right now: only old ones go.
    for await (const e of Deno.readDir(this.dir)) {
      const fid = e.name.replace(/\.(bin|lock|json(\.\w+)?\.tmp)$/, "");
      const p = `${this.dir}/${e.name}`;
      const kept = !e.isFile || fid === e.name || this.#files.has(fid) || e.name === SERVING_LOCK; // data_dir.ts
      if (!kept && !(await sidecar.isRecent(p, this.orphanGraceMs))) await this.#unlink(p);
    }
    await this.sweep();
  }

  #bin(fid: string): string {
    return `${this.dir}/${fid}.bin`;
  }

  /** Saves `f`'s metadata merged with the folder's (file_meta.ts); false when any node removed it. */
  async #saveMeta(f: FileEntry): Promise<boolean> {
    const { have: _have, ...m } = f;
    const out = await sidecar.saveMeta(this.dir, m, this.macKey);
    if (!out) {
      this.#forget(f.fid);
      return false;
    }
    f.state = out.state;
    if (out.took) f.took = out.took;
    return true;
  }

  /** Another node removed `fid`: forgotten here, its waiters told. */
  #forget(fid: string): void {
    this.#handles.drop(fid);
    this.#files.delete(fid);
    this.watch.wake(fid);
  }

  async #unlink(p: string): Promise<void> {
    try {
      await Deno.remove(p);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }

  /** The live entry, or undefined when unknown or expired. */
  get(fid: string): FileEntry | undefined {
    const f = this.#files.get(fid);
    return f && f.expires > this.clock.now() ? f : undefined;
  }

  /** The live entry; one this node does not know is read from the folder (another node made it). */
  async lookup(fid: string): Promise<FileEntry | undefined> {
    return this.get(fid) ?? (this.#files.has(fid) ? undefined : await this.refresh(fid));
  }

  /**
   * Reads `fid`'s metadata and stored length again from the folder (another node changed it: a body,
   * its state, a take, its removal), waking its waiters when it moved; returns the live entry.
   */
  async refresh(fid: string): Promise<FileEntry | undefined> {
    if (!FID.test(fid)) return undefined;
    const m = await sidecar.readMeta<FileMeta>(this.dir, fid, this.macKey);
    const f = this.#files.get(fid);
    if (!m) {
      if (f) this.#forget(fid);
      return undefined;
    }
    const state = f ? sidecar.laterState(f.state, m.state) : m.state;
    // This node is writing it: its own count is the truth (the disk may hold a write in flight).
    const mine = f !== undefined && this.writing.has(fid);
    const have = state === "done" ? m.size : mine ? f.have : await sidecar.binLength(this.dir, fid);
    if (have === null) { // its data is a link, not a file (planted in a shared folder): never served
      if (f) this.#forget(fid);
      return undefined;
    }
    const moved = !f || f.state !== state || f.have !== have || f.took?.length !== m.took?.length;
    const e: FileEntry = Object.assign(f ?? { ...m, have }, m, { state, have });
    this.#files.set(fid, e);
    if (state === "done") this.#handles.drop(fid);
    if (moved) this.watch.wake(fid);
    return this.get(fid);
  }

  /** Bytes a sender holds on the server (files not yet fetched). */
  used(user: string): number {
    let n = 0;
    for (const f of this.#files.values()) if (f.from === user && f.state !== "done" && !f.direct) n += f.size;
    return n;
  }

  /** Bytes all senders hold on the server (files not yet fetched). */
  usedAll(): number {
    let n = 0;
    for (const f of this.#files.values()) if (f.state !== "done" && !f.direct) n += f.size;
    return n;
  }

  /** Files of all users not yet fetched. */
  countAll(): number {
    let n = 0;
    for (const f of this.#files.values()) if (f.state !== "done") n++;
    return n;
  }

  /** Files of `user` not yet fetched (a fetched one is a small record until it expires). */
  count(user: string): number {
    let n = 0;
    for (const f of this.#files.values()) if (f.from === user && f.state !== "done") n++;
    return n;
  }

  async create(m: Omit<FileMeta, "created" | "expires" | "state">): Promise<FileEntry> {
    const now = this.clock.now();
    const f: FileEntry = { ...m, created: now, expires: now + this.ttlMs, state: "uploading", have: 0 };
    // Made anew: whatever the name holds (a link planted in a shared folder) is removed, not followed.
    await this.#unlink(this.#bin(f.fid));
    await Deno.writeFile(this.#bin(f.fid), new Uint8Array(0), { mode: 0o600, createNew: true });
    const { have: _have, ...meta } = f;
    await sidecar.createMeta(this.dir, meta, this.macKey);
    this.#files.set(f.fid, f);
    this.watch.changed(f.fid);
    return f;
  }

  /** Writes `body` at the stored length (the caller checked `off === have`). */
  async append(f: FileEntry, body: Uint8Array): Promise<void> {
    if (body.length) {
      await this.#handles.io(f.fid, "w", f.have, (file) => writeAll(file, body));
      f.have += body.length;
    }
    if (f.have === f.size && f.state === "uploading") {
      f.state = "ready";
      await this.#saveMeta(f);
      this.#handles.drop(f.fid, "w");
    }
    if (body.length || f.state === "ready") this.watch.changed(f.fid);
  }

  /** Reads up to `len` stored bytes from `off`. */
  async read(f: FileEntry, off: number, len: number): Promise<Uint8Array> {
    const out = new Uint8Array(Math.max(0, Math.min(len, f.have - off)));
    return out.subarray(0, await this.readInto(f, off, out));
  }

  /** Reads stored bytes from `off` into `out` (as many as are stored, up to its length); returns how many. */
  async readInto(f: FileEntry, off: number, out: Uint8Array): Promise<number> {
    const n = Math.max(0, Math.min(out.length, f.have - off));
    if (n === 0) return 0;
    return await this.#handles.io(f.fid, "r", off, async (file) => {
      let o = 0;
      while (o < n) {
        const r = await file.read(out.subarray(o, n));
        if (r === null) break;
        o += r;
      }
      return o;
    });
  }

  /** Closes every kept handle (server shutdown), once the ciphertexts of taken files are gone. */
  async close(): Promise<void> {
    this.watch.all();
    await this.#handles.closeAll();
    await Promise.allSettled([...this.#unlinking]);
  }

  /**
   * The recipient has it: the entry stays (as "done") until it expires, and the ciphertext goes
   * after this resolves (issue 36): unlinking a file just written drops its page cache, 0.1–0.3 s
   * per GiB, which a recipient's `file.done` no longer waits for. `close()` waits for it; one that
   * fails leaves the `.bin` until the entry expires (`remove` unlinks it again).
   */
  async done(f: FileEntry): Promise<void> {
    this.#handles.drop(f.fid);
    f.state = "done";
    if (await this.#saveMeta(f)) {
      const p: Promise<void> = this.removeBin(f.fid).catch(() => {}).finally(() => this.#unlinking.delete(p));
      this.#unlinking.add(p);
    }
    this.watch.changed(f.fid);
  }

  async remove(fid: string): Promise<void> {
    this.#handles.drop(fid);
    this.#files.delete(fid);
    await sidecar.removeMeta(this.dir, fid);
    this.watch.changed(fid);
  }

  /** Entries sent by or to `user` (`inRoom`: whether `user` may read a room's file). */
  list(user: string, inRoom: (f: FileEntry) => boolean = () => false): FileEntry[] {
    const now = this.clock.now();
    return [...this.#files.values()].filter((f) =>
      f.expires > now && (f.from === user || (f.room ? inRoom(f) : f.to === user))
    );
  }

  /**
   * A member of a room's file took (or declined) it: remembered; once every one of `others` (the
   * room's members but the sender) did, the ciphertext goes as for `done`. Returns whether it went.
   */
  async took(f: FileEntry, user: string, others: readonly string[]): Promise<boolean> {
    f.took = [...new Set([...(f.took ?? []), user])];
    if (!(await this.#saveMeta(f))) return false; // merged with the takes other nodes saw
    this.watch.changed(f.fid);
    const took = new Set(f.took);
    if (f.state === "ready" && others.every((m) => took.has(m))) {
      await this.done(f);
      return true;
    }
    return false;
  }

  /** Removes expired entries; returns how many. */
  async sweep(): Promise<number> {
    const now = this.clock.now();
    const old = [...this.#files.values()].filter((f) => f.expires <= now);
    for (const f of old) await this.remove(f.fid);
    return old.length;
  }
}
