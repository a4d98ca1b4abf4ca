/**
 * `FileDesk`: the full-screen client's `FileControls` (issue 12) over `FileTransfers` of whatever
 * client is current (the live backend reconnects with a new one). Numbers offers waiting from 1,
 * oldest first (`/accept N`, `/reject N`) and outbox files from 1 (`/ls`, `/send USER ID`). Progress
 * goes out as "transfer" events through the client (the backend forwards them to the screen);
 * `resume()` continues every unfinished upload (as it was offered: `FileTransfers.resume`) and
 * accepted download, once at a time per file (an upload known by its recipient and real path as its
 * record has them, `upKey`, whether typed or resumed): the launcher calls it at start and after
 * every reconnect. Files sent that their recipient does not have yet are numbered from 1 too
 * (`/withdraw N`). An active transfer's progress reaches the screen at most every PROGRESS_MS (each
 * event is a redraw; a fast transfer reports hundreds a second); its end always does.
 */
import type { FileControls, FileEntryInfo } from "../backend.ts";
import { BackendError } from "../backend.ts";
import type { ChatClient } from "../core/chat_client.ts";
import { normalizeName, withoutHash } from "../../protocol/names.ts";
import { pickOffer, pickSent } from "./offer.ts";
import { type InRecord, type OutRecord } from "./book.ts";
import { outboxFiles, outboxPath, sendable } from "./disk.ts";
import { reconcileTaken } from "./receive.ts";
import { FileTransfers, type ServerFile, type TransferProgress } from "./transfers.ts";
import { sizeText } from "../../common/progress.ts";

/** The one running upload of `path` (real) to `to` (a user, or `#room`, normalised as records keep them). */
const upKey = (to: string, path: string) => `out:${to}:${path}`;

/** How long the full-screen client waits for a recipient to open a direct path: a day (it waits again at its next start). */
export const WHILE_RUNNING_MS = 86_400_000;

/** How often an active transfer's progress reaches the screen at most, ms. */
export const PROGRESS_MS = 100;

/**
 * `emit`, passed a transfer's progress at most once per `ms` while it is active (by `now`), and
 * always its end (done, failed).
 */
export function throttled(
  now: () => number,
  emit: (p: TransferProgress) => void,
  ms = PROGRESS_MS,
): (p: TransferProgress) => void {
  const last = new Map<string, number>();
  return (p) => {
    const t = now();
    if (p.state === "active") {
      if (t - (last.get(p.fid) ?? -Infinity) < ms) return;
      last.set(p.fid, t);
    } else last.delete(p.fid);
    emit(p);
  };
}

/** Whether `FileDesk.resume(only)` takes download `r` again: any accepted one, or (`only`) that one alone. */
export const takenAgain = (r: Pick<InRecord, "fid" | "state">, only?: string): boolean =>
  r.state === "accepted" && (only === undefined || r.fid === only);

export class FileDesk implements FileControls {
  readonly #running = new Set<string>();
  /** The progress of every client this desk used, throttled (one map per client). */
  readonly #progress = new WeakMap<ChatClient, (p: TransferProgress) => void>();

  constructor(readonly client: () => ChatClient, readonly dirs: { outbox: string; downloads: string }) {}

