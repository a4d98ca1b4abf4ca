/**
 * Handlers for `file.*` (issue 12): relayed, end-to-end encrypted file transfers. The server
 * stores and returns opaque ciphertext (it never parses it) through `FileStore`; only the sender
 * writes a file, only the recipient reads it or marks it done, either may abort it. A room's file
 * (`room`, issue 36) is one upload for the room: its sender must be a member, every member (as the
 * server lists them at each request) may read it; a member's done or abort counts for that member
 * only, and the ciphertext goes once every other member it was for took it (or it expires): the
 * members when it was created and still in the room (one who joins later was not offered it, like
 * the room's older messages); only the sender withdraws it for everyone. A `direct` file (a DM's
 * sent by the direct path only) is a record without bytes: no quota, no body taken; a recipient
 * marks a DM's file done while it is still uploading (it came by the direct path). Bounds: the
 * declared size is the most a file may grow to (writing past it is refused), each sender's waiting
 * bytes stay under `--file-quota`, everyone's under `--files-max`, the disk keeps `--min-free`
 * (`disk_full`), and each body is at most `FILE_BODY_MAX` (`noRoomFor`).
 *
 * `file.wait` (issue 36) is answered later, from the store's watcher, so it never holds up the
 * connection's other requests: at most MAX_WAITS per connection, each at most FILE_WAIT_MAX_MS.
 *
 * In a cluster the files folder is shared: a fid this node does not know is read from it
 * (`lookup`), and a file held by a node that does not share this node's folder is answered
 * `files_not_shared` (file_share.ts), never "no such file".
 */
import { ErrorCode, TAKEN_ELSEWHERE } from "../protocol/errors.ts";
import { release } from "../common/bytes.ts";
import { frameWithRoom, releaseBody } from "../protocol/frame.ts";
import { FILE_BODY_MAX, type Request } from "../protocol/messages.ts";
import { normalizeName } from "../protocol/names.ts";
import { sizeText } from "../common/progress.ts";
import type { Core } from "./core.ts";
import { type FileEntry, type FileStore, MAX_FILES_PER_USER } from "./file_store.ts";
import type { Session } from "./session.ts";

const show = (f: FileEntry) => ({
  fid: f.fid,
  from: f.from,
  to: f.to,
  ...(f.room ? { room: true } : {}),
  size: f.size,
  ...(f.direct ? { direct: true } : {}),
  have: f.have,
  state: f.state,
  expires: f.expires,
});

export interface FileHandlers {
  "file.put": (c: Core, s: Session, m: Request<"file.put">, body: Uint8Array) => Promise<void>;
  "file.get": (c: Core, s: Session, m: Request<"file.get">) => Promise<void>;
  "file.list": (c: Core, s: Session, m: Request<"file.list">) => Promise<void>;
  "file.wait": (c: Core, s: Session, m: Request<"file.wait">) => Promise<void>;
  "file.done": (c: Core, s: Session, m: Request<"file.done">) => Promise<void>;
  "file.abort": (c: Core, s: Session, m: Request<"file.abort">) => Promise<void>;
}

/** `file.wait`s one connection may have pending at once. */
export const MAX_WAITS = 8;

/**
 * Why the server cannot hold a relayed file of `size` bytes from `user` (null: it can): everyone's
 * cap (`--files-max`), the sender's (`--file-quota`: a file larger than it alone is `file_too_large`,
 * one that would fit once the sender's waiting files are taken `over_quota`), the disk's floor.
 */
