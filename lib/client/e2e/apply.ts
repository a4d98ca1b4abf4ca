/**
 * What an opened payload does to the local history, committed with the ratchet or chain step that
 * opened it (one transaction): a text is saved, a change (edit, deletion, reaction; issue 39) is
 * checked by e2e/changes.ts's one rule and applied, a disappearing-time setting or a room's topic is
 * kept for its conversation and shown as its sender's line (a setting re-sent to a member invited
 * later shows only where it is news). A room admin (by the verified log) may delete
 * others' messages. Runs under the folder's lock.
 *
 * Both modes apply through it (issue 70: one client core): what differs is its `Ledger`, where it
 * commits and how an envelope is taken — client mode's keystore (the server numbers and stamps; a
 * consumed seq is recorded: `FolderApplier`), peer mode's node store (peer/codec.ts: each message is
 * numbered here, a change taken once by sender and id behind the peer's horizon, its time the time it
 * arrives, my text whose ack was lost confirmed by a change of it). A DM's opened payload is taken the
 * same way in both (`takeDm`: decoded, done; one refused taken with its ratchet step standing).
 *
 * My own changes (edit, deletion, reaction) and settings as the folder's other processes see them: a
 * change sealed by one process of a folder (`parley edit` beside the full-screen client) comes back to
 * the others sealed for every device but this one, so they cannot open it. The sending process files
 * what it changes as it seals it (`fileOwnChange`, by the envelope's mid, for ten minutes; the codec
 * seals the payload it answers); a process that gets the envelope back applies it from there
 * (`ownChange`) — whichever comes first applies it and records it consumed, the other only reads the
 * result (`ownChangeSent` for the sender). A setting is filed the same way (`fileOwnSetting`, `ownSetting`).
 * Client mode only: `FolderApplier`.
 */
import type { StoreWrites } from "../../crypto/state_store.ts";
import { SqliteCryptoStore } from "../session/crypto_store.ts";
import { convOf } from "../session/wire_events.ts";
import { setTopic } from "../session/local_topics.ts";
import type { BackendEvent, ChatMessage, LocalStore, MessageChange } from "./door.ts";
import { type Setting, UnreadableError } from "./body_codec.ts";
import {
  applyChecked,
  changeOf,
  changePayload,
  expiryText,
  idTaken,
  isChange,
  refuseFuture,
  startsAt,
  targetOf,
  topicText,
} from "./changes.ts";
import {
  type ChangePayload,
  decodePayload,
  encodePayload,
  type Payload,
  settingPayload,
  type TopicPayload,
} from "./keys.ts";
import { FiledList } from "./controls.ts";
import type { Clock } from "../../common/clock.ts";

/** `m` with the id of the message it answers (and its sender, `by`), when it names one. */
export const withReply = (m: ChatMessage, re: string | undefined, by?: string): ChatMessage =>
  re ? { ...m, replyTo: re, ...(by ? { replyBy: by } : {}) } : m;

/**
 * An opened text message: its text, the message it answers, its sender's sealed time (`sentAt`: its
 * edit window starts there), when it disappears: its ttl after the server's time, but no later than
 * after the sender's sealed time plus a small skew (issue 69 N4: the server does not choose alone;
 * changes.ts `startsAt`, `editTooLate`).
 */
export const opened = (
  m: ChatMessage,
  p: { text: string; re?: string; rb?: string; x?: number; at?: number },
): ChatMessage => {
  const r = withReply({ ...m, text: p.text, ...(p.at !== undefined ? { sentAt: p.at } : {}) }, p.re, p.rb);
  return p.x ? { ...r, expires: startsAt(m.ts, p.at) + p.x * 1000 } : r;
};

/** Changes kept at most for one unconfirmed text of mine (more are refused as changes of an unknown text). */
const HELD_PER_TEXT = 64;

/** My changes sealed in this folder, by the mid of their envelope. */
const MINE = new FiledList<{ ref: string; c: MessageChange; by?: string; at?: number }>(
  "changes:mine",
  64,
  10 * 60_000,
);

/** My settings sealed in this folder, by the mid of their envelope (a number: a disappearing time filed by 0.18). */
const SETTINGS = new FiledList<number | Setting>("settings:mine", 64, 10 * 60_000);

