/**
 * `Outbox`: the one owner of one's own messages between writing and confirmation, shared by server
 * mode (ChatClient: sent through the server relay's `Link`) and peer mode (the same core over
 * peer/session.ts: its entries leave through the peer channel's `Link`). An entry is created (a fresh mid, the
 * clock's time), sent and sent again with the same mid after a reconnect, confirmed when taken (out
 * of the outbox, into the history), marked failed when it can never go (kept and listed, never sent
 * again), or dropped (`/outbox drop N`, or a one-shot send that got its answer). A change or setting
 * is queued by `queueChange` in both modes (a deletion drops the edits of its message still waiting). Which of these a
 * failure or an answer leads to is engine_outbox.ts's decision (pure); this class carries its
 * effects out (`carry`). `outboxControls` is `/outbox`, the one listing of both modes (a peer
 * node's file offers to a peer away listed with it). Storage is the folder's `LocalStore`; time comes
 * from the injected clock. No I/O of its own.
 */
import type { ChatMessage, OutboxControls, OutboxEntry, Target } from "../backend.ts";
import { BackendError } from "../backend.ts";
import type { Clock } from "../../common/clock.ts";
import { randomId } from "../../common/random.ts";
import type { LocalStore, PendingMessage } from "../session/local_store.ts";
import { expiryText, type Payload } from "../e2e/mod.ts";
import { convOfTarget } from "../session/wire_events.ts";
import { isPermanentRefusal, isRetryLater } from "./message_size.ts";
import { type OutboxEffect, outboxStep } from "./engine_outbox.ts";

export { POISON_DROPS } from "./engine_outbox.ts";
import { POISON_DROPS } from "./engine_outbox.ts";
import type { Waiting } from "./chat_session.ts";

/**
 * `/outbox` — the script's `outbox` and /quit's count too — over `outbox` (none without a folder):
 * its texts and changes, numbered as it numbers them; with what else waits for someone away
 * (`also`, chat_session.ts `Waiting`: a peer node's file offers) all of them, oldest first, numbered
 * together from 1, one numbering: a drop takes entry N of it, a text or change out of the outbox, a
 * file offer back.
 */
export function outboxControls(outbox: () => Outbox | null, also?: Waiting): OutboxControls {
  if (!also) {
    return {
      count: () => outbox()?.count() ?? 0,
      list: () => Promise.resolve(outbox()?.list() ?? []),
      drop: (n) => Promise.resolve(outbox()?.drop(n) ?? null),
    };
  }
  const all = () => {
    const entries = [...outbox()?.list() ?? [], ...also.list()].sort((a, b) => a.ts - b.ts);
    return entries.map((e, i) => ({ ...e, n: i + 1 }));
  };
  return {
    count: () => (outbox()?.count() ?? 0) + also.list().length,
    list: () => Promise.resolve(all()),
    drop: (n) => {
      const e = all().find((x) => x.n === n) ?? null;
      if (e?.kind === "file") also.drop(e.mid);
      else if (e) outbox()?.remove(e.mid);
      return Promise.resolve(e);
    },
  };
}

/** What dropping entry `e` did, one sentence (`/outbox drop N`; the peer script's `dropped` line is its own). */
export function droppedText(e: OutboxEntry, to: string): string {
  if (e.kind === "change") {
    return `Dropped change ${e.n} to ${to} (${e.text}): it will not be sent; here it stays`;
  }
  if (e.kind === "file") return `Withdrew file offer ${e.n} to ${to} (${e.text}): it will not be offered`;
  return `Dropped message ${e.n} to ${to}: it will not be sent`;
}

/** The first line of message `ref` in quotes, shortened (or "a message" when it is gone). */
function quoted(store: LocalStore, ref: string): string {
  const m = store.byMidAny(ref);
  if (!m || m.deleted) return "a message";
  const line = m.text.split("\n")[0]!;
  return `"${line.length > 30 ? `${line.slice(0, 30)}…` : line}"`;
}

/** What a change or setting waiting in the outbox (its payload's JSON) does, in a few words. */
function describe(store: LocalStore, body: string): string {
  const p = JSON.parse(body) as Payload;
  if (p.k === "edit") return `edit of your message: ${p.text}`;
  if (p.k === "delete") return "deletion of your message for both of you";
  if (p.k === "react") return `reaction ${p.emoji}${p.on ? "" : " taken back"} on ${quoted(store, p.ref)}`;
  if (p.k === "expire") return expiryText(p.seconds);
  return p.k;
}

export class Outbox {
  constructor(readonly store: LocalStore, readonly me: string, readonly clock: Clock) {}

  /**
   * A new entry (a fresh mid unless given). `resend`: kept and sent again after a reconnect (the
   * full-screen outbox); otherwise a one-shot send, removed once it has its answer. A text keeps
   * the conversation's disappearing time of now (`ttl`): it goes with it, however long it waits.
   */
  create(
    to: Target,
    text: string,
    o: { mid?: string; ts?: number; replyTo?: string; resend?: boolean; change?: true } = {},
  ): PendingMessage {
    const p: PendingMessage = {
      mid: o.mid ?? randomId(undefined, 12),
      ts: o.ts ?? this.clock.now(),
      to,
      text,
      ...(o.replyTo ? { replyTo: o.replyTo } : {}),
      ...(o.change ? { change: true } : {}),
    };
    const ttl = o.change ? 0 : this.store.expiryOf(convOfTarget(this.me, to));
    if (ttl) p.ttl = ttl;
    this.store.addPending(p, o.resend ?? true);
    return p;
  }

