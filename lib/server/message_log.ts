/**
 * Group commit for messages. `enqueue` queues a message with its outcome's listener (`Queued`;
 * `append`: with a promise); once per event-loop turn the queue is written in one durable
 * transaction, then each stored message is fanned out and its listener told, in one loop (so the
 * sender's `ok` is sent only after the message is on disk; one promise per batch, none per
 * message). Duplicates of (sender, mid) are told null. A batch holds at most MAX_BATCH messages /
 * MAX_BATCH_BYTES. While QUEUE_HIGH messages and ack entries wait, connections' readers wait too
 * (`room`).
 * Acks queued with `ack` ride along in the next batch's transaction (one commit for both); their
 * entries count toward MAX_BATCH. Acks with no message queued wait up to ACK_HOLD_MS for one (their
 * own commit is an fsync of its own, which stalls every delivery behind it: at 200 messages/s into
 * a room of 100 whose members ack every 500 ms, half the commits were acks alone). Consecutive
 * batches are a macrotask apart (others get a turn). A commit of SLOW_COMMIT_MS or more (the disk
 * stalled: every delivery waited behind it) is told to `onSlowCommit`; `slowCommitWarner` makes
 * the server's warning of it.
 */
import { afterIo, onNextTurn, yieldToIo as yieldTurn } from "../common/turn.ts";
import type { Hub } from "./hub.ts";
import { fanOutRun, type RoomRun } from "./room_run.ts";
import { type MetricsHooks, NO_METRICS } from "./metrics.ts";
import type { Session } from "./session.ts";
import type { AckSet, NewMessage, Store, StoredMessage } from "./store/store.ts";
import { type Clock, systemTimers, type Timers } from "../common/clock.ts";
import type { Logger } from "../common/logger.ts";

/**
 * A queued message (`m`, from the session `from`), told once after its batch's commit: stored (the
 * row: `m` itself given its seq by the embedded store; null: a resend), or failed. The sender's
 * reply is the entry itself (send_reply.ts): no object of the queue's own per message in flight.
 */
export interface Queued {
  readonly m: NewMessage;
  readonly from: Session | null;
  stored(r: StoredMessage | null): void;
  failed(e: unknown): void;
}

interface PendingAck {
  set: AckSet;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Bounds of one group commit (messages plus ack entries). Much of a delivery's CPU is paid per commit
 * and per connection written to after it (the commit and its fsync, each connection's `ok`s and
 * messages in one TLS write): issue 73, workload B (100 DM pairs flat out), server CPU per delivery
 * 22.35 → 20.70 µs at 2,000 rather than 1,000 (4 interleaved rounds on a loaded machine).
 */
export const MAX_BATCH = 2000;
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/**
 * Messages and ack entries queued (not yet in a commit: `backlog`) from which a connection's reader
 * waits (`room`) with what it read, unparsed, until a commit takes a batch: two batches ahead keep
 * every commit full, and a flood waits as bytes in buffers and the senders' sockets rather than as
 * objects. Issue 37, B: 200 connections writing as fast as they could had up to 39,700 sends
 * queued (median 23,300 at a commit); held for tens of ms, their objects outlived the young
 * generation, and the collector copied and promoted them.
 */
export const QUEUE_HIGH = 2 * MAX_BATCH;
/** How long acks wait for a message batch to ride along with before they are committed alone, ms. */
export const ACK_HOLD_MS = 20;
/**
 * A group commit at least this long is told to `onSlowCommit` (ms). One is ~1 ms on this project's
 * test VM; its fsync now and then takes 50–450 ms while another process writes to the disk.
 */
export const SLOW_COMMIT_MS = 100;
/** After a slow-commit warning, the next waits at least this long (ms): a sick disk does not flood the log. */
export const SLOW_REPORT_MS = 60_000;

/** Told of one slow group commit: how long it took (ms), and the messages and acks it wrote. */
export type SlowCommit = (ms: number, messages: number, acks: number) => void;

/**
 * The server's `onSlowCommit`: the warning `store.slow_commit` at the first slow commit, then at
 * most one per SLOW_REPORT_MS, saying how many slow commits there were since the last warning
 * (`commits`, this one included) and the longest of them (`ms`).
 */
export function slowCommitWarner(log: Logger, clock: Clock): SlowCommit {
  let last = -Infinity, commits = 0, worst = 0;
  return (ms, messages, acks) => {
    commits++;
    worst = Math.max(worst, ms);
    const now = clock.now();
    if (now - last < SLOW_REPORT_MS) return;
    log.warn("store.slow_commit", {
      ms: Math.round(worst),
      commits,
      messages,
      acks,
      msg: "a commit waited on the store (its disk, or PostgreSQL): deliveries waited behind it",
    });
    last = now;
    commits = 0;
    worst = 0;
  };
}

export class MessageLog {
  #q: Queued[] = [];
  #acks: PendingAck[] = [];
  /** The entries of the acks queued. */
  #ackEntries = 0;
  /** Cancels the scheduled flush (null: none scheduled). */
  #timer: (() => void) | null = null;
  /** The held acks' own commit, when no message came (null: none waiting). */
  #ackTimer: unknown = null;
  #flushing: Promise<void> | null = null;
  /** Readers waiting for the queue to fall below QUEUE_HIGH. */
  #roomWaiters: (() => void)[] = [];
  deliveries = 0;
  stored = 0;
  /** Commit latency and stored counts go here (the server sets its Metrics). */
  metrics: MetricsHooks = NO_METRICS;
  /** Told of each group commit of SLOW_COMMIT_MS or more (the server sets `slowCommitWarner`). */
  onSlowCommit: SlowCommit = () => {};
  /** Milliseconds, for timing commits (a test's own clock). */
  now: () => number = () => performance.now();

