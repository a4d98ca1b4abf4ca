/**
 * `CarriedDesk`: the `files` capability (`FileControls`) over files carried straight to a peer
 * (carried.ts `PeerFiles`), as desk.ts is over relayed ones: `/ls` lists the outbox folder (disk.ts),
 * `/send PEER ID|PATH` offers one and waits for its end, `/accept`, `/reject`, `/files`, and
 * `/withdraw N` (offer.ts `pickSent`, the one rule of both modes). The end of a transfer a command
 * waits for is printed by that command; the others (auto-accepted, refused offers) are notices
 * (`notice`), said once. Peer mode's full-screen backend (peer/node.ts `backend`) holds one over its node.
 */
import { type BackendEvent, type FileControls, type FileEntryInfo, missing } from "../backend.ts";
import { sizeText } from "../../common/progress.ts";
import { outboxFiles, outboxPath } from "./disk.ts";
import { pickSent } from "./offer.ts";
import type { PeerFiles } from "./carried.ts";
import { sentEnd } from "./carried_common.ts";

/** What the desk needs of its node. */
export interface CarriedDeskPorts {
  readonly files: PeerFiles;
  /** Offers `path` to `peer` (refused when `peer` may not be written to now). */
  send(peer: string, path: string): ReturnType<PeerFiles["send"]>;
  /** Adds a listener of the node's core's events (its transfers' among them); answers its removal. */
  on(l: (e: BackendEvent) => void): () => void;
}

export class CarriedDesk implements FileControls {
  /** The transfers a command waits for (their end is its to say). */
  readonly #awaited = new Set<string>();
  constructor(readonly node: CarriedDeskPorts, readonly outboxDir?: string) {}

  /**
   * The end of a transfer as the notice to say, or null when it is no transfer's end or a command
   * waiting for it prints it.
   */
  notice(end: BackendEvent): BackendEvent | null {
    if (end.type !== "file.sent" && end.type !== "file.saved" && end.type !== "file.failed") return null;
    if (this.#awaited.has(end.fid)) return null;
    const text = end.type === "file.failed"
      ? end.why
      : end.type === "file.saved"
      ? `Saved ${end.path} (${sizeText(end.size)}) from ${end.peer}`
      : `${end.peer} saved ${end.name} (${sizeText(end.size)})`;
    return { type: "notice", text, level: end.type === "file.failed" ? "error" : "info" };
  }

  outbox(): Promise<{ id: number; name: string; size: number; path: string }[]> {
    return outboxFiles(this.outboxDir);
  }

  async send(
    user: string,
    idOrPath: string,
    started?: (name: string) => void,
  ): Promise<{ name: string; size: number; sha256: string }> {
    const s = await this.node.send(user, await outboxPath(this.outboxDir, idOrPath));
    started?.(s.name);
    await this.#waiting(s.fid, () => sentEnd((l) => this.node.on(l), s.fid));
    return { name: s.name, size: s.size, sha256: await s.sum };
  }

  /** Runs `fn` with transfer `fid`'s end said by the command, not as a notice. */
  async #waiting<T>(fid: string, fn: () => Promise<T>): Promise<T> {
    this.#awaited.add(fid);
    try {
      return await fn();
    } finally {
      this.#awaited.delete(fid);
    }
  }

  /** A room needs a server: refused as a backend without the rooms capability refuses it. */
  sendRoom(): Promise<never> {
    return Promise.reject(missing("rooms"));
  }
  list(): Promise<FileEntryInfo[]> {
    return Promise.resolve(this.node.files.list());
  }
  async accept(n?: number): Promise<{ path: string; name: string; size: number; from: string }> {
    const r = await this.node.files.accept(n);
    return await this.#waiting(
      r.fid,
      async () => ({ path: await r.saved, name: r.name, size: r.size, from: r.from }),
    );
  }
  reject(n?: number): Promise<FileEntryInfo> {
    try {
      return Promise.resolve(this.node.files.reject(n));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  waiting(): Promise<number> {
    return Promise.resolve(this.node.files.waiting().length);
  }
  /** Takes back file N sent (`w` in `list`) that its peer has not saved yet; a connected peer is told. */
  withdraw(n: number): Promise<FileEntryInfo> {
    try {
      const e = pickSent(this.node.files.list(), n);
      // Its end is said by this command (and by a send still waiting for it), not again as a notice.
      const quiet = !this.#awaited.has(e.fid);
      if (quiet) this.#awaited.add(e.fid);
      this.node.files.withdraw(e.fid); // numbered: not saved by its peer yet, so it is taken back now
      if (quiet) this.#awaited.delete(e.fid);
      return Promise.resolve({ ...e, w: undefined, state: "withdrawn" });
    } catch (e) {
      return Promise.reject(e);
    }
  }
}
