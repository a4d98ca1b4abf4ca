/**
 * The storage contract of the crypto façade. Values are plain JSON. `get` may be synchronous or
 * return a promise; `commit` must apply all puts and deletes atomically (one SQLite transaction),
 * so ratchet state, consumed prekeys and replay records are never half-written. Callers that want
 * the decrypted message in the same transaction use `DmManager.openDm()` and commit its writes
 * together with the message themselves.
 *
 * Keys used: "identity", "spk:current", "spk:ids", "spk:<id>", "opk:next", "opk:<id>",
 * "session:<user>", "contact:<user>", "seen:<user>".
 */

/** Keystore changes to commit together: values to put (JSON) and keys to delete. */
export interface StoreWrites {
  /** key → its new JSON value */
  put: Record<string, unknown>;
  /** keys to delete */
  del: string[];
}

/** Where crypto state lives: a key → JSON value store whose writes commit atomically. */
export interface CryptoStateStore {
  /** The JSON value at `key`, or undefined. */
  get(key: string): unknown | Promise<unknown>;
  /** Applies every put and delete atomically. */
  commit(writes: StoreWrites): void | Promise<void>;
}

/** Merges `b` into `a` (later writes win). */
export function mergeWrites(a: StoreWrites, b: StoreWrites): StoreWrites {
  const put = { ...a.put, ...b.put };
  for (const k of b.del) delete put[k];
  return { put, del: [...a.del.filter((k) => !(k in b.put)), ...b.del] };
}

/** An in-memory store (tests, benchmarks); values are deep-copied through JSON like a database would. */
export class MemoryCryptoStore implements CryptoStateStore {
  readonly data = new Map<string, string>();

  get(key: string): unknown {
    const v = this.data.get(key);
    return v === undefined ? undefined : JSON.parse(v);
  }

  commit(w: StoreWrites): void {
    for (const [k, v] of Object.entries(w.put)) this.data.set(k, JSON.stringify(v));
    for (const k of w.del) this.data.delete(k);
  }

  /** A JSON snapshot of everything (tests compare before/after). */
  snapshot(): string {
    return JSON.stringify([...this.data.entries()].sort());
  }
}