/** No keystore writes. */
export const NO_WRITES: StoreWrites = { put: {}, del: [] };

/** A change of a text of mine not confirmed yet, as received: its envelope and what it does. */
export interface HeldChange {
  m: ChatMessage;
  c: MessageChange;
  admin: boolean;
  /** The sender of the message it changes, as the change names it. */
  by?: string;
  /** The time sealed in an edit (its edit window: e2e/changes.ts `editTooLate`). */
  at?: number;
  /** The time it counts at (its envelope's stamp, or an edit's later sealed time). */
  ts?: number;
}

/** What taking an envelope found: new, taken before (a copy again: nothing to do), older than what is remembered (refused). */
export type Taken = "new" | "again" | "stale";

/** What a ledger records of an envelope it takes. */
export type Consumed = Pick<ChatMessage, "seq" | "from" | "mid" | "ts">;

/** Where the applier commits, and how each mode takes an envelope (see the module comment). */
export interface Ledger {
  /** Commits the writes `w` (the ratchet or chain step) and runs `also` in the same transaction. */
  commit(w: StoreWrites, also?: (db: LocalStore["db"]) => void): Promise<void>;
  /** Records `m` of `conv` as taken, inside `commit`: never shown, never applied again. */
  consume(db: LocalStore["db"], m: Consumed, conv: string): Taken;
  /** `m` as it is saved, with its number; null when it is saved already. Inside `commit`. */
  place(m: ChatMessage): ChatMessage | null;
  /**
   * The time envelope `m` counts at for the rules (the edit window, a stamp ahead of this clock): the
   * server's stamp, or, where no server stamps it, the time it arrives (its sender's word is not taken).
   */
  stamp(m: ChatMessage): number;
  /**
   * My text `ref`, still in the outbox, that the sender of change `m` shows it holds: true when it is
   * confirmed now (a peer's lost ack), false when the change waits for the outbox's resend (`held`).
   */
  confirmHeld(m: ChatMessage, ref: string): boolean;
  /** A text may be taken back before it reaches here (a server deletes its copy): a deletion of one not held is nothing. */
  readonly takenBack: boolean;
}

/** What differs in taking a DM's payload between the modes (`HistoryApplier.takeDm`). */
export interface DmTaking {
  /** Takes a room's sender key (client mode: e2e/room_seal.ts); none where there are no rooms: refused, as a topic. */
  senderKey?: (pl: Extract<Payload, { k: "skd" }>) => Promise<void>;
  /** A body that is no versioned payload is the text itself (a peer of an earlier version's: peer/codec.ts). */
  bare?: boolean;
}

/** Who administers a room, by its verified membership log (e2e/room_log.ts `RoomLogs`). */
export interface AdminLogs {
  /** The verified state of `room`'s log: its admins (rejects when it cannot be verified). */
  state(room: string): Promise<{ admins: string[] }>;
}

/** What the applier tells: a notice, or a message `by` changed (`change`). */
export type Applied =
  | BackendEvent
  | { type: "message.changed"; message: ChatMessage; by: string; change: MessageChange };

/** Client mode's ledger over the folder's keystore `cs`: the server numbers and stamps; a consumed seq is recorded. */
function folderLedger(cs: SqliteCryptoStore): Ledger {
  return {
    commit: (w, also) => cs.commit(w, also),
    consume: (db, m, conv) => (SqliteCryptoStore.markConsumed(db, m.seq, conv), "new"),
    place: (m) => m,
    stamp: (m) => m.ts,
    confirmHeld: () => false,
    takenBack: true,
  };
}

/**
 * The history applier (see the module comment): what opened payloads do to the local history `local`,
 * committed with their steps through `ledger`; a room admin as `logs` verifies (none: no rooms).
 */
export class HistoryApplier {
  /**
   * Changes of my own texts still in the outbox (their `ok` was lost), by the text's mid: applied when
   * the outbox's resend confirms it (`receiveChange`, `confirmed`).
   */
  readonly held = new Map<string, HeldChange[]>();

  /** `me`'s applier of `local`, committing through `ledger`; `logs` says who administers a room. */
  constructor(
    readonly me: string,
    readonly ledger: Ledger,
    readonly local: LocalStore,
    readonly clock: Clock,
    readonly logs: AdminLogs | null,
    /** Tells the surfaces. */
    readonly notify: (e: Applied) => void,
  ) {}

