/**
 * The open-file cache of the relayed files (file_store.ts): the handles of files being uploaded and
 * downloaded stay open between requests, keyed by mode ("r"/"w") and fid, at most `MAX_OPEN` of them
 * (idle ones closed least recently used first), so a body costs no open and, read or written in
 * order, no seek. Operations on one handle run one after another; a handle that failed is closed.
 * A named file-system module (with file_store.ts and file_meta.ts); a handle is opened only on a
 * regular file, never through a link (file_meta.ts `openRegularSync`).
 */
import { openRegularSync } from "./file_meta.ts";

/** A file handle kept between requests: where the last operation left it, and a queue of them. */
interface Handle {
  file: Deno.FsFile;
  pos: number;
  busy: number;
  tail: Promise<unknown>;
  closed?: boolean;
}

/** Handles kept open at most (an upload and a download each keep one). */
export const MAX_OPEN = 32;

export class FileHandles {
  /** Least recently used first (the map's order). */
  readonly #handles = new Map<string, Handle>();

  /** `pathOf(fid)`: where a file's bytes are. */
  constructor(readonly pathOf: (fid: string) => string) {}

  /**
   * Runs `op` on the file's kept handle for `mode` (opened on first use, seeked only when `off` is not
   * where the last operation ended); operations on one handle run one after another. `op` returns
   * how far it moved.
   */
  async io(
    fid: string,
    mode: "r" | "w",
    off: number,
    op: (f: Deno.FsFile) => Promise<number>,
  ): Promise<number> {
    const key = mode + fid;
    let h = this.#handles.get(key);
    if (h) this.#handles.delete(key); // re-inserted last: the map's order is least recently used first
    else {
      for (const [k, old] of this.#handles) { // over the cap: close idle ones, oldest first
        if (this.#handles.size < MAX_OPEN) break;
        if (old.busy) continue;
        this.#handles.delete(k);
        old.file.close();
      }
      // Opened synchronously: two requests for the same file never open it twice.
      h = {
        file: openRegularSync(this.pathOf(fid), mode === "w" ? { write: true } : { read: true }),
        pos: 0,
        busy: 0,
        tail: Promise.resolve(),
      };
    }
    this.#handles.set(key, h);
    const hd = h;
    hd.busy++;
    const run = hd.tail.then(async () => {
      if (hd.closed) throw new Deno.errors.BadResource("The file was closed");
      if (hd.pos !== off) await hd.file.seek(off, Deno.SeekMode.Start);
      hd.pos = off;
      try {
        hd.pos += await op(hd.file);
      } catch (e) {
        this.drop(fid, mode);
        throw e;
      }
      return hd.pos - off;
    });
    hd.tail = run.catch(() => {});
    try {
      return await run;
    } finally {
      hd.busy--;
    }
  }

  /** Closes the kept handles of `fid` (both, or the one for `mode`) once their queued operations ran. */
  drop(fid: string, mode?: "r" | "w"): void {
    for (const m of mode ? [mode] : ["r", "w"]) {
      const h = this.#handles.get(m + fid);
      if (!h) continue;
      this.#handles.delete(m + fid);
      h.closed = true;
      void h.tail.then(() => h.file.close()).catch(() => {});
    }
  }

  /** Closes every kept handle (server shutdown). */
  async closeAll(): Promise<void> {
    const all = [...this.#handles.values()];
    this.#handles.clear();
    for (const h of all) h.closed = true;
    await Promise.all(all.map((h) => h.tail.then(() => h.file.close()).catch(() => {})));
  }
}