  #ft(): FileTransfers {
    const c = this.client();
    let progress = this.#progress.get(c);
    if (!progress) this.#progress.set(c, progress = throttled(() => c.clock.now(), (p) => this.#show(c, p)));
    const ft = FileTransfers.of(c, progress);
    ft.directWaitMs = WHILE_RUNNING_MS; // a file that goes only straight waits for its recipient as long as this runs
    return ft;
  }

  #show(c: ChatClient, p: TransferProgress): void {
    c.notify({
      type: "transfer",
      id: p.fid,
      name: p.name,
      peer: p.peer,
      direction: p.direction,
      done: p.done,
      total: p.total,
      state: p.state,
      ...(p.room ? { room: p.room } : {}),
    });
  }

  async #once<T>(fid: string, fn: () => Promise<T>): Promise<T> {
    if (this.#running.has(fid)) throw new BackendError("busy", "That transfer is running already");
    this.#running.add(fid);
    try {
      return await fn();
    } finally {
      this.#running.delete(fid);
    }
  }

  outbox(): Promise<{ id: number; name: string; size: number; path: string }[]> {
    return outboxFiles(this.dirs.outbox);
  }

  async send(
    user: string,
    idOrPath: string,
    started?: (name: string) => void,
  ): Promise<{ name: string; size: number; sha256: string }> {
    const path = await outboxPath(this.dirs.outbox, idOrPath);
    const f = await sendable(path);
    const key = upKey(normalizeName(user) ?? user, f.real);
    started?.(f.name);
    return await this.#once(key, () => this.#ft().send(user, path));
  }

  async sendRoom(
    room: string,
    idOrPath: string,
    started?: (name: string) => void,
  ): Promise<{ name: string; size: number; sha256: string; to: string[] }> {
    const path = await outboxPath(this.dirs.outbox, idOrPath);
    const f = await sendable(path);
    const key = upKey(`#${normalizeName(withoutHash(room)) ?? room}`, f.real);
    started?.(f.name);
    return await this.#once(key, () => this.#ft().sendRoom(room, path));
  }

  async #waiting(): Promise<InRecord[]> {
    return (await this.#ft().incoming()).filter((r) => r.state === "offered");
  }

  async waiting(): Promise<number> {
    return (await this.#waiting()).length;
  }

  async #pick(n = 1): Promise<InRecord> {
    return pickOffer(await this.#waiting(), n);
  }

  async list(): Promise<FileEntryInfo[]> {
    const ft = this.#ft();
    const server = await this.#onServer(ft);
    if (server) await reconcileTaken(ft.ops, ft.client.user, [...server.values()]); // taken on another device
    let n = 0;
    const ins: FileEntryInfo[] = (await ft.incoming()).map((r) => ({
      ...(r.state === "offered" ? { n: ++n } : {}),
      fid: r.fid,
      direction: "in",
      peer: r.from,
      name: r.name,
      size: r.size,
      at: r.at,
      state: this.#running.has(r.fid) ? "receiving" : r.state === "accepted" ? "paused" : r.state,
      ...(r.path ? { path: r.path } : {}),
    }));
    let w = 0;
    const outs: FileEntryInfo[] = (await ft.outgoing()).map((r) => {
      const state = this.#outState(r, server);
      return {
        ...(state === "sending" || state === "paused" || state === "sent" ? { w: ++w } : {}),
        fid: r.fid,
        direction: "out",
        peer: r.to,
        name: r.name,
        size: r.size,
        at: r.at,
        state,
      };
    });
    return [...ins, ...outs];
  }

  /** The server's files of this user by id; null when it cannot be asked now (then "sent" stays so). */
  async #onServer(ft: FileTransfers): Promise<Map<string, ServerFile> | null> {
    try {
      return new Map((await ft.serverFiles()).map((f) => [f.fid, f]));
    } catch {
      return null;
    }
  }

  /**
   * What `/files` says of upload `r`: sending, paused, sent (waiting for its recipient), delivered,
   * "not on the server" (refused, or expired), failed, withdrawn.
   */
  #outState(r: OutRecord, server: Map<string, ServerFile> | null): string {
    if (r.state === "uploading") return this.#running.has(upKey(r.to, r.path)) ? "sending" : "paused";
    if (r.state !== "sent" || !server) return r.state;
    const f = server.get(r.fid);
    return f?.state === "done" ? "delivered" : f ? "sent" : "not on the server";
  }

  /** Takes back sent file N (`w` in `list`): the recipient is told, the server forgets it. */
  async withdraw(n: number): Promise<FileEntryInfo> {
    const e = pickSent(await this.list(), n);
    const r = await this.#ft().withdraw(e.fid);
    return { ...e, w: undefined, state: r.state };
  }

  async accept(
    n?: number,
  ): Promise<{ path: string; name: string; size: number; from: string; room?: string }> {
    const r = await this.#pick(n);
    const got = await this.#once(r.fid, () => this.#ft().accept(r, this.dirs.downloads));
    return { path: got.path, name: r.name, size: r.size, from: r.from, ...(r.room ? { room: r.room } : {}) };
  }

  async reject(n?: number): Promise<FileEntryInfo> {
    const r = await this.#pick(n);
    await this.#ft().reject(r);
    return { fid: r.fid, direction: "in", peer: r.from, name: r.name, size: r.size, state: "rejected" };
  }

  /**
   * Continues unfinished transfers (errors become notices); resolves when all have ended. `only`: a
   * repeated offer (`file.again`) takes that accepted download again, and nothing else.
   */
  async resume(only?: string): Promise<void> {
    const c = this.client();
    const ft = this.#ft();
    const jobs: Promise<unknown>[] = [];
    // What ends well is said too: nobody typed a command for it (a file that came once its sender was back).
    const said = (text: string) => c.notify({ type: "notice", level: "info", text });
    for (const r of await ft.incoming()) {
      if (takenAgain(r, only) && !this.#running.has(r.fid)) {
        const got = this.#once(r.fid, () => ft.accept(r, this.dirs.downloads));
        jobs.push(
          got.then((g) => said(`${r.name} from ${r.from} came: saved ${g.path} (${sizeText(r.size)})`)),
        );
      }
    }
    for (const r of only ? [] : await ft.outgoing()) {
      const key = upKey(r.to, r.path);
      if (r.state === "uploading" && !this.#running.has(key)) {
        const sent = this.#once(key, () => ft.resume(r));
        jobs.push(sent.then(() => said(`${r.name} (${sizeText(r.size)}) went to ${r.to}`)));
      }
    }
    const done = await Promise.allSettled(jobs);
    for (const d of done) {
      if (d.status === "rejected" && !c.conn.closed) {
        c.notify({
          type: "notice",
          level: "warn",
          text: `File transfer: ${String(d.reason?.message ?? d.reason)}`,
        });
      }
    }
  }
}
