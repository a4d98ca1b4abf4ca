/**
 * `KeptSends`: the send runner of both modes over core/send_lanes.ts, its lanes, window and "lane
 * down" the session's (chat_session.ts `SendPolicy`). Peer mode (peer/session.ts) runs a
 * lane per peer (`lane`), a generation per channel (`connected`, `lost`), any number unacknowledged
 * (`window`), each hand-over answered by the peer's ack later (`Handed.taken`, settled by its `settle`).
 * Its caller is answered at once there (`waits` false), the text pending while its peer is away.
 * Client mode runs a UI's sends (the engine's `sendRequest` chose "kept" or "queued": a UI follows and
 * there is an outbox) as one lane with a window of 1 over the current connection: a
 * text is written to the outbox first (core/outbox.ts) and leaves in order behind whatever the outbox
 * still holds, one at a time, each waiting for the server's answer. A catch-up after a connect
 * (`resume`, the engine's `resend`) brings the lane up as a new generation with what the outbox holds
 * (unless it is up: a generation is a connection, and an entry is never sent twice on one); a lost
 * connection (`lost`) takes it down, and every caller still waiting gets its text as pending. Offline, or
 * while the server cannot store messages, a text is answered as pending at once; on a connection not
 * caught up yet it waits for the lane, behind the entries the catch-up sends first.
 * What becomes of a failed send is engine_outbox.ts's decision — for the send whose caller waits,
 * `keptFailed` (a refusal for good removes it and the caller gets it; offline: answered pending), for a
 * resend, `resendFailed` (shown failed with `/outbox drop N`, or said) — and the lane goes on with the
 * next entry, or stops until the next generation when the entry stays (offline, or "the server cannot
 * store messages right now": said once until a send goes through, the outbox sent again on
 * common/backoff.ts's UNAVAILABLE_BACKOFF). The one send (seal, hand-outs, the link, rate waits) is a
 * port (sending.ts `sendText` under session/rate_wait.ts `paced`, over the current connection).
 */
import { backoffDelay, UNAVAILABLE_BACKOFF } from "../../common/backoff.ts";
import type { Timers } from "../../common/clock.ts";
import type { ChatMessage, Target } from "../backend.ts";
import type { PendingMessage } from "../session/local_store.ts";
import { outboxStep } from "./engine_outbox.ts";
import { isPermanentRefusal, isRetryLater, STORE_DOWN_TEXT } from "./message_size.ts";
import type { Outbox } from "./outbox.ts";
import { sendInitial, type SendInput, type SendState, sendStep, type Waiting } from "./send_lanes.ts";

/** The relay's one lane (client mode): every message goes through the one connection. */
const RELAY = "relay";

/** What a hand-over answers: the other end's answer to come, or null when the entry cannot go (the port said why). */
export type Handed = { taken: Promise<ChatMessage | null> } | null;

/** What the kept sends need of their mode. */
export interface KeptPorts {
  readonly me: string;
  readonly outbox: Outbox;
  /** How many handed entries a lane may have unacknowledged (default 1: each waits for its answer). */
  readonly window?: number;
  /** The lane an entry to `to` leaves on (default: the relay's one). */
  lane?(to: Target): string;
  /** Whether a caller waits for the other end's answer (default yes; no: answered at once, settled later). */
  readonly waits?: boolean;
  /** A fresh message id in the carrier's form (default: the outbox's). */
  mid?(): string;
  /** Refuses what can never be sent here (too long, a blocked user) before it is written. */
  check(to: Target, text: string): Promise<void>;
  /**
   * Hands one outbox entry, with its own mid, to its lane's carrier; resolves once handed with the
   * answer to come: the message as the other end took it (settled in the outbox), or null when the
   * lane's `settle` settles it. Null: it can never go (marked failed or dropped, and said, by the port).
   */
  sendOne(p: PendingMessage): Promise<Handed>;
  /** Whether `lane`'s carrier is gone (or cannot take anything now). */
  offline(lane: string): boolean;
  /** `mid` was acknowledged on `lane`: out of the outbox (when the answer did not settle it already). */
  settle?(lane: string, mid: string): void;
  /** Says a notice to the user. */
  notice(level: "warn" | "error", text: string): void;
  /** My text `mid` left the outbox on a resend: changes held for it apply (e2e/apply.ts). */
  confirmed(mid: string): void;
  /** What the retry while the server cannot store messages waits on. */
  readonly timers: Timers;
}

