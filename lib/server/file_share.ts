/**
 * Relayed files across the nodes of a cluster. A relayed file lives in the files folder
 * (`--files-dir`), which every node of a cluster must share (NFS or alike, as Mattermost's HA asks):
 * a node that does not know a fid reads it from the folder (FileStore.lookup), and every change this
 * node makes to a file (created, a body stored, complete, a take, taken, removed) is told to the
 * others as a bus `file` event (`changed`, coalesced per turn), which only says "read it again": the
 * receiving node re-reads the sidecar and stored length from the folder (FileStore.refresh, never
 * trusting the event) and wakes its own `file.wait` waiters. A missed event (the bus is at most once)
 * costs a waiter its wait's bound: a timed-out wait reads the folder again.
 *
 * Without a shared folder the failure is early and plain: each node writes a marker in its files
 * folder (file_meta.ts) and announces itself (`node`, at start and in answer to a node it had not
 * heard, never before its own marker is written: a node starting while others run would otherwise
 * answer before its marker exists and be reported as not sharing); a node that cannot see another's marker logs `cluster.files` naming both nodes and
 * `--files-dir`, and a file one of those nodes tells about is remembered,
 * so `file.get`/`file.wait` for it answer `files_not_shared` (handlers_files.ts), not "no such file".
 * No I/O of its own besides the bus and file_meta's markers.
 */
import type { Logger } from "../common/logger.ts";
import { LruMap } from "../common/lru.ts";
import type { Bus, BusEvent } from "./bus/bus.ts";
import { hasMarker, removeMarker, writeMarker } from "./file_meta.ts";
import type { FileStore } from "./file_store.ts";

/** Files remembered as living on a node whose folder this one cannot see. */
const ELSEWHERE_MAX = 10_000;

type FileEvent = Extract<BusEvent, { t: "file" }>;

export class FileShare {
  /** Other nodes whose marker this node saw (true) or could not see (false). */
  readonly nodes = new Map<string, boolean>();
  readonly #elsewhere = new LruMap<string, string>(ELSEWHERE_MAX);
  readonly #pending = new Set<string>();
  #soon: ReturnType<typeof setTimeout> | null = null;
  /** Refreshes running per fid; a second event meanwhile runs one more after it. */
  readonly #refreshing = new Map<string, boolean>();
  /** Resolves once this node's marker is in the folder: no announcement goes before it. */
  readonly #marked = Promise.withResolvers<void>();

  constructor(readonly store: FileStore, readonly bus: Bus, readonly log: Logger) {}

  async start(): Promise<void> {
    await writeMarker(this.store.dir, this.bus.node);
    this.#marked.resolve();
    this.store.watch.onChange = (fid) => this.#changed(fid);
    this.store.elsewhere = (fid) => this.#elsewhere.get(fid) ?? null;
    this.bus.publish({ t: "file", op: "node" });
  }

  /** A change made here: told to the other nodes soon (one event per file per turn). */
  #changed(fid: string): void {
    this.#pending.add(fid);
    this.#soon ??= setTimeout(() => {
      this.#soon = null;
      for (const f of this.#pending) this.bus.publish({ t: "file", op: "changed", fid: f });
      this.#pending.clear();
    }, 0);
  }

  /** A `file` event from node `from`. */
  async on(from: string, e: FileEvent): Promise<void> {
    try {
      if (e.op === "node") await this.#heard(from);
      else if (e.fid) await this.#refresh(from, e.fid);
    } catch (err) {
      this.log.warn("cluster.files", { from, error: String(err) });
    }
  }

  /** A node announced itself: is its marker in this folder? Answered once with this node's own. */
  async #heard(from: string): Promise<void> {
    const known = this.nodes.has(from);
    const shared = await hasMarker(this.store.dir, from);
    this.nodes.set(from, shared);
    if (!known) void this.#marked.promise.then(() => this.bus.publish({ t: "file", op: "node" }));
    if (!shared && !known) {
      this.log.warn("cluster.files", {
        node: this.bus.node,
        other: from,
        filesDir: this.store.dir,
        problem: `node ${from} does not share this node's --files-dir ${this.store.dir}: ` +
          "relayed files between users on the two nodes fail; give every node --files-dir on one " +
          "shared folder (NFS or alike), or send files --direct-only",
      });
    }
  }

  async #refresh(from: string, fid: string): Promise<void> {
    if (!this.nodes.has(from)) await this.#heard(from); // its announcement was missed
    if (this.nodes.get(from) === false) return void this.#elsewhere.set(fid, from);
    if (this.#refreshing.has(fid)) return void this.#refreshing.set(fid, true);
    this.#refreshing.set(fid, false);
    try {
      do {
        this.#refreshing.set(fid, false);
        await this.store.refresh(fid);
      } while (this.#refreshing.get(fid));
    } finally {
      this.#refreshing.delete(fid);
    }
  }

  async close(): Promise<void> {
    if (this.#soon !== null) clearTimeout(this.#soon);
    this.#soon = null;
    if (this.store.watch.onChange) this.store.watch.onChange = null;
    await removeMarker(this.store.dir, this.bus.node).catch(() => {});
  }
}