  /** The highest seq this node knows to be stored: its own commits, and what a cluster's catch-up saw. */
  #top = 0;

  /** `timers`: what the acks' hold waits on (ACK_HOLD_MS; tests hold it by hand). */
  constructor(readonly store: Store, readonly hub: Hub, readonly timers: Timers = systemTimers) {}

  /** The highest seq known to be stored (never above the store's own): `ack` bounds acks by it. */
  get storedTop(): number {
    return this.#top;
  }
  /** `seq` is stored (a commit's row, or a row another node stored and this one read). */
  knowStored(seq: number): void {
    if (seq > this.#top) this.#top = seq;
  }
  /** The store's highest seq, asked again (an ack above `storedTop`: another node's, or a lie). */
  async refreshTop(): Promise<number> {
    this.knowStored(await this.store.lastSeq());
    return this.#top;
  }

  /** Messages queued for a commit. */
  get queued(): number {
    return this.#q.length;
  }

  /** Messages and ack entries queued for a commit: what `room` bounds. */
  get backlog(): number {
    return this.#q.length + this.#ackEntries;
  }

  /**
   * Null when a connection's reader may go on with the bytes it read: the backlog is below
   * QUEUE_HIGH and no reader waits; else a promise, resolved in turn (first come, first
   * served) as commits take batches (or the log closed). Readers go on one at a time: each tells
   * `readerDone` once its bytes are handled, and only then does the next check the queue (woken
   * all at once, after each piece, the readers still had a median of 13,500 queued at a commit).
   */
  room(): Promise<void> | null {
    if (this.#closed || (this.backlog < QUEUE_HIGH && this.#roomWaiters.length === 0)) return null;
    const p = this.#roomWait();
    this.readerDone();
    return p;
  }

  /** A place in the readers' line (apart from `room`, asked for every piece read: ARCHITECTURE.md rule 9). */
  #roomWait(): Promise<void> {
    return new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
  }

  /** A reader handled what it read: the next waiting one goes on if there is room. */
  readerDone(): void {
    if (this.#roomWaiters.length > 0 && (this.backlog < QUEUE_HIGH || this.#closed)) {
      this.#roomWaiters.shift()!();
    }
  }

  /** `enqueue` with a promise of the stored row (null: a resend). */
  append(m: NewMessage, from: Session | null): Promise<StoredMessage | null> {
    return new Promise((stored, failed) => this.enqueue({ m, from, stored, failed }));
  }

  /**
   * Queues `q.m` for the next group commit; `q` is told its outcome after the commit (after the
   * log was closed at once, as failed: a message accepted now could not be confirmed).
   */
  enqueue(q: Queued): void {
    if (this.#closed) return q.failed(new Error("The message log is closed"));
    this.#q.push(q);
    this.#schedule();
  }

  /**
   * Moves cursors in the next batch's transaction; resolves once committed. With no message
   * queued, the acks wait up to ACK_HOLD_MS for one, then are written alone (at once when they
   * fill a batch).
   */
  ack(set: AckSet): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("The message log is closed"));
    return new Promise((resolve, reject) => {
      this.#acks.push({ set, resolve, reject });
      this.#ackEntries += set.acks.length;
      if (this.#q.length > 0 || this.#ackEntries >= MAX_BATCH) this.#schedule();
      else {
        this.#ackTimer ??= this.timers.set(() => {
          this.#ackTimer = null;
          if (this.#acks.length) void this.flush();
        }, ACK_HOLD_MS);
      }
    });
  }

  /**
   * The first entry after an idle moment is written on the next turn (a 0 ms timer would add ~2 ms
   * to every paced message); under load the next batch waits for the I/O that is ready (fairness).
   */
  #schedule(): void {
    if (this.#timer) return;
    const idle = !this.#flushing && this.#q.length === 1; // (held acks do not make it busy)
    this.#timer = (idle ? onNextTurn : afterIo)(this.#due);
  }

  /** The scheduled flush: one bound function, no closure per queued send (ARCHITECTURE.md rule 9). */
  readonly #due = (): void => {
    this.#timer = null;
    void this.flush();
  };