  #notice(text: string): void {
    this.notify({ type: "notice", level: "error", text });
  }

  /**
   * Saves message `m` of `conv` with the writes `w` (null: saved already); one whose id another sender's
   * message holds here (e2e/changes.ts `idTaken`), or one stamped minutes ahead of this device's clock
   * (issue 69 N4: its disappearing time and edit window would start there), is consumed, not stored,
   * and refused (UnreadableError: said once).
   */
  async save(w: StoreWrites, m: ChatMessage, conv: string): Promise<ChatMessage | null> {
    await this.#refuseWith(w, m, conv, () => refuseFuture(this.ledger.stamp(m), this.clock.now()));
    if (await this.#refuseTaken(w, m, conv)) return null;
    let saved = null as ChatMessage | null;
    await this.ledger.commit(w, () => {
      saved = this.ledger.place(m);
      if (saved) this.local.insert([saved]);
    });
    return saved;
  }

  /**
   * Refuses `m` when its id is another sender's here: the writes `w` committed, `m` consumed, not
   * stored; true when it was taken before (said once already: nothing to do).
   */
  async #refuseTaken(w: StoreWrites, m: ChatMessage, conv: string): Promise<boolean> {
    const taken = idTaken(this.local, m);
    if (taken === null) return false;
    if (await this.consume(w, m, conv) === "again") return true;
    throw new UnreadableError(taken);
  }

  /** Runs `check`; when it refuses `m`, the writes `w` are committed and `m` consumed before its error goes on. */
  async #refuseWith(w: StoreWrites, m: ChatMessage, conv: string, check: () => void) {
    try {
      check();
    } catch (e) {
      await this.consume(w, m, conv);
      throw e;
    }
  }

  /**
   * Checks change `c` of `ref` that `env` carries (from its sender; `admin`: a room admin's deletion; at
   * `ts`, its envelope's by default) and applies it with the writes `w`, recording `env` as taken under
   * `conv` (null: not recorded) — refused (UnreadableError), the writes and the record stand. Null when
   * it was taken before.
   */
  async applyWith(
    w: StoreWrites,
    env: ChatMessage,
    change: { ref: string; c: MessageChange; admin: boolean; by?: string; at?: number; ts?: number },
    conv: string | null,
  ): Promise<ChatMessage | null> {
    const { ref, c, admin, by, at } = change;
    const ts = change.ts ?? env.ts;
    let taken = "new" as Taken, changed = null as ChatMessage | null, refused: unknown = null;
    await this.ledger.commit(w, (db) => {
      if (conv !== null) taken = this.ledger.consume(db, env, conv);
      if (taken !== "new") return;
      try {
        const e = { ...env, ts, ...(at === undefined ? {} : { at }) };
        changed = applyChecked(this.local, this.me, e, ref, c, admin, by);
      } catch (e) {
        if (!(e instanceof UnreadableError)) throw e;
        refused = e;
      }
    });
    // Sent before the changes remembered (peer mode: peer/store.ts's horizon): it may have been taken and pruned since.
    if (taken === "stale") {
      throw new UnreadableError("it is older than the changes this node remembers (replay)");
    }
    if (refused) throw refused;
    return changed;
  }

  /** Commits `w` and records `m` of `conv` as taken: it never shows as a line; what taking it found. */
  async consume(w: StoreWrites, m: Consumed, conv: string): Promise<Taken> {
    let taken = "new" as Taken;
    await this.ledger.commit(w, (db) => void (taken = this.ledger.consume(db, m, conv)));
    return taken;
  }

  /** Whether `user` is an admin of `room` by its verified membership log (false when it cannot be verified). */
  isAdmin(room: string, user: string): Promise<boolean> {
    if (!this.logs) return Promise.resolve(false);
    return this.logs.state(room).then((s) => s.admins.includes(user), () => false);
  }

  /** A deletion in a room by one of its admins (by the verified log): it may take anyone's message. */
  deletesAsAdmin(env: ChatMessage, c: MessageChange): Promise<boolean> {
    if (c.kind !== "delete" || env.to.kind !== "room") return Promise.resolve(false);
    return this.isAdmin(env.to.name!, env.from);
  }

  /** A received change: checked (UnreadableError when refused), applied with the ratchet step, announced. */
  async receiveChange(w: StoreWrites, m: ChatMessage, conv: string, cp: ChangePayload): Promise<null> {
    const c = changeOf(cp);
    let ts = this.ledger.stamp(m);
    if (c.kind === "edit") {
      // The edit window (changes.ts `editTooLate`) from the sealed times, not the server's (issue 69
      // N4): a stamp ahead of this clock is refused; it is edited at its sealed time when later.
      await this.#refuseWith(w, m, conv, () => refuseFuture(ts, this.clock.now()));
      if (cp.k === "edit" && cp.at !== undefined && cp.at > ts) ts = cp.at;
    }
    const admin = await this.deletesAsAdmin(m, c);
    // The sender it names, and an edit's sealed time: held with it, or checked now.
    const named = {
      ...(cp.by === undefined ? {} : { by: cp.by }),
      ...(cp.k === "edit" && cp.at ? { at: cp.at } : {}),
      ts,
    };
    if (this.ledger.takenBack && c.kind === "delete" && !targetOf(this.local, m, cp.ref, c, admin, cp.by)) {
      // Taken back before it reached this device (the server deleted its copy): nothing to show.
      await this.consume(w, m, conv);
      return null;
    }
    const held = this.held.get(cp.ref) ?? [];
    if (this.#heldFor(m, cp.ref) && !this.ledger.confirmHeld(m, cp.ref) && held.length < HELD_PER_TEXT) {
      // My text whose ok was lost: after its resend.
      await this.consume(w, m, conv);
      this.held.set(cp.ref, [...held, { m, c, admin, ...named }]);
      return null;
    }
    const message = await this.applyWith(w, m, { ref: cp.ref, c, admin, ...named }, conv);
    if (message) this.notify({ type: "message.changed", message, by: m.from, change: c });
    return null;
  }

  /**
   * Whether change `m` of `ref` waits for its text: not in the history, but mine and still in the outbox
   * to the same conversation (the server took it, the `ok` was lost; the resend will confirm it).
   */
  #heldFor(m: ChatMessage, ref: string): boolean {
    if (this.local.byMidAny(ref)) return false;
    const mine = this.local.pending(ref);
    return mine !== undefined && convOf(this.me, { ...m, from: this.me, to: mine.to }) === convOf(this.me, m);
  }

  /**
   * My text `mid` was confirmed (into the history): the changes received for it meanwhile apply now, in
   * the order they came; one refused by the rule is said as a notice, like a refused change.
   */
  async confirmed(mid: string): Promise<void> {
    const waiting = this.held.get(mid);
    if (!waiting) return;
    this.held.delete(mid);
    for (const h of waiting) {
      try {
        const message = await this.applyWith(NO_WRITES, h.m, { ...h, ref: mid }, null);
        if (message) this.notify({ type: "message.changed", message, by: h.m.from, change: h.c });
      } catch (e) {
        this.#notice(`A change from ${h.m.from} could not be applied: ${(e as Error).message}`);
      }
    }
  }

  /**
   * A received disappearing-time setting: kept for the conversation and shown as a line of its
   * sender's; a re-send (`s.at`: to a member invited later) that is no news here is consumed unseen (null).
   */
  receiveExpiry(
    w: StoreWrites,
    m: ChatMessage,
    s: { seconds: number; at?: number },
  ): Promise<ChatMessage | null> {
    const line: ChatMessage = { ...m, text: expiryText(s.seconds), setting: true };
    return this.#keepSetting(w, m, line, s.at, (conv, at) => this.local.setExpiry(conv, s.seconds, at));
  }

  /**
   * Keeps a setting `m` carries with `keep(conv, at)` (whether it is news here) in the ratchet step's
   * transaction, `at` its time (a re-send's `sentAt`: when first set, never after its envelope); `line`
   * is saved and answered, unless it is a re-send that is no news here (consumed unseen: null) or saved already (null).
   */
  async #keepSetting(
    w: StoreWrites,
    m: ChatMessage,
    line: ChatMessage,
    sentAt: number | undefined,
    keep: (conv: string, at: number) => boolean,
  ): Promise<ChatMessage | null> {
    const conv = convOf(this.me, m);
    if (await this.#refuseTaken(w, m, conv)) return null;
    let shown = null as ChatMessage | null;
    await this.ledger.commit(w, (db) => {
      const placed = this.ledger.place(line);
      if (!placed) return; // had it
      if (keep(conv, Math.min(sentAt ?? m.ts, m.ts)) || sentAt === undefined) {
        this.local.insert([shown = placed]);
      } else this.ledger.consume(db, m, conv);
    });
    return shown;
  }

  /**
   * A received room topic: kept for the room unless a newer one is held, and shown as its sender's line
   * (`topic` says the new text); a re-send (`pl.at`) that changes nothing here is consumed unseen (null).
   */
  receiveTopic(
    w: StoreWrites,
    m: ChatMessage,
    pl: Pick<TopicPayload, "text" | "at">,
  ): Promise<ChatMessage | null> {
    if (m.to.kind !== "room") throw new SyntaxError("A topic outside a room");
    const line: ChatMessage = { ...m, text: topicText(pl.text), setting: true, topic: pl.text };
    return this.#keepSetting(
      w,
      m,
      line,
      pl.at,
      (conv, at) => setTopic(this.local.db, conv, { text: pl.text, by: m.from, at }),
    );
  }

  /**
   * What the payload of DM `m` (of `conv`), opened as `o`, does, committed with its ratchet step `o.writes`
   * (both modes: e2e/receive.ts's DMs, peer/codec.ts's): a text saved, a change checked and applied, a
   * disappearing time kept, a sender key taken (`t.senderKey`); a room's topic has no place in a DM. The
   * text saved, or null. One refused — malformed, out of place, or by the rules above — changes nothing,
   * is taken (never again) with its ratchet step standing, and rejects with `UnreadableError`, which its
   * caller says (client mode's engine, as an error naming it; peer mode, as a warning).
   */
  async takeDm(
    o: { plaintext: Uint8Array; writes: StoreWrites },
    m: ChatMessage,
    conv: string,
    t: DmTaking = {},
  ): Promise<ChatMessage | null> {
    try {
      const pl = decodePayload(o.plaintext, m.mid, t.bare);
      const shown = this.receiveTextOrChange(o.writes, m, conv, pl);
      if (shown) return await shown;
      if (pl.k === "expire") return await this.receiveExpiry(o.writes, m, pl);
      if (pl.k === "skd" && t.senderKey) return await t.senderKey(pl).then(() => null);
      throw new SyntaxError(
        t.senderKey
          ? "A room's topic arrived in a direct message"
          : "A room's key or topic has no place in peer mode",
      );
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e; // refused by the rules: taken with its step already
      await this.consume(o.writes, m, conv); // the ratchet step stands
      throw new UnreadableError(e.message);
    }
  }

  /** A text or a change opened from `m`: saved, or checked and applied; undefined when `pl` is neither. */
  receiveTextOrChange(
    w: StoreWrites,
    m: ChatMessage,
    conv: string,
    pl: Payload,
  ): Promise<ChatMessage | null> | undefined {
    if (pl.k === "text") return this.save(w, opened(m, pl), conv);
    if (isChange(pl)) return this.receiveChange(w, m, conv, pl);
    return undefined;
  }
}