  /** Entries to send again, in the order written (failed ones not). */
  waiting(): PendingMessage[] {
    return this.store.pendingAll();
  }
  /** Entry `mid` while it waits to be sent again (one of `waiting()`, read alone). */
  waitingOne(mid: string): PendingMessage | undefined {
    return this.store.waitingOne(mid);
  }
  /** The entry `mid`, while it is still in the outbox. */
  has(mid: string): boolean {
    return this.store.pending(mid) !== undefined;
  }
  /** How many entries wait to be sent. */
  count(): number {
    return this.store.pendingCount();
  }
  /** Waiting and failed entries as `/outbox` lists them (a change says what it does). */
  list(): OutboxEntry[] {
    return this.store.outbox().map((e) => this.#listed(e));
  }
  /** A listed entry as `/outbox` says it: a change by what it does. */
  #listed(e: OutboxEntry): OutboxEntry {
    return e.kind === "change" ? { ...e, text: describe(this.store, e.text) } : e;
  }
  /** What entry `p` says when listed or told of: its text, or what a change does. */
  shown(p: PendingMessage): string {
    return p.change ? describe(this.store, p.text) : p.text;
  }
  /** How many entries can never go. */
  failedCount(): number {
    return this.list().filter((e) => e.failed !== undefined).length;
  }
  /** The outbox's texts as messages for the screen: waiting ones marked pending, failed ones with why. */
  messages(): ChatMessage[] {
    return this.store.outbox().filter((e) => e.kind === undefined).map(({ n: _n, failed, ...p }) => ({
      ...p,
      seq: 0,
      from: this.me,
      ...(failed !== undefined ? { failed } : { pending: true }),
    }));
  }

  /** The answer came: a stored message leaves the outbox for the history; one without seq just leaves. */
  settle(m: ChatMessage): void {
    if (m.seq) this.store.confirm(m);
    else this.store.dropPending(m.mid);
  }
  /** Marks entry `mid` failed with `why`: kept and listed by `/outbox`, never sent again. */
  fail(mid: string, why: string): void {
    this.store.markFailed(mid, why);
  }
  /** Removed without a trace (the user was told, or the send was one-shot). */
  remove(mid: string): void {
    this.store.dropPending(mid);
  }
  /** Entry `mid` stays to be sent again after a reconnect, also when it was a one-shot send's. */
  #keep(mid: string): void {
    const p = this.store.pending(mid);
    if (p) this.store.addPending(p, true);
  }
  /** `/outbox drop N`: removes entry `n`, answering it as `list` does (null: none). */
  drop(n: number): OutboxEntry | null {
    const e = this.store.dropOutbox(n);
    return e && this.#listed(e);
  }

  /**
   * Queues change or setting `p` (its payload; `ts`: when it was made, else now) for `to`, in both
   * modes, inside the caller's transaction: a deletion takes the edits of its message still waiting
   * with it (their texts never leave). It leaves in order with the texts (kept_sends.ts).
   */
  queueChange(to: Target, p: Payload, ts?: number): PendingMessage {
    if (p.k === "delete") this.#dropEditsOf(p.ref);
    return this.create(to, JSON.stringify(p), {
      mid: p.mid,
      ...(ts === undefined ? {} : { ts }),
      change: true,
    });
  }

  /** Message `ref` is deleted: the edits of it still waiting are dropped (their texts never leave). */
  #dropEditsOf(ref: string): void {
    for (const p of this.waiting()) {
      if (!p.change) continue;
      const c = JSON.parse(p.text) as Payload;
      if (c.k === "edit" && c.ref === ref) this.remove(p.mid);
    }
  }

  /**
   * Sending `mid` failed with `e`: the entry as engine_outbox.ts decides (failed, removed, or kept
   * for the next connect until the session's `dropLimit`, POISON_DROPS unless said). Answers the error to throw.
   */
  sendFailed(
    mid: string,
    e: unknown,
    o: { kept: boolean; offline: boolean; maxFrame: number; dropLimit?: number },
  ): unknown {
    const refusal = isPermanentRefusal(e) ? e.message : null;
    let fx = outboxStep({
      kind: "sendFailed",
      mid,
      kept: o.kept,
      offline: o.offline,
      refusal,
      later: isRetryLater(e),
      slow: e instanceof BackendError && e.code === "rate_limited",
    });
    if (fx.some((f) => f.kind === "noteDrop")) {
      const drops = this.store.noteDrop(mid);
      const limit = o.dropLimit ?? POISON_DROPS;
      fx = outboxStep({ kind: "dropNoted", mid, drops, maxFrame: o.maxFrame, limit });
    }
    return this.carry(fx, e);
  }

  /**
   * Carries out outbox effects (engine_outbox.ts) on the store; answers what the caller gets: `e`,
   * a refusal in its place, or the string "pending".
   */
  carry(fx: OutboxEffect[], e: unknown): unknown {
    let answer: unknown = e;
    for (const f of fx) {
      if (f.kind === "settle") this.settle(f.message);
      else if (f.kind === "fail") this.fail(f.mid, f.why);
      else if (f.kind === "remove") this.remove(f.mid);
      else if (f.kind === "keep") this.#keep(f.mid);
      else if (f.kind === "refuse") answer = new BackendError(f.code, f.text);
      else if (f.kind === "pending") answer = "pending";
    }
    return answer;
  }
}
