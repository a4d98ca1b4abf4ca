/**
 * One client connection's state: lifecycle (hello → auth → ready → closed), identity, presence
 * status, liveness timers and the delivery mode for messages ("none" until the client syncs,
 * "syncing" while the offline queue is sent — live frames are held back meanwhile — then "live").
 * A session never touches the socket: it pushes encoded frames into its `Outbox`.
 */
import { ErrorCode } from "../protocol/errors.ts";
import type { Outbound } from "../protocol/messages.ts";
import { frameOfJson } from "../protocol/frame.ts";
import { type MsgFields, msgJson } from "../protocol/frame_put.ts";
import type { Outbox } from "./outbox.ts";
import type { TokenBucket } from "./rate.ts";
import type { Role } from "./store/store.ts";

export type SessionState = "hello" | "auth" | "ready" | "closed";
/** A DM's target as `send` resolves it: the user and the conversation. */
export interface DmTarget {
  kind: "user";
  name: string;
  conv: string;
  afterSeq: number;
}
export type Status = "busy" | "free";
import type { QueueOwner } from "./store/store.ts";

let nextId = 1;
const EMPTY = new Uint8Array(0);

export class Session {
  readonly id = nextId++;
  state: SessionState = "hello";
  user = "";
  role: Role = "user";
  status: Status = "free";
  /** The device this session is (learnt from keys.publish/keys.count; 1 until then). */
  device = 1;
  /** Its device's queue (cursors, start); null: the user's own, as for device 1. */
  queue: QueueOwner | null = null;
  /** Random, from the hello reply: what this session's device proofs sign (issue 33). */
  nonce = "";
  /** A one-shot scripted session (`hello` with `quiet`): no presence is announced for it, `who` skips it. */
  quiet = false;
  /** It reads the short form of `presences` frames (`hello` with `shortPresence`). */
  shortPresence = false;
  /** True once the session proved it holds its device's key (keys.publish/keys.count). */
  proven = false;
  /** SHA-256 (hex) of the resume token this session logged in with, if any (for `logout`). */
  tokenHash = "";
  loginAt = 0;
  lastIn: number;
  pingAt = 0;
  violations = 0;
  delivery: "none" | "syncing" | "live" = "none";
  #held: { seq: number; frame: Uint8Array }[] = [];
  /** The last seq the sync sent: a later live copy of it (another node's fan-out catching up) is skipped. */
  #synced = 0;
  /** Delivery was live when the sync under way began (`abortSync`). */
  #wasLive = false;
  /**
   * Sends, and ack entries, accepted but not yet committed and answered (the read loop pauses
   * above a window: server.ts SEND_WINDOW).
   */
  inflight = 0;
  #belowWaiters: { n: number; resolve: () => void }[] = [];
  /**
   * The DM target this session last sent to: the name as asked, whose session user asked it, and
   * the target as `send` resolved it (handlers_messages.ts; never changed once made).
   */
  lastDm: { raw: string; user: string; t: Readonly<DmTarget> } | null = null;

  constructor(
    readonly addr: string,
    readonly connectedAt: number,
    readonly outbox: Outbox,
    readonly bucket: TokenBucket,
    readonly closeConn: (code: string, reason: string, until?: number) => void,
  ) {
    this.lastIn = connectedAt;
  }

  send(h: Outbound, body: Uint8Array = EMPTY): boolean {
    return this.outbox.pushJson(JSON.stringify(h), body) > 0;
  }

  reply(id: number, data: Record<string, unknown> = {}): void {
    this.send({ ...data, t: "ok", id });
  }

  /** The reply to a stored `send` (`reply(id, { seq, ts })`, its JSON written by hand: one per message). */
  replyStored(id: number, seq: number, ts: number): void {
    this.outbox.pushStored(id, seq, ts);
  }

  fail(id: number | undefined, code: string, msg: string, until?: number): void {
    this.send(until === undefined ? { t: "err", id, code, msg } : { t: "err", id, code, msg, until });
  }

  /**
   * Delivers an already-encoded `msg` frame according to the delivery mode; returns 1 when it was
   * queued to the socket now, 0 when it was held (counted by `endSync`) or dropped (mode "none": the
   * client has not synced and gets it from its offline queue). The frame must not change until written.
   */
  deliver(seq: number, frame: Uint8Array): number {
    if (this.liveAfter(seq)) return this.outbox.push(frame) ? 1 : 0;
    if (this.delivery === "syncing") this.#held.push({ seq, frame });
    return 0;
  }

