/**
 * The copies of watch together in peer mode (peer/watch.ts, issue 39.7). A video is named by its
 * file's SHA-256; a copy here is a file the user named (`name`) or one this node received or sent
 * (files/carried.ts, by the SHA-256 of its transfer; a peer asking learns only of the files exchanged
 * with it), hashed again before it counts (a file changed since is no copy; hashes cached by path,
 * size and time). `offer` sends a copy through the peer
 * file transfer and waits until the peer saved it, or refused it (thrown with its reason:
 * files/carried_common.ts `sentEnd`, the wait of `/send PEER` too). The disk calls are files/disk.ts's.
 */
import { BackendError, type BackendEvent, type FileEntryInfo } from "../backend.ts";
import { hashFile, sendable } from "../files/disk.ts";
import { sentEnd } from "../files/carried_common.ts";

/** What the copies need of their node. */
export interface CopiesHost {
  readonly files: { list(): FileEntryInfo[] };
  sendFile(peer: string, path: string): Promise<{ fid: string; name: string }>;
  on(l: (e: BackendEvent) => void): () => void;
}

export class WatchCopies {
  /** Files the user named: SHA-256 → path. */
  readonly #named = new Map<string, string>();
  /** Hashes of files looked at: "path size mtime" → SHA-256. */
  readonly #hashes = new Map<string, string>();

  constructor(readonly host: CopiesHost) {}

  /** A file the user named: its SHA-256, real path and name (remembered as a copy). */
  async name(path: string): Promise<{ sha: string; real: string; name: string }> {
    const f = await sendable(path);
    const sha = await this.#hash(f);
    this.#named.set(sha, f.real);
    return { sha, real: f.real, name: f.name };
  }

  /**
   * A copy of the video whose SHA-256 is `sha` here, or null. `askedBy`: a peer asks, and is
   * answered only from the files the user named or exchanged with that peer (another peer's files
   * are not theirs to learn of).
   */
  async of(sha: string, askedBy?: string): Promise<string | null> {
    const named = this.#named.get(sha);
    const files = this.host.files.list()
      .filter((f) => f.sha256 === sha && f.path && (askedBy === undefined || f.peer === askedBy))
      .map((f) => f.path!);
    for (const p of [...(named ? [named] : []), ...files]) {
      const f = await sendable(p).catch(() => null);
      if (f && (await this.#hash(f).catch(() => "")) === sha) return f.real;
    }
    return null;
  }

  /** Offers `path` (named `name`) to `peer`; resolves once the peer saved it. */
  async offer(peer: string, path: string, name: string): Promise<void> {
    const r = await this.host.sendFile(peer, path);
    await sentEnd((l) => this.host.on(l), r.fid).catch((e) => {
      throw new BackendError(
        "file_failed",
        `${peer} has no copy of ${name} and did not take it: ${e.message}`,
      );
    });
  }

  async #hash(f: { real: string; size: number; mtime: number }): Promise<string> {
    const k = `${f.real} ${f.size} ${f.mtime}`;
    const known = this.#hashes.get(k);
    if (known) return known;
    const sha = await hashFile(f.real);
    this.#hashes.set(k, sha);
    return sha;
  }
}