function noRoomFor(
  c: Core,
  user: string,
  store: FileStore,
  size: number,
): { code: string; msg: string } | null {
  const all = store.usedAll();
  if (c.config.filesMaxBytes && all + size > c.config.filesMaxBytes) {
    c.log.warn("files.full", { user, size, used: all });
    return {
      code: ErrorCode.ServerFull,
      msg: "The server holds as many waiting files as it keeps for everyone; try again once some are fetched",
    };
  }
  const quota = store.quota;
  if (size > quota) {
    return {
      code: ErrorCode.FileTooLarge,
      msg:
        `That file is ${sizeText(size)} with its encryption: more than the ${sizeText(quota)} this server ` +
        "relays for one sender",
    };
  }
  const used = store.used(user);
  if (used + size > quota) {
    return {
      code: ErrorCode.OverQuota,
      msg:
        `That file is ${sizeText(size)} with its encryption, and ${sizeText(used)} of yours wait for their ` +
        `recipients: the server holds at most ${sizeText(quota)} for you (try again once they took them)`,
    };
  }
  return c.disk.refusal(store.dir, size); // the whole declared size must fit above the floor
}

/** Answers `file.*` requests over one FileStore; owns each connection's count of pending `file.wait`s. */
class FileRequests {
  /** The `file.wait`s pending per connection. */
  readonly #waits = new WeakMap<Session, number>();

  constructor(readonly store: FileStore) {}

