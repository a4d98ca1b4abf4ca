/**
 * Per-connection bounded send queue. Small frames are written straight into a buffer of the queue
 * (a header encoded in place: `pushJson`, `pushMsg`, `pushStored`), so a burst
 * costs no allocation per frame; a frame encoded once for many outboxes (`push`) is queued as it is.
 * Queued frames go out in one write (up to MAX_WRITE bytes). Writes start once the turn of the event loop that queued
 * the frames is over (turn.ts `onNextTurn`): the replies and deliveries of one group commit,
 * resolved one microtask after another, go out in one write per connection. All of a turn's writes start
 * in one turn, a room of 1,000's too (~10 ms): started a 4 ms slice at a time with a 0 ms timer between
 * (the one pause that lets sockets in, ~2 ms on Deno 2.9.6), its p99 went 24–27 → 38–49 ms and an
 * outsider's ping p99 19–24 → 34–38 ms in `deno task bench rooms` (issue 73; a reply queued behind the
 * slices left). Frames pushed while a
 * write is in flight go in the next single write. When queued bytes would pass `maxBytes` the
 * connection is declared too slow via `onOverflow` and nothing more is accepted: a slow reader
 * never slows anyone else.
 * The buffers come from a pool shared by every outbox (sizes 1 to 64 KiB) and go back once written:
 * an idle connection holds none.
 */
import { frameOfJson } from "../protocol/frame.ts";
import {
  FRAME_PREFIX,
  type MsgFields,
  msgFrameMost,
  msgJson,
  putFrame,
  putMsgFrame,
  putStoredFrame,
  STORED_FRAME_MOST,
  storedJson,
} from "../protocol/frame_put.ts";
import { onNextTurn } from "../common/turn.ts";
import { writeAll } from "../common/bytes.ts";

export interface ByteWriter {
  /** Resolves once `p` was handed on: its bytes may change afterwards. */
  write(p: Uint8Array): Promise<number>;
  /**
   * Where it can: hands all of `p` on and calls `done` once it was (no argument or null; its bytes
   * may change afterwards), or with the error when it failed; never before returning. Preferred to
   * `write`: no promise per write.
   */
  writeThen?(p: Uint8Array, done: (err?: unknown) => void): void;
}

/** Sizes of the pooled buffers: a queue's first is the smallest that fits, each next one twice its last (to BUF_MAX). */
const BUF_MIN = 1024, BUF_MAX = 64 * 1024;
/** Frames longer than this are never copied into a pooled buffer. */
export const COPY_MAX = 16 * 1024;

/**
 * The most bytes the frame of a `jsonLength`-unit header text and a `bodyLength`-byte body can take
 * (at most 3 UTF-8 bytes per UTF-16 unit) when that is small enough for a pooled buffer (such a
 * frame fits any buffer `#room` gives); 0 when it is not.
 */
export function smallFrame(jsonLength: number, bodyLength: number): number {
  const most = FRAME_PREFIX + 3 * jsonLength + bodyLength;
  return most <= COPY_MAX ? most : 0;
}
/** Bytes of queued frames joined into one write, at most. */
const MAX_WRITE = 256 * 1024;
/** Bytes of free buffers kept in the pool per size, at most. */
const POOL_BYTES = 1024 * 1024;
/** Free buffers by size (1, 2, 4 … 64 KiB). */
const pools = new Map<number, Uint8Array[]>();
/**
 * Outboxes whose first frames came in this turn (the first `dueN` of `due`): their writes start once it
 * is over (all its frames in one). Two arrays taking turns (`spare`: the one emptied last), so a turn's
 * start makes no copy; emptied by count and cleared slot by slot, never by `length = 0`, which gives an
 * array's store back to V8 (a paced room's every message then grew one from nothing: ~25 bytes a
 * delivery, issue 37).
 */
let due: (Outbox | null)[] = [], spare: (Outbox | null)[] = [], dueN = 0;

/** A buffer of `size` bytes (a power of two from BUF_MIN to BUF_MAX), from the pool when one is free. */
function take(size: number): Uint8Array {
  return pools.get(size)?.pop() ?? new Uint8Array(size);
}

function giveBack(buf: Uint8Array): void {
  let free = pools.get(buf.length);
  if (!free) pools.set(buf.length, free = []);
  if ((free.length + 1) * buf.length <= POOL_BYTES) free.push(buf);
}

