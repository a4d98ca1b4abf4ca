/**
 * Control messages filed in the folder's keystore for whichever process waits for them (issue 34
 * point 2). Every process of a client folder is the same device: each gets every message, the first
 * to take the folder's lock opens it and the others find it consumed. So a received control that a
 * process waits for (a file's direct-path candidate, a stream's frame key) is never kept in the
 * memory of the process that happened to open it: its handler returns `FiledList.writes`, committed
 * with the message's ratchet step, and the waiter takes it out (`waitFiled`, `takeFiled`) — woken at
 * once when its own process filed it (`wake`), else when the folder's one change signal says another
 * process committed (`watchFolder`: session/local_store.ts `nextForeign`), never by a poll of its own.
 * A signal opened by one process is filed too, and read (`get`, not taken) by the others (signals.ts).
 * A list keeps at most `keep` entries (the oldest go first); an entry older than `ttlMs` is dropped.
 */
import { systemClock } from "../../common/clock.ts";
import type { CryptoStateStore, StoreWrites } from "../../crypto/state_store.ts";
import type { SealedChannel } from "./controls.ts";

/** One filed control: from whom, for which id (a transfer, a stream), sent when, and its value. */
export interface FiledEntry<T> {
  /** Its sender. */
  from: string;
  /** What it is for: a transfer's id, a stream's id. */
  id: string;
  /** When it was sent (the server's time of the message). */
  at: number;
  /** What it carries (JSON, as the keystore keeps it). */
  value: T;
}

const isEntry = (x: unknown): x is FiledEntry<unknown> =>
  typeof x === "object" && x !== null && typeof (x as FiledEntry<unknown>).from === "string" &&
  typeof (x as FiledEntry<unknown>).id === "string" && typeof (x as FiledEntry<unknown>).at === "number";

const same = (e: FiledEntry<unknown>, from: string, id: string) => e.from === from && e.id === id;

/** The entries filed under one keystore key. */
export class FiledList<T> {
  /** The list under keystore key `key`: at most `keep` entries, each for `ttlMs` at most. */
  constructor(readonly key: string, readonly keep = 64, readonly ttlMs = 10 * 60_000) {}

  async #entries(cs: CryptoStateStore): Promise<FiledEntry<T>[]> {
    const l = await cs.get(this.key);
    return Array.isArray(l) ? (l.filter(isEntry) as FiledEntry<T>[]) : [];
  }

  /** The keystore writes that file `e` (replacing one from the same sender for the same id). */
  async writes(cs: CryptoStateStore, e: FiledEntry<T>): Promise<StoreWrites> {
    const kept = (await this.#entries(cs)).filter((x) => e.at - x.at < this.ttlMs && !same(x, e.from, e.id));
    return { put: { [this.key]: [...kept, e].slice(-this.keep) }, del: [] };
  }

  /** The writes that drop the entries older than `ttlMs` at `now`; null when none is. */
  async pruned(cs: CryptoStateStore, now: number): Promise<StoreWrites | null> {
    const all = await this.#entries(cs);
    const kept = all.filter((x) => now - x.at < this.ttlMs);
    if (kept.length === all.length) return null;
    return kept.length ? { put: { [this.key]: kept }, del: [] } : { put: {}, del: [this.key] };
  }

  /** Whether `from`'s entry for `id` is in `list` (the key's value: a cheap look before `take`). */
  has(list: unknown, from: string, id: string): boolean {
    return Array.isArray(list) && list.some((x) => isEntry(x) && same(x, from, id));
  }

  /** `from`'s entry for `id`, left there (for every process that reads it); undefined when none is filed. */
  async get(cs: CryptoStateStore, from: string, id: string): Promise<T | undefined> {
    return (await this.#entries(cs)).find((x) => same(x, from, id))?.value;
  }

  /** `from`'s entry for `id`, and the writes that take it out; null when none is filed. */
  async take(
    cs: CryptoStateStore,
    from: string,
    id: string,
  ): Promise<{ value: T; writes: StoreWrites } | null> {
    const list = await this.#entries(cs);
    const e = list.find((x) => same(x, from, id));
    if (!e) return null;
    return { value: e.value, writes: { put: { [this.key]: list.filter((x) => x !== e) }, del: [] } };
  }
}

/** Who waits on each channel for an entry to be filed. */
const waiters = new WeakMap<SealedChannel, Set<() => void>>();

/** How a channel hears that another process of its folder committed: calls `l` once, returns how to stop. */
export type FolderSignal = (l: () => void) => () => void;
const folders = new WeakMap<SealedChannel, FolderSignal>();

/** Tells waiters on `ch` when another process of its folder commits (start/e2e_attach.ts: the local store's). */
export function watchFolder(ch: SealedChannel, signal: FolderSignal): void {
  folders.set(ch, signal);
}

/** Wakes every waiter of `ch` at once (this process just committed a change they may wait for). */
export function wake(ch: SealedChannel): void {
  const set = waiters.get(ch);
  if (!set) return;
  waiters.delete(ch);
  for (const w of set) w();
}

/**
 * Resolves once this process files something on `ch` (`wake`), another process of the folder commits,
 * `ms` passed, or `signal` aborts — whichever comes first; nothing of it is left behind.
 */
export function filed(ch: SealedChannel, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let set = waiters.get(ch);
    if (!set) waiters.set(ch, set = new Set());
    const done = () => {
      clearTimeout(timer);
      set!.delete(done);
      stop();
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(Math.max(0, ms), 2 ** 31 - 1));
    set.add(done);
    const stop = folders.get(ch)?.(done) ?? (() => {});
    if (signal?.aborted) return done();
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Takes `from`'s entry for `id` out of the keystore when it is filed (a look without the lock first). */
export async function takeFiled<T>(
  ch: SealedChannel,
  list: FiledList<T>,
  from: string,
  id: string,
): Promise<T | undefined> {
  if (!list.has(await ch.peek(list.key), from, id)) return undefined;
  return await ch.locked(async (cs) => {
    const t = await list.take(cs, from, id);
    if (t) await cs.commit(t.writes);
    return t?.value;
  });
}

/** `from`'s entry for `id` once filed by any process of the folder, taken; undefined after `ms`. */
export async function waitFiled<T>(
  ch: SealedChannel,
  list: FiledList<T>,
  from: string,
  id: string,
  ms: number,
): Promise<T | undefined> {
  const end = systemClock.now() + ms;
  for (;;) {
    const left = end - systemClock.now();
    const look = new AbortController();
    const changed = filed(ch, left, look.signal); // listening before the look: no change falls between
    try {
      const v = await takeFiled(ch, list, from, id);
      if (v !== undefined || left <= 0) return v;
      await changed;
    } finally {
      look.abort();
    }
  }
}