  /**
   * `deliver` of the `msg` frame of `fields` and `body`, written straight into the send buffer when
   * live (outbox.ts `pushMsg`: a DM's one or two sessions); returns the bytes queued now (0: held,
   * dropped, or refused by a full outbox).
   */
  deliverMsg(seq: number, fields: MsgFields, body: Uint8Array): number {
    if (this.liveAfter(seq)) return this.outbox.pushMsg(fields, body);
    if (this.delivery === "syncing") this.#held.push({ seq, frame: frameOfJson(msgJson(fields), body) });
    return 0;
  }

  /** True when a live frame of `seq` (and of every later seq) is queued to the socket as it comes. */
  liveAfter(seq: number): boolean {
    return this.delivery === "live" && seq > this.#synced;
  }

  /** A send (or `n` ack entries) was committed, or failed, and answered. */
  settled(n = 1): void {
    this.inflight -= n;
    const ws = this.#belowWaiters;
    if (ws.length === 0) return;
    // In place (issue 37, B: a new array and a closure for every send settled while one waits).
    let keep = 0;
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i]!;
      if (this.inflight >= w.n) ws[keep++] = w;
      else w.resolve();
    }
    ws.length = keep;
  }

  /** Resolves once fewer than `n` sends and ack entries are waiting for their commit. */
  inflightBelow(n: number): Promise<void> {
    if (this.inflight < n) return Promise.resolve();
    return new Promise((resolve) => this.#belowWaiters.push({ n, resolve }));
  }

  beginSync(): void {
    this.#wasLive = this.delivery === "live";
    this.delivery = "syncing";
    this.#held = [];
  }

  /**
   * A sync that failed (the store out of reach: issue 74.4) ends here, never left "syncing" (every
   * live frame was then held for ever): a session that was live goes on live with what was held
   * meanwhile; one that was not is back to "none" (its next sync sends the queue). Returns as `endSync`.
   */
  abortSync(): { n: number; bytes: number } {
    if (this.delivery !== "syncing") return { n: 0, bytes: 0 };
    if (this.#wasLive) return this.endSync(this.#synced);
    this.#held = [];
    this.delivery = "none";
    return { n: 0, bytes: 0 };
  }

  /**
   * Ends a sync: frames held back with seq > `lastSent` go out, then delivery is live. Returns how
   * many held frames were queued, and their bytes.
   */
  endSync(lastSent: number): { n: number; bytes: number } {
    let n = 0, bytes = 0;
    for (const h of this.#held) {
      if (h.seq > lastSent && this.outbox.push(h.frame)) n++, bytes += h.frame.length;
    }
    this.#held = [];
    this.#synced = Math.max(this.#synced, lastSent);
    this.delivery = "live";
    return { n, bytes };
  }

  /** Logins of this connection being checked (their password hashing queued or running). */
  #checking = 0;
  /** When the last of them was answered (ms; 0: none yet). */
  #checkedAt = 0;
  /**
   * A login's check begins / ends: the login deadline waits while the server checks (a storm of
   * logins queues for the hashing workers: the server's wait, not the client's), and counts again from its answer.
   */
  checkBegins(): void {
    this.#checking++;
  }
  checkEnds(now: number): void {
    this.#checking--;
    this.#checkedAt = now;
  }

  /**
   * Called on every timer tick: a session not logged in within the deadline (its logins' checks
   * aside) is dropped; a quiet one is pinged, and dropped if the ping goes unanswered.
   */
  checkLiveness(
    now: number,
    c: { loginTimeoutMs: number; pingIntervalMs: number; pingTimeoutMs: number },
  ): void {
    if (this.state === "closed") return;
    if (this.state !== "ready") {
      const from = Math.max(this.connectedAt, this.#checkedAt);
      if (this.#checking === 0 && now - from > c.loginTimeoutMs) {
        this.bye(ErrorCode.Timeout, "Login took too long");
      }
    } else if (this.pingAt && now - this.pingAt > c.pingTimeoutMs) {
      this.bye(ErrorCode.Timeout, "No answer to ping");
    } else if (!this.pingAt && now - this.lastIn > c.pingIntervalMs) {
      this.pingAt = now;
      this.send({ t: "ping" });
    }
  }

  /** Sends a `bye` and closes the connection once it is written. */
  bye(code: string, reason: string, until?: number): void {
    if (this.state === "closed") return;
    this.closeConn(code, reason, until);
  }
}