/**
 * Client mode's applier of one folder, over its keystore `cs`: the history applier plus my own changes
 * and settings as the folder's other processes get them back (see the module comment).
 */
export class FolderApplier extends HistoryApplier {
  constructor(
    me: string,
    readonly cs: SqliteCryptoStore,
    local: LocalStore,
    clock: Clock,
    logs: AdminLogs,
    notify: (e: Applied) => void,
  ) {
    super(me, folderLedger(cs), local, clock, logs, notify);
  }

  /** Files my setting `s` (its disappearing time, a room's topic) like a change; the payload to seal for its conversation. */
  async fileOwnSetting(mid: string, s: Setting): Promise<Uint8Array> {
    await this.cs.commit(
      await SETTINGS.writes(this.cs, { from: this.me, id: mid, at: this.clock.now(), value: s }),
    );
    return encodePayload(settingPayload(mid, s));
  }

  /**
   * Envelope `m` of mine as a setting filed in this folder: its line (saved here, or by the process
   * that sent it: the first to file it wins; null for a re-sent setting that is no news here), or
   * undefined when it is no setting of mine filed here.
   */
  async ownSetting(m: ChatMessage): Promise<ChatMessage | null | undefined> {
    const filed = await SETTINGS.get(this.cs, this.me, m.mid);
    if (filed === undefined) return undefined;
    const s: Setting = typeof filed === "number" ? { kind: "expire", seconds: filed } : filed;
    if (s.kind === "expire") return await this.receiveExpiry(NO_WRITES, m, s);
    return await this.receiveTopic(NO_WRITES, m, s);
  }

