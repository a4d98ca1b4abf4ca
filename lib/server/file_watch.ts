/**
 * Who waits for a relayed file to change (issue 36, `file.wait`): FileStore tells its `FileWatch`
 * when a file grows, completes, is taken or goes, and every waiter of that file is called once, then
 * forgotten. No I/O, no timers: the handler bounds each wait. In a cluster a change made on
 * this node is also handed to `onChange` (file_share.ts tells the other nodes), and one another node
 * made, seen by re-reading the shared folder, only `wake`s the waiters here. `waiting` tells whether
 * a file has a waiter now: the event a test awaits before making the change a wait is held for.
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

  /** Told of every change made on this node (null: one node alone). */
  onChange: ((fid: string) => void) | null = null;

  /** `fid` changed on this node: its waiters are told (each once), and `onChange`. */
  changed(fid: string): void {
    this.wake(fid);
    this.onChange?.(fid);
  }

  /** Tells the waiters of `fid` that it changed (each once). */
  wake(fid: string): void {
    const set = this.#waiters.get(fid);
    if (!set) return;
    this.#waiters.delete(fid);
    for (const fn of set) fn();
  }

  /** Tells every waiter (the store is closing). */
  all(): void {
    for (const fid of [...this.#waiters.keys()]) this.wake(fid);
  }

  /** Whether someone waits here for the next change of `fid`. */
  waiting(fid: string): boolean {
    return this.#waiters.has(fid);
  }

  /** How many files have someone waiting for their change. */
  get size(): number {
    return this.#waiters.size;
  }
}
