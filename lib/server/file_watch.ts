/**
 * Who waits for a relayed file to change (issue 36, `file.wait`): FileStore tells its `FileWatch`
 * when a file grows, completes, is taken or goes, and every waiter of that file is called once, then
 * forgotten. No I/O, no timers: the handler bounds each wait.
 */
export class FileWatch {
  readonly #waiters = new Map<string, Set<() => void>>();

  /** Calls `fn` once, at the next change of `fid`; returns how to stop waiting. */
  watch(fid: string, fn: () => void): () => void {
    let set = this.#waiters.get(fid);
    if (!set) this.#waiters.set(fid, set = new Set());
    set.add(fn);
    return () => {
      set.delete(fn);
      if (!set.size && this.#waiters.get(fid) === set) this.#waiters.delete(fid);
    };
  }

  /** Tells the waiters of `fid` that it changed (each once). */
  changed(fid: string): void {
    const set = this.#waiters.get(fid);
    if (!set) return;
    this.#waiters.delete(fid);
    for (const fn of set) fn();
  }

  /** Tells every waiter (the store is closing). */
  all(): void {
    for (const fid of [...this.#waiters.keys()]) this.changed(fid);
  }

  /** How many files have someone waiting for their change. */
  get size(): number {
    return this.#waiters.size;
  }
}