interface Waiter {
  resolve(m: ChatMessage): void;
  reject(e: unknown): void;
  queued: ChatMessage;
}

export class KeptSends {
  #lanes: SendState;
  #gen = 0;
  /** The current generation of each lane that came up. */
  readonly #gens = new Map<string, number>();
  readonly #waiters = new Map<string, Waiter>();
  /** Told each message a resend settled, or showed failed. */
  #each: (m: ChatMessage) => void = () => {};
  /** The server said it cannot store messages, and no send went through since (said once). */
  #down = false;
  #tries = 0;
  #retrying = false;

  constructor(readonly ports: KeptPorts) {
    this.#lanes = sendInitial(ports.window ?? 1);
  }

  #laneOf(to: Target): string {
    return this.ports.lane?.(to) ?? RELAY;
  }

  #up(lane = RELAY): boolean {
    return (this.#lanes.lanes[lane]?.up ?? null) !== null;
  }

  /**
   * A text kept in the outbox: sent in order behind what waits, resolving with what the server took;
   * answered pending at once while offline (`wait`) or while the server cannot store messages; on a
   * connection not caught up yet it waits for the lane.
   */
  async send(target: Target, text: string, wait: boolean, replyTo?: string): Promise<ChatMessage> {
    await this.ports.check(target, text); // refused now, never queued (issue 34.1)
    const mid = this.ports.mid?.();
    const p = this.ports.outbox.create(target, text, {
      ...(mid ? { mid } : {}),
      ...(replyTo ? { replyTo } : {}),
    });
    const queued: ChatMessage = { ...p, seq: 0, from: this.ports.me, pending: true };
    if (this.ports.waits === false) { // it leaves when its lane may; the other end's ack settles it
      this.added(p);
      return { ...queued, pending: wait || this.ports.offline(this.#laneOf(target)) };
    }
    if (wait) return queued; // the next connect's catch-up reads it from the outbox
    // The server cannot store messages and the lane waits for its retry: behind those waiting, in order.
    if (this.#down && !this.#up(this.#laneOf(target))) return (this.#retryLater(), queued);
    // Else it leaves now, or once the connection's catch-up brings the lane up, behind what waits.
    const done = new Promise<ChatMessage>((resolve, reject) =>
      this.#waiters.set(p.mid, { resolve, reject, queued })
    );
    this.added(p);
    return await done;
  }

  /** Entry `p` was written to the outbox (a text, a change): it leaves when its lane may send it. */
  added(p: Pick<PendingMessage, "mid" | "to" | "ts">): void {
    this.#drive({ kind: "queued", item: { mid: p.mid, lane: this.#laneOf(p.to), ts: p.ts } });
  }

  /** Caught up after a connect: what the outbox holds leaves, in order, with its ids; each told to `each`. */
  resume(each: (m: ChatMessage) => void): void {
    this.#each = each;
    if (this.ports.lane) return; // lanes of their own come up with their carriers (`connected`)
    if (!this.#up()) this.#laneUp(RELAY); // up already: the same connection, nothing to send again
  }

  /** A new carrier for `lane` (a peer's channel said hello): what waits for it leaves on it; its generation. */
  connected(lane: string): number {
    return this.#laneUp(lane);
  }

  /**
   * `lane`'s carrier of generation `gen` (default: the current one) went: the lane stops; what waits
   * stays in the outbox for the next carrier.
   */
  lost(lane = RELAY, gen = this.#gens.get(lane) ?? this.#gen): void {
    this.#drive({ kind: "laneDown", lane, gen });
    this.#pendingAll();
  }

  /** The other end holds `mid` (its ack, or a change of it that it sent): settled once. */
  acked(lane: string, mid: string): void {
    this.#drive({ kind: "acked", lane, mid });
  }

  #laneUp(lane: string): number {
    const waiting: Waiting[] = this.ports.outbox.waiting().filter((p) => this.#laneOf(p.to) === lane)
      .map((p) => ({ mid: p.mid, lane, ts: p.ts }));
    const gen = ++this.#gen;
    this.#gens.set(lane, gen);
    this.#drive({ kind: "laneUp", lane, gen, waiting });
    return gen;
  }

  #drive(input: SendInput): void {
    const s = sendStep(this.#lanes, input);
    this.#lanes = s.state;
    for (const f of s.effects) {
      if (f.kind === "send") void this.#send(f.lane, f.mid, f.gen);
      else this.ports.settle?.(f.lane, f.mid); // the relay's answer settled it already (sending.ts)
    }
  }

  /** Sends entry `mid` of `lane` on generation `gen`; its outcome goes back to the lane. */
  async #send(lane: string, mid: string, gen: number): Promise<void> {
    const { outbox } = this.ports;
    const p = outbox.waitingOne(mid);
    if (!p) return this.#drive({ kind: "gone", lane, mid }); // dropped meanwhile (`/outbox drop`)
    try {
      const h = await this.ports.sendOne(p);
      if (!h) return this.#drive({ kind: "gone", lane, mid }); // it can never go: the port said why
      this.#down = false;
      this.#drive({ kind: "handed", lane, mid, gen });
      void h.taken.then((m) => this.#taken(lane, p, m), () => {}); // else: again on the next carrier
    } catch (e) {
      this.#failed(p, lane, gen, e);
    }
  }

  /** The other end took `p` (`m`: as it holds it; null: the lane's `settle` settles it). */
  #taken(lane: string, p: PendingMessage, m: ChatMessage | null): void {
    this.#drive({ kind: "acked", lane, mid: p.mid });
    if (m === null) return;
    const w = this.#waiters.get(p.mid);
    this.#waiters.delete(p.mid);
    if (w) w.resolve(m);
    else if (!p.change) (this.#each(m), this.ports.confirmed(p.mid)); // shown, then the changes held for it
  }

  /** Sending `p` on `lane` failed with `e`: the outbox's decisions, then the lane goes on or stops. */
  #failed(p: PendingMessage, lane: string, gen: number, e: unknown): void {
    const { outbox } = this.ports, mid = p.mid;
    const offline = this.ports.offline(lane), later = isRetryLater(e);
    const refusal = isPermanentRefusal(e) ? e.message : null;
    if (later) this.#storeDown();
    const w = this.#waiters.get(mid);
    this.#waiters.delete(mid);
    if (w) {
      const answer = outbox.carry(outboxStep({ kind: "keptFailed", mid, offline, refusal, later }), e);
      if (answer === "pending") w.resolve(w.queued);
      else w.reject(answer);
    } else {
      const listed = outbox.list().find((x) => x.mid === mid); // (gone when the failure removed it)
      const why = e instanceof Error ? e.message : String(e);
      const entry = { mid, ts: p.ts, to: p.to, text: outbox.shown(p) }; // a change says what it does
      const input = { kind: "resendFailed", me: this.ports.me, entry, offline, refusal, why, later } as const;
      for (const f of outboxStep(listed ? { ...input, n: listed.n } : input)) {
        // A change has no line of its own to show failed: the notice says it.
        if (f.kind === "showFailed" && !p.change) this.#each(f.message);
        else if (f.kind === "notice") this.ports.notice("error", f.text);
      }
    }
    const stays = outbox.waitingOne(mid) !== undefined;
    // It stays: the lane waits for the next generation; else the next one may go.
    this.#drive(stays ? { kind: "handFailed", lane, mid, gen } : { kind: "gone", lane, mid });
    if (offline) this.#drive({ kind: "laneDown", lane, gen }); // the carrier is gone whatever became of it
    if (stays || offline) this.#pendingAll();
    if (stays && later) this.#retryLater();
  }

  /** The lane is down: every caller still waiting gets its text as pending (it stays in the outbox). */
  #pendingAll(): void {
    for (const [mid, w] of this.#waiters) {
      this.#waiters.delete(mid);
      w.resolve(w.queued);
    }
  }

  /**
   * The server cannot store messages now: said once, the outbox sent again soon (UNAVAILABLE_BACKOFF:
   * the store's return is seen within about a second, and clients told at once do not all come back at once).
   */
  #retryLater(): void {
    if (!this.#down) return;
    if (this.#retrying) return;
    this.#retrying = true;
    this.ports.timers.set(() => {
      this.#retrying = false;
      if (!this.ports.offline(RELAY) && !this.#up()) this.#laneUp(RELAY); // a reconnect may have brought it up
    }, backoffDelay(this.#tries++, UNAVAILABLE_BACKOFF));
  }

  /** A send was answered "unavailable": said once until a send goes through. */
  #storeDown(): void {
    if (!this.#down) this.ports.notice("warn", STORE_DOWN_TEXT);
    if (!this.#down) this.#tries = 0;
    this.#down = true;
  }
}