/** The size of a new buffer after one of `last` bytes (0: none), for at least `need` bytes. */
function nextSize(last: number, need: number): number {
  let n = Math.min(BUF_MAX, Math.max(BUF_MIN, last * 2));
  while (n < need) n *= 2;
  return n;
}

/** A pooled buffer of the queue, filled up to `len`. (A frame queued as it is sits in the queue itself.) */
interface Piece {
  buf: Uint8Array;
  len: number;
}

const lenOf = (x: Uint8Array | Piece): number => x instanceof Uint8Array ? x.length : x.len;

export class Outbox {
  #q: (Uint8Array | Piece)[] = [];
  #bytes = 0;
  #writing = false;
  #closed = false;
  #drainWaiters: (() => void)[] = [];
  /** The size of the buffer this outbox needed last (a new one starts there). */
  #size = BUF_MIN;
  /** Bytes of the write in flight, and its buffer when pooled (given back once written). */
  #sent = 0;
  #sentBuf: Uint8Array | null = null;

  constructor(
    readonly w: ByteWriter,
    readonly maxBytes: number,
    readonly onOverflow: () => void,
    readonly onError: (e: unknown) => void,
  ) {}

  /** Bytes queued or in flight. */
  get bytes(): number {
    return this.#bytes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues an encoded frame as it is (the same bytes may sit in many outboxes: a room's fan-out): it
   * must not change until written.
   */
  push(frame: Uint8Array): boolean {
    if (!this.#admit(frame.length)) return false;
    this.#q.push(frame); // (no object per frame: a room's fan-out pushes one to every member)
    return this.#queued(frame.length);
  }

  /**
   * Queues the frame of header text `json` and `body`, encoded straight into the queue's buffer when
   * small; returns its length, 0 when it was not queued.
   */
  pushJson(json: string, body: Uint8Array): number {
    const most = smallFrame(json.length, body.length);
    if (!most) {
      const f = frameOfJson(json, body);
      return this.push(f) ? f.length : 0;
    }
    if (this.#closed) return 0;
    const p = this.#room(most);
    return this.#placed(p, putFrame(p.buf, p.len, json, body));
  }

  /**
   * Queues the `msg` frame of `m` and `body` (`pushJson` of `msgJson(m)`), written straight into the
   * queue's buffer without its text when it can (frame_put.ts `putMsgFrame`: one per delivered
   * message); returns its length, 0 when it was not queued.
   */
  pushMsg(m: MsgFields, body: Uint8Array): number {
    const most = msgFrameMost(m, body.length);
    if (most <= COPY_MAX && !this.#closed) {
      const p = this.#room(most);
      const end = putMsgFrame(p.buf, p.len, m, body);
      if (end >= 0) return this.#placed(p, end);
    }
    return this.pushJson(msgJson(m), body);
  }

  /** Queues the ok reply to a stored `send` (`pushJson` of `storedJson`), written as `pushMsg` writes. */
  pushStored(id: number, seq: number, ts: number): number {
    if (!this.#closed) {
      const p = this.#room(STORED_FRAME_MOST);
      const end = putStoredFrame(p.buf, p.len, id, seq, ts);
      if (end >= 0) return this.#placed(p, end);
    }
    return this.pushJson(storedJson(id, seq, ts), new Uint8Array(0));
  }

  /** Takes the frame just written into `p` up to `end`; returns its length, 0 when it was not admitted. */
  #placed(p: Piece, end: number): number {
    const n = end - p.len;
    if (!this.#admit(n)) return 0;
    p.len = end;
    this.#queued(n);
    return n;
  }

  /** Resolves when everything queued so far has been written (or the outbox closed). */
  drained(): Promise<void> {
    if (!this.#writing || this.#closed) return Promise.resolve();
    return new Promise((r) => this.#drainWaiters.push(r));
  }

  /** Stops accepting frames; pending ones are discarded. */
  close(): void {
    this.#closed = true;
    this.#drop();
    this.#wake();
  }

  /** False (and the outbox closed as too slow) when `n` more bytes would pass `maxBytes`. */
  #admit(n: number): boolean {
    if (this.#closed) return false;
    if (this.#bytes + n <= this.maxBytes) return true;
    this.#closed = true;
    this.#drop();
    this.onOverflow();
    return false;
  }

  /**
   * The queue's last buffer with room for `n` more bytes: grown (copied into one twice as big, to
   * BUF_MAX) when it lacks it, so frames pushed together go out in one write; else a new buffer
   * queued after it, sized like the last one this outbox needed.
   */
  #room(n: number): Piece {
    const q = this.#q.length ? this.#q[this.#q.length - 1]! : null;
    const last = q instanceof Uint8Array ? null : q;
    if (last) {
      if (last.buf.length - last.len >= n) return last;
      if (last.len + n <= BUF_MAX) {
        const buf = take(nextSize(last.buf.length, last.len + n));
        buf.set(last.buf.subarray(0, last.len));
        giveBack(last.buf);
        last.buf = buf;
        this.#size = buf.length;
        return last;
      }
    }
    const p = { buf: take(nextSize(this.#size / 2, n)), len: 0 };
    this.#q.push(p);
    return p;
  }

  #queued(n: number): boolean {
    this.#bytes += n;
    if (!this.#writing) {
      this.#writing = true;
      due[dueN++] = this;
      if (dueN === 1) onNextTurn(Outbox.#startDue);
    }
    return true;
  }

  /** Starts the writes of every outbox that got frames in this turn of the event loop. */
  static #startDue(): void {
    const now = due, n = dueN;
    due = spare;
    dueN = 0;
    for (let i = 0; i < n; i++) {
      const o = now[i]!; // (indexed: no iterator objects)
      now[i] = null;
      o.#flush();
    }
    spare = now;
  }

  #drop(): void {
    for (const p of this.#q) if (!(p instanceof Uint8Array)) giveBack(p.buf);
    this.#q = [];
  }

  /**
   * Writes the first queued pieces (they leave the queue now: nothing more is written into them), up
   * to MAX_WRITE bytes in one write, several copied into one buffer; the next write starts once this
   * one was handed on (`#written`). No promise per write when the writer takes a callback
   * (`writeThen`): a paced room's fan-out is one small write per member per commit.
   */
  #flush(): void {
    const q = this.#q;
    if (q.length === 0 || this.#closed) return this.#idle();
    let n = lenOf(q[0]!), k = 1;
    while (k < q.length && n + lenOf(q[k]!) <= MAX_WRITE) n += lenOf(q[k++]!);
    let buf: Uint8Array, own = true;
    if (k === 1) {
      // pop when it is the only one: shift leaves an array whose next push allocates its store again
      const first = q.length === 1 ? q.pop()! : q.shift()!;
      if (first instanceof Uint8Array) {
        buf = first;
        own = false;
      } else buf = first.buf;
    } else {
      own = n <= BUF_MAX;
      buf = own ? take(nextSize(0, n)) : new Uint8Array(n);
      for (let i = 0, o = 0; i < k; i++) {
        const p = q.shift()!;
        if (p instanceof Uint8Array) buf.set(p, o);
        else {
          buf.set(p.len === p.buf.length ? p.buf : p.buf.subarray(0, p.len), o);
          giveBack(p.buf);
        }
        o += lenOf(p);
      }
    }
    this.#sent = n;
    this.#sentBuf = own ? buf : null;
    const out = n === buf.length ? buf : buf.subarray(0, n);
    try {
      if (this.w.writeThen) this.w.writeThen(out, this.#written);
      else this.#writeAll(out);
    } catch (e) {
      this.#failed(e);
    }
  }

  /** `out` through the writer's `write` (one without `writeThen`; apart: ARCHITECTURE.md rule 9). */
  #writeAll(out: Uint8Array): void {
    writeAll(this.w, out).then(() => this.#written(null), (e) => this.#failed(e));
  }

  /** The write in flight was handed on (or failed: `err`): its bytes are no longer queued; the next one. */
  readonly #written = (err?: unknown): void => {
    if (err) return this.#failed(err);
    this.#bytes -= this.#sent;
    const buf = this.#sentBuf;
    if (buf) {
      this.#sentBuf = null;
      giveBack(buf);
      // Mostly empty: the next one starts smaller (a burst once does not keep its size for good).
      if (this.#sent * 4 < buf.length) this.#size = Math.max(BUF_MIN, buf.length / 2);
    }
    this.#flush();
  };

  #failed(e: unknown): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#drop();
      this.onError(e);
    }
    this.#idle();
  }

  #idle(): void {
    this.#writing = false;
    this.#wake();
  }

  #wake(): void {
    if (this.#drainWaiters.length === 0) return; // (after every write: no new array)
    const w = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const r of w) r();
  }
}
