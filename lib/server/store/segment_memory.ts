/**
 * `SegmentLog` in memory (segment_log.ts): the message log of a ":memory:" store and of tests.
 * Nothing survives the process; `open` finds nothing. Places are the entry's seq (one segment,
 * offset = seq). Entries are held as copies: a caller reusing its buffers changes nothing here.
 */
import type { LogEntry, LogPlace, LogStats, SegmentLog, SegmentLogOptions } from "./segment_log.ts";

export class MemorySegmentLog implements SegmentLog {
  readonly #entries = new Map<number, LogEntry>();
  #high: number;
  #bytes = 0;
  #closed = false;

  constructor(opts: SegmentLogOptions = {}) {
    this.#high = opts.floorSeq ?? 0;
  }

  get highSeq(): number {
    return this.#high;
  }

  #open(): void {
    if (this.#closed) throw new Error("The message log is closed");
  }

  append(entries: readonly LogEntry[]): Promise<LogPlace[]> {
    try {
      this.#open();
      let last = this.#high;
      for (const e of entries) {
        if (!Number.isSafeInteger(e.seq) || e.seq <= last) {
          throw new RangeError(`append: seq ${e.seq} is not above ${last}`);
        }
        last = e.seq;
      }
      return Promise.resolve(entries.map((e) => {
        this.#entries.set(e.seq, { ...e, expires: e.expires ?? null, body: e.body.slice() });
        this.#bytes += e.body.length;
        this.#high = e.seq;
        return { seg: 0, off: e.seq, len: e.body.length };
      }));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  remove(seqs: readonly number[]): Promise<void> {
    try {
      this.#open();
    } catch (e) {
      return Promise.reject(e);
    }
    for (const seq of seqs) {
      const e = this.#entries.get(seq);
      if (!e) continue;
      this.#entries.delete(seq);
      this.#bytes -= e.body.length;
    }
    return Promise.resolve();
  }

  read(places: readonly LogPlace[]): LogEntry[] {
    this.#open();
    return places.map((p) => {
      const e = this.#entries.get(p.off);
      if (!e) throw new RangeError(`read: no entry at ${p.off}`);
      return { ...e, body: e.body.slice() };
    });
  }

  compact(): Promise<void> {
    return this.#closed ? Promise.reject(new Error("The message log is closed")) : Promise.resolve();
  }

  stats(): LogStats {
    return { segments: 1, bytes: this.#bytes, deadBytes: 0 };
  }

  close(): void {
    this.#closed = true;
  }
}