  /** Says why `fid` cannot be found: on a node whose folder this one cannot see, or nowhere. */
  #missing(s: Session, id: number, fid: string): void {
    const node = this.store.elsewhere(fid);
    if (node) {
      return s.fail(
        id,
        ErrorCode.FilesNotShared,
        `That file is on another node of this cluster (${node}), whose files folder this node cannot see: ` +
          "relayed files in a cluster need --files-dir on a folder every node shares (send with --direct-only to skip the server)",
      );
    }
    s.fail(
      id,
      ErrorCode.NoSuchFile,
      "There is no such file on the server (it expired, or its sender withdrew it)",
    );
  }

  /** Whether `user` may read `f`: its recipient, or a member of its room (its sender included). */
  async #mayRead(c: Core, f: FileEntry, user: string): Promise<boolean> {
    return f.room ? (await c.roomMembers(f.to))?.has(user) === true : f.to === user;
  }

  /**
   * A member took or declined a room's file; it goes once every other member it was for (those in
   * the room when it was created, and still in it) did.
   */
  async #took(c: Core, f: FileEntry, user: string): Promise<void> {
    const now = (await c.roomMembers(f.to)) ?? new Set<string>();
    const others = (f.members ?? [...now]).filter((u) => u !== f.from && now.has(u));
    if (await this.store.took(f, user, others)) {
      c.log.info("file.done", { fid: f.fid, from: f.from, room: f.to });
    }
  }

  /** A new file's record, from its first `file.put` at offset 0; undefined once refused (said to `s`). */
  async #create(c: Core, s: Session, m: Request<"file.put">): Promise<FileEntry | undefined> {
    if (m.direct && m.room) {
      return void s.fail(
        m.id,
        ErrorCode.Invalid,
        "A room's file goes through the server: it cannot be direct",
      );
    }
    const to = normalizeName(m.to);
    let members: string[] | undefined;
    if (m.room) {
      const now = to ? await c.roomMembers(to) : null;
      if (!to || !now?.has(s.user)) {
        return void s.fail(m.id, ErrorCode.NotMember, `You are not in a room named ${m.to}`);
      }
      members = [...now].filter((u) => u !== s.user);
    } else if (!to || !(await c.knownUser(to))) {
      return void s.fail(m.id, ErrorCode.NoSuchUser, `There is no user named ${m.to}`);
    }
    if (this.store.count(s.user) >= MAX_FILES_PER_USER) {
      return void s.fail(m.id, ErrorCode.OverQuota, `You have ${MAX_FILES_PER_USER} files waiting already`);
    }
    const refused = m.direct ? null : noRoomFor(c, s.user, this.store, m.size);
    if (refused) return void s.fail(m.id, refused.code, refused.msg);
    c.log.info("file.create", {
      fid: m.fid,
      from: s.user,
      to,
      size: m.size,
      room: m.room === true,
      direct: m.direct === true,
    });
    return await this.store.create({
      fid: m.fid,
      from: s.user,
      to,
      size: m.size,
      ...(m.room ? { room: true, members } : {}),
      ...(m.direct ? { direct: true } : {}),
    });
  }

  async put(c: Core, s: Session, m: Request<"file.put">, body: Uint8Array): Promise<void> {
    if (body.length > FILE_BODY_MAX) {
      return s.fail(m.id, ErrorCode.Invalid, `A file body is at most ${FILE_BODY_MAX} bytes`);
    }
    let f = await this.store.lookup(m.fid);
    if (!f) {
      if (m.off !== 0) return this.#missing(s, m.id, m.fid);
      f = await this.#create(c, s, m);
      if (!f) return;
    }
    if (f.from !== s.user || f.to !== normalizeName(m.to) || f.size !== m.size || !f.room !== !m.room) {
      return this.#missing(s, m.id, m.fid);
    }
    if (m.off + body.length > f.size) {
      return s.fail(m.id, ErrorCode.FileTooLarge, "That is more data than the file's declared size");
    }
    // The sender went on from another node of a cluster, or asks where it stands (no body: it resumes,
    // and the bus may not have told this node of bodies another one took yet): read what the folder holds.
    if (f.state === "uploading" && (m.off !== f.have || !body.length)) {
      f = await this.store.refresh(f.fid) ?? f;
    }
    if (f.state !== "uploading" || m.off !== f.have || !body.length) {
      return s.reply(m.id, { have: f.have, state: f.state, ...(f.direct ? { direct: true } : {}) });
    }
    if (f.direct) {
      return s.fail(
        m.id,
        ErrorCode.Invalid,
        "That file goes straight to its recipient: the server takes none of it",
      );
    }
    if (this.store.writing.has(f.fid)) {
      return s.fail(m.id, ErrorCode.Busy, "This file is being written; retry");
    }
    const low = c.disk.refusal(this.store.dir, body.length);
    if (low) return s.fail(m.id, low.code, low.msg);
    this.store.writing.add(f.fid);
    try {
      await this.store.append(f, body);
    } finally {
      this.store.writing.delete(f.fid);
    }
    releaseBody(body); // written: a frame with a buffer of its own is freed now, not at a collection
    s.reply(m.id, { have: f.have, state: f.state });
  }

  async get(c: Core, s: Session, m: Request<"file.get">): Promise<void> {
    const f = await this.store.lookup(m.fid);
    if (f?.state === "done" && !f.room && f.to === s.user) { // its data went when it was taken
      return s.fail(m.id, ErrorCode.FileTaken, TAKEN_ELSEWHERE);
    }
    if (!f || f.state === "done" || !(await this.#mayRead(c, f, s.user))) {
      return this.#missing(s, m.id, m.fid);
    }
    if (f.direct) {
      return s.fail(
        m.id,
        ErrorCode.DirectOnly,
        "That file comes only straight from its sender: the server holds none of it",
      );
    }
    if (m.off > f.have) return s.reply(m.id, { have: f.have, size: f.size, state: f.state });
    const len = Math.max(0, Math.min(m.len, f.have - m.off)); // m.off ≤ f.have here
    // Never more than half the send queue waiting (a slow reader is fed gently, not dropped).
    if (s.outbox.bytes + len > c.config.maxQueueBytes / 2) await s.outbox.drained();
    // The stored bytes are read straight into the reply frame (no second buffer, no copy).
    const h = { t: "ok", id: m.id, have: f.have, size: f.size, state: f.state } as const;
    const { frame, body } = frameWithRoom(h, len);
    const n = await this.store.readInto(f, m.off, body);
    if (s.state === "closed") return;
    if (n === body.length) {
      // Freed once written (the outbox wakes its drain waiters after its last write), not at a collection.
      if (s.outbox.push(frame)) void s.outbox.drained().then(() => release(frame));
    } else s.send(h, body.subarray(0, n)); // the stored file was shorter than its record says
  }

  async list(c: Core, s: Session, m: Request<"file.list">): Promise<void> {
    const files: FileEntry[] = [];
    for (const f of this.store.list(s.user, () => true)) {
      if (f.from === s.user || (await this.#mayRead(c, f, s.user))) files.push(f);
    }
    s.reply(m.id, { files: files.map(show) });
  }

  async wait(c: Core, s: Session, m: Request<"file.wait">): Promise<void> {
    const f = await this.store.lookup(m.fid);
    if (!f || (f.from !== s.user && !(await this.#mayRead(c, f, s.user)))) {
      return this.#missing(s, m.id, m.fid);
    }
    const moved = f.have !== m.have || f.state !== m.state;
    if (moved || m.ms === 0) return s.reply(m.id, { have: f.have, size: f.size, state: f.state });
    const pending = this.#waits.get(s) ?? 0;
    if (pending >= MAX_WAITS) return s.fail(m.id, ErrorCode.Busy, `At most ${MAX_WAITS} waits at once`);
    this.#waits.set(s, pending + 1);
    // Woken by a change, or not: then it reads the folder again (another node's change whose bus
    // event was lost shows this way). A wake that changed nothing the waiter knows (a late event of
    // an earlier change, from another node) waits on for the rest of its time.
    const until = c.clock.now() + m.ms;
    let stop = () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (ms: number) => {
      stop = this.store.watch.watch(m.fid, () => void answer(true));
      timer = setTimeout(() => void answer(false), ms);
    };
    const answer = async (woken: boolean) => {
      clearTimeout(timer);
      stop();
      const now = woken ? this.store.get(m.fid) : await this.store.refresh(m.fid);
      const left = until - c.clock.now();
      if (
        woken && now && now.have === m.have && now.state === m.state && left > 0 && s.state !== "closed"
      ) {
        return arm(left);
      }
      this.#waits.set(s, (this.#waits.get(s) ?? 1) - 1);
      if (s.state === "closed") return;
      if (now) s.reply(m.id, { have: now.have, size: now.size, state: now.state });
      else this.#missing(s, m.id, m.fid);
    };
    arm(m.ms);
  }

  async done(c: Core, s: Session, m: Request<"file.done">): Promise<void> {
    const f = await this.store.lookup(m.fid);
    if (!f || !(await this.#mayRead(c, f, s.user))) return this.#missing(s, m.id, m.fid);
    // A file its sender still uploads came by the direct path: its recipient has it all the same.
    if (f.state === "uploading" && f.room) {
      return s.fail(m.id, ErrorCode.Invalid, "The file is not complete on the server yet");
    }
    if (f.room) {
      if (f.state !== "done") await this.#took(c, f, s.user);
    } else if (f.state !== "done") {
      await this.store.done(f);
      c.log.info("file.done", { fid: f.fid, from: f.from, to: f.to });
    }
    s.reply(m.id, {});
  }

  async abort(c: Core, s: Session, m: Request<"file.abort">): Promise<void> {
    const f = await this.store.lookup(m.fid);
    if (!f || (f.from !== s.user && !(await this.#mayRead(c, f, s.user)))) {
      return this.#missing(s, m.id, m.fid);
    }
    if (f.room && f.from !== s.user) { // a member declines: for that member only
      if (f.state !== "done") await this.#took(c, f, s.user);
      return s.reply(m.id, {});
    }
    await this.store.remove(f.fid);
    c.log.info("file.abort", { fid: f.fid, by: s.user });
    s.reply(m.id, {});
  }
}

/** The `file.*` handlers of the server's command table, over `store`. */
export function fileHandlers(store: FileStore): FileHandlers {
  const r = new FileRequests(store);
  return {
    "file.put": (c, s, m, body) => r.put(c, s, m, body),
    "file.get": (c, s, m) => r.get(c, s, m),
    "file.list": (c, s, m) => r.list(c, s, m),
    "file.wait": (c, s, m) => r.wait(c, s, m),
    "file.done": (c, s, m) => r.done(c, s, m),
    "file.abort": (c, s, m) => r.abort(c, s, m),
  };
}