  /**
   * Writes everything queued now, in transactions of at most MAX_BATCH messages and MAX_BATCH_BYTES
   * of bodies (a flood cannot build one huge transaction that stalls the server); resolves when
   * all of it is written and fanned out.
   */
  flush(): Promise<void> {
    if (this.#flushing) {
      return this.#flushing.then(() => this.#waiting() ? yieldTurn().then(() => this.flush()) : undefined);
    }
    let n = 0, bytes = 0;
    while (
      n < this.#q.length && n < MAX_BATCH && (n === 0 || bytes + this.#q[n]!.m.body.length <= MAX_BATCH_BYTES)
    ) {
      bytes += this.#q[n]!.m.body.length;
      n++;
    }
    const batch = this.#q.splice(0, n);
    // Ack entries count toward the same bound (a flood of big acks is several commits too).
    let entries = n, k = 0;
    while (
      k < this.#acks.length && (entries === 0 || entries + this.#acks[k]!.set.acks.length <= MAX_BATCH)
    ) {
      entries += this.#acks[k++]!.set.acks.length;
    }
    const acks = this.#acks.splice(0, k);
    this.#ackEntries -= entries - n;
    this.readerDone(); // room for a waiting reader
    if (batch.length === 0 && acks.length === 0) return Promise.resolve();
    this.#flushing = this.#write(batch, acks);
    const done = this.#flushing;
    // The next batch after a macrotask: other connections' reads and timers run between commits.
    return this.#waiting() ? done.then(yieldTurn).then(() => this.flush()) : done;
  }

  /** Writes one batch in one transaction, then fans each stored message out and tells its sender. */
  async #write(batch: Queued[], acks: PendingAck[]): Promise<void> {
    // A microtask first: a store that throws at once still ends this after `#flushing` is set.
    await undefined;
    let rows: (StoredMessage | null)[], linked: boolean;
    const froms = batch.map((p) => p.from);
    try {
      const ms = batch.map((p) => p.m);
      this.hub.link?.beforeAppend(ms, froms);
      const t0 = this.now();
      rows = await this.store.appendMessages(ms, acks.map((a) => a.set));
      const took = this.now() - t0;
      this.metrics.commit(took / 1000);
      if (took >= SLOW_COMMIT_MS) this.onSlowCommit(took, ms.length, acks.length);
      // One of several nodes: the cluster fans out in seq order, with other nodes' messages.
      linked = this.hub.link?.afterAppend(ms, rows) ?? false;
    } catch (e) {
      this.#flushing = null;
      for (const p of batch) p.failed(e);
      for (const a of acks) a.reject(e);
      return;
    }
    this.#flushing = null;
    let n = 0, nBytes = 0;
    for (let i = 0; i < rows.length; i++) { // (indexed: ARCHITECTURE.md rule 9)
      const r = rows[i];
      if (r) n++, nBytes += r.body.length, this.knowStored(r.seq);
    }
    this.stored += n;
    for (let i = 0; i < batch.length;) {
      i = linked ? this.#tell(batch[i]!, rows[i] ?? null, false, i) : this.#fanOut(batch, rows, froms, i);
    }
    for (const a of acks) a.resolve();
    if (n) this.metrics.stored(n, nBytes);
  }

  /**
   * Fans out the stored message at `i` — with the run of those after it to the same room, as one
   * buffer (room_run.ts) — and tells each sender, in batch order; returns where the next one starts.
   */
  #fanOut(batch: Queued[], rows: (StoredMessage | null)[], froms: (Session | null)[], i: number): number {
    let run: RoomRun | null;
    try {
      run = fanOutRun(this.hub, rows, froms, i);
    } catch (e) { // a bug: its sender hears of a failure (a resend finds the stored copy)
      batch[i]!.failed(e);
      return i + 1;
    }
    if (!run) return this.#tell(batch[i]!, rows[i] ?? null, true, i);
    this.deliveries += run.n;
    for (let k = 0; k < run.ms.length; k++) {
      try {
        this.deliveries += run.toSenders(k);
      } catch (e) {
        batch[i + k]!.failed(e);
        continue;
      }
      batch[i + k]!.stored(run.ms[k]!);
    }
    return i + run.ms.length;
  }

  /** Fans out one stored message (unless `fan` is false) and tells its sender; returns `i + 1`. */
  #tell(p: Queued, r: StoredMessage | null, fan: boolean, i: number): number {
    try {
      if (r && fan) this.deliveries += this.hub.fanOut(r, p.from);
    } catch (e) { // a bug: its sender hears of a failure (a resend finds the stored copy)
      p.failed(e);
      return i + 1;
    }
    p.stored(r);
    return i + 1;
  }

  #waiting(): boolean {
    return this.#q.length > 0 || this.#acks.length > 0;
  }

  #closed = false;

  /** Stops taking messages, flushes what is queued and stops the timer (shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#roomWaiters.splice(0)) w();
    this.#timer?.();
    this.#timer = null;
    if (this.#ackTimer !== null) this.timers.clear(this.#ackTimer);
    this.#ackTimer = null;
    await this.flush();
    while (this.#waiting()) await this.flush();
  }
}