  /**
   * Envelope `m` of mine as a change filed in this folder: the changed message (applied now and recorded
   * consumed, unless that was done already), or undefined when it is no change of mine filed here.
   */
  async ownChange(m: ChatMessage, conv: string): Promise<ChatMessage | undefined> {
    const f = await MINE.get(this.cs, this.me, m.mid);
    if (!f) return undefined;
    if (this.cs.consumed(m.seq)) return this.#named(f.ref, f.by);
    const admin = await this.deletesAsAdmin(m, f.c);
    return await this.applyWith(NO_WRITES, m, { ...f, admin }, conv) ?? undefined;
  }

  /** Message `ref` of `by` (none named: the one message holding `ref`). */
  #named(ref: string, by: string | undefined): ChatMessage | undefined {
    return by === undefined ? this.local.byMidAny(ref) : this.local.byMid(by, ref);
  }

  /** Files my change `c` of `ref` (sent by `by`) under `mid` for the folder's other processes; the payload to seal. */
  async fileOwnChange(mid: string, ref: string, c: MessageChange, by?: string): Promise<Uint8Array> {
    const at = this.clock.now(); // an edit's sealed time, filed with it for the edit window: issue 69 N4
    const value = { ref, c, ...(by === undefined ? {} : { by }), ...(c.kind === "edit" ? { at } : {}) };
    await this.cs.commit(await MINE.writes(this.cs, { from: this.me, id: mid, at, value }));
    return encodePayload(changePayload(mid, ref, c, by, at));
  }

  /**
   * My change `c` of `ref` (sent by `by`) went through (envelope `sent`, with the seq the server gave it): applied to
   * the local history and recorded consumed — unless another process of the folder got it back first
   * and did so — and the message as it is now.
   */
  async ownChangeSent(sent: ChatMessage, ref: string, c: MessageChange, by?: string): Promise<ChatMessage> {
    if (sent.seq > 0 && this.cs.consumed(sent.seq)) return this.#named(ref, by) ?? sent;
    const conv = sent.seq > 0 ? convOf(this.me, sent) : null;
    const admin = await this.deletesAsAdmin(sent, c);
    const at = (await MINE.get(this.cs, this.me, sent.mid))?.at; // the edit's sealed time, as filed
    const also = { ...(by === undefined ? {} : { by }), ...(at === undefined ? {} : { at }) };
    return await this.applyWith(NO_WRITES, sent, { ref, c, admin, ...also }, conv) ?? sent;
  }

  /**
   * Mine, sent from this folder by another process (or this one): its text is in the outbox or history,
   * and it disappears as its sender sealed it (the time its outbox entry kept, core/outbox.ts, or the
   * conversation's: the process that sent it may file it after this one does, and the first to file a
   * message wins).
   */
  ownMessage(m: ChatMessage, conv: string): ChatMessage | null {
    const pending = this.local.pending(m.mid);
    const own = pending ?? this.local.byMid(this.me, m.mid);
    if (!own) return null;
    const ttl = pending ? pending.ttl ?? 0 : this.local.expiryOf(conv);
    const at = startsAt(m.ts, pending?.ts); // no later than when written here (issue 69 N4)
    const mine = withReply(
      { ...m, text: own.text, ...(ttl ? { expires: at + ttl * 1000 } : {}) },
      own.replyTo,
      own.replyTo ? this.local.byMidAny(own.replyTo)?.from : undefined,
    );
    this.local.confirm(mine);
    return mine;
  }

  /** Commits `w` and records the message `seq` of `conv` as consumed: it never shows as a line. */
  commitConsumed(w: StoreWrites, seq: number, conv: string): Promise<void> {
    return this.cs.commit(w, (db) => SqliteCryptoStore.markConsumed(db, seq, conv));
  }
}
