/**
 * `MessageChanges`: changes of messages already sent (issue 39), disappearing messages (issue 39.5)
 * and room topics on one connection. A change (edit, delete, reaction) or a setting (a conversation's
 * expiry, a room's topic) is sealed like a message of its conversation under a fresh mid, after the
 * room changes seen so far, and sealed once more if devices changed; it is applied here once the
 * server stored it and the new state is announced (`message.changed`). A UI's change made while
 * offline waits in the outbox (core/outbox.ts) and leaves in order with the texts at the next connect
 * (kept_sends.ts → `sendQueued`); a deletion drops the edits of its message still waiting.
 * `purgeExpired` deletes what ran out of time. Peer mode runs this same class over its session
 * (peer/session.ts): no server answers there, so a change or disappearing time is queued and applied
 * here at once (`ChangeWay` "applied": `queueChangeOf` with `apply`; a setting checked, queued and its
 * line kept in one transaction, `#keepQueued`) and handed as queued when its peer's lane may
 * (`handQueued`); the peer's ack takes it out of the outbox.
 */
import { BackendError, type ChatMessage, type MessageChange, type Target } from "../backend.ts";
import { randomId } from "../../common/random.ts";
import {
  applyChecked,
  changeOf,
  type ChangePayload,
  changePayload,
  decodePayload,
  editTooLate,
  encodePayload,
  expiryText,
  handOut,
  MAX_EXPIRY_S,
  type Payload,
  sealAndSend,
  type Sealed,
  type Setting,
  SETTING_FIXED,
  settingPayload,
  topicProblem,
  topicText,
  UnreadableError,
} from "../e2e/mod.ts";
import { setTopic } from "../session/local_topics.ts";
import type { LocalStore, PendingMessage } from "../session/local_store.ts";
import { writeTx } from "../session/local_store_sql.ts";
import { convOf, convOfTarget, wire } from "../session/wire_events.ts";
import { checkSendable, handOver, sendFailed, type SendHost } from "./sending.ts";
import type { Handed } from "./kept_sends.ts";
import { utf8 } from "../../common/bytes.ts";
import type { Outbox } from "./outbox.ts";

/** What the changes need beyond the host: received messages opened so far (sending.ts's host). */
export type ChangesHost = SendHost;

const noKeys = (what: string) =>
  new BackendError("no_keys", `${what} need end-to-end keys (a client folder)`);

/**
 * The message `ref` of `store` when `me` may make change `c` to it now (`now`), in either mode: its
 * sender edits or deletes it (a room's admin, `admin`, may delete it too), anyone in the conversation
 * reacts; never a setting line, a deleted message, or an edit past the 24-hour window (as its
 * recipients will count it, e2e/changes.ts `editTooLate`). Else the refusal, with a stable code.
 */
function changeable(
  store: LocalStore,
  me: string,
  ref: string,
  c: MessageChange,
  now: number,
  admin = false,
): ChatMessage {
  const orig = store.byMidAny(ref);
  if (!orig) throw new BackendError("no_such_message", `There is no message ${ref} in this history`);
  if (orig.setting) throw new BackendError("setting_line", SETTING_FIXED);
  if (c.kind !== "react" && orig.from !== me && !admin) {
    throw new BackendError(
      "not_yours",
      c.kind === "delete" && orig.to.kind === "room"
        ? "Only its sender or an admin of the room can delete a message"
        : "Only its sender can edit or delete a message",
    );
  }
  if (orig.deleted) throw new BackendError("deleted", "That message was deleted");
  if (c.kind === "edit" && editTooLate(orig, { ts: now, at: now })) {
    throw new BackendError(
      "edit_window",
      "A message can be edited for 24 hours after it was sent (the edit window)",
    );
  }
  return orig;
}

/** The change `/react EMOJI` makes to message `ref`: `me`'s reaction toggled. */
function toggled(store: LocalStore, me: string, ref: string, emoji: string): MessageChange {
  const mine = store.byMidAny(ref)?.reactions?.[emoji]?.includes(me) ?? false;
  return { kind: "react", emoji, on: !mine };
}

/** Where a change of `orig` made by `me` goes, in both modes: a direct text's other party, else its conversation. */
function changeTo(orig: ChatMessage, me: string): Target {
  return orig.to.kind === "user" && orig.from !== me ? { kind: "user", name: orig.from } : orig.to;
}

/**
 * Keeps setting `s`, made by `me`, for the conversation of its line `m` and saves the line when it
 * is numbered (inside the caller's transaction), in both modes: a topic, or a disappearing time.
 */
function keepSetting(store: LocalStore, me: string, m: ChatMessage, s: Setting): void {
  const conv = convOf(me, m);
  if (s.kind === "topic") setTopic(store.db, conv, { text: s.text, by: me, at: m.ts });
  else store.setExpiry(conv, s.seconds, m.ts);
  if (m.seq) store.insert([m], true);
}

/** Deletes the disappearing messages of `store` whose time is up (`now`) and says which (`notify`), in both modes. */
function purgeExpired(
  store: LocalStore | null,
  now: number,
  notify: (e: { type: "messages.expired"; mids: string[] }) => void,
): string[] {
  const mids = store?.purgeExpired(now) ?? [];
  if (mids.length) notify({ type: "messages.expired", mids });
  return mids;
}

/** A payload made here, checked as its receiver will check it (a malformed emoji, time or id is refused now: `usage`), in both modes. */
function checkedPayload<P extends Payload>(p: P): P {
  try {
    decodePayload(encodePayload(p), p.mid);
    return p;
  } catch (e) {
    throw new BackendError("usage", (e as Error).message);
  }
}

/**
 * Queues change `c` of `orig` (id `ref`), made by `me` at `ts` under `mid`, for `to` in `out`, in
 * both modes: checked as its receiver will check it, naming the message by its sender and id (issue
 * 69 N2), with its time (N4); a deletion takes the edits of its message still waiting
 * (core/outbox.ts `queueChange`). `apply` (peer mode: no server answers) applies it here at once, in
 * the same transaction, as the receivers apply it (e2e/changes.ts `applyChecked`; what that rule
 * refuses is `refused`); client mode applies it once the server took it (`sendQueued`). The message as it is now.
 */
function queueChangeOf(
  out: Outbox,
  me: string,
  to: Target,
  q: { ref: string; c: MessageChange; orig: ChatMessage; mid: string; ts: number },
  apply: boolean,
): ChatMessage {
  const { ref, c, orig, mid, ts } = q;
  const p = checkedPayload(changePayload(mid, ref, c, orig.from, ts));
  return writeTx(out.store.db, () => {
    const now = apply
      ? refusing(() => applyChecked(out.store, me, { from: me, to, ts, at: ts }, ref, c, false, orig.from))
      : orig;
    out.queueChange(to, p, ts);
    return now;
  });
}

/** What `fn` answers; a change the rule refuses (UnreadableError) as the refusal `refused`. */
function refusing<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof UnreadableError)) throw e;
    throw new BackendError("refused", `Refused: ${e.message}`);
  }
}

/** The earlier texts of message `ref`, oldest first, each with when it was replaced (none when not held). */
function editsOf(store: LocalStore | null, ref: string): { at: number; text: string }[] {
  const m = store?.byMidAny(ref);
  return m && store ? store.editsOf(m.seq) : [];
}

/**
 * How a change or setting made now leaves: sent now, applied here once the server took it (`send`);
 * queued for the next connect, applied once sent (`queue`: a UI offline); or queued and applied here at
 * once (`applied`: no server answers, a peer's ack comes when it comes — peer mode).
 */
export type ChangeWay = "send" | "queue" | "applied";

export class MessageChanges {
  /**
   * `way`: how a change to `to` made now leaves (the core asks the engine's `sendRequest` rule for
   * a text, and its session); `queued`: an entry was written to the outbox, to leave when it may.
   */
  constructor(
    readonly host: ChangesHost,
    readonly way: (to: Target) => ChangeWay = () => "send",
    readonly queued: (p: PendingMessage) => void = () => {},
  ) {}

  /**
   * Changes a message already sent: its sender edits or deletes it (a room admin may delete too);
   * anyone in the conversation reacts (`react` toggles this user's reaction). The new state.
   */
  async changeMessage(ref: string, c: MessageChange): Promise<ChatMessage> {
    const { host } = this, codec = host.codec;
    if (!codec.sealChange || !host.store) throw noKeys("Edits, deletions and reactions");
    const orig = await this.#mayChange(host.store, ref, c);
    const to = host.session.address?.(changeTo(orig, host.user)) ?? changeTo(orig, host.user);
    if (c.kind === "edit") await checkSendable(host, to, c.text);
    const way = host.outgoing ? this.way(to) : "send";
    if (way !== "send") return this.#queue(host.outgoing!, to, ref, c, orig, way === "applied");
    // The change names the message by its sender and id (issue 69 N2).
    return await this.#sendChange(to, ref, c, orig.from);
  }

  /** Seals change `c` of `ref` (by `by`) for `to` under `mid` (fresh if none), sends it, applies it here. */
  async #sendChange(
    to: Target,
    ref: string,
    c: MessageChange,
    by: string,
    mid?: string,
  ): Promise<ChatMessage> {
    const { host } = this, codec = host.codec;
    const sent = await this.#sendSealed(to, (mid) => codec.sealChange!(to, mid, ref, c, by), "", mid);
    if (mid) host.outgoing?.remove(mid); // a queued one leaves the outbox
    if (!codec.changeSent) throw noKeys("Edits, deletions and reactions");
    const changed = await codec.changeSent(sent, ref, c, by);
    host.notify({ type: "message.changed", message: changed });
    // The server's stored copy goes too: members still offline never receive it (issue 39.3). A
    // server from before 0.3 does not know the request; the deletion itself has gone out anyway.
    if (c.kind === "delete" && by === host.user) {
      await host.session.conn?.request("message.unsend", { mid: ref }).catch(() => {});
    }
    return changed;
  }

  /**
   * Change `c` of `orig` waits in the outbox (a deletion takes the edits of its message still waiting
   * with it). Offline: said once, and the message answered as it is now; `applied` (peer mode):
   * applied here at once and announced, and it leaves as soon as its lane may.
   */
  #queue(
    out: Outbox,
    to: Target,
    ref: string,
    c: MessageChange,
    orig: ChatMessage,
    applied: boolean,
  ): ChatMessage {
    const { host } = this, me = host.user;
    const q = { ref, c, orig, mid: this.#mid(), ts: host.clock.now() };
    const now = queueChangeOf(out, me, to, q, applied);
    this.queued(host.store!.pending(q.mid)!);
    if (applied) {
      host.notify({ type: "message.changed", message: now });
      return now;
    }
    const what = c.kind === "react" ? "reaction" : c.kind === "edit" ? "edit" : "deletion";
    const text = `Not connected: the ${what} goes at the next connect (/outbox lists it)`;
    host.notify({ type: "notice", level: "info", text });
    return orig;
  }

  /** A fresh message id in the session's form. */
  #mid(): string {
    return this.host.session.sends.mid?.() ?? randomId(undefined, 12);
  }

  /**
   * A change queued offline (`#queue`), sent now by the outbox's lane: applied here once the server
   * took it. One applied when queued (peer mode) goes as queued: `handQueued`.
   */
  async sendQueued(p: PendingMessage): Promise<ChatMessage> {
    const q = JSON.parse(p.text) as ChangePayload, { host } = this;
    try {
      return await this.#sendChange(p.to, q.ref, changeOf(q), q.by ?? host.user, p.mid);
    } catch (e) {
      // As a text's resend (sending.ts): kept only while offline; refused, it leaves the outbox and is said.
      throw sendFailed(host.outgoing, host.session, p.mid, e, true);
    }
  }

  /**
   * A change or setting applied here when it was made (way `applied`: peer mode), handed to its lane's
   * carrier as it was queued; the other end's ack takes it out of the outbox.
   */
  async handQueued(p: PendingMessage): Promise<Handed> {
    const { host } = this, codec = host.codec;
    if (!codec.sealQueued) throw noKeys("Edits, deletions and reactions");
    try {
      const { body } = await codec.sealQueued(p.to, utf8.encode(p.text));
      const { acked } = await handOver(host.link, p.to, p.mid, body, { ts: p.ts });
      return { taken: acked.then(() => (host.outgoing?.remove(p.mid), null)) };
    } catch (e) {
      throw sendFailed(host.outgoing, host.session, p.mid, e, true); // kept while its lane is down
    }
  }

  /** The message `ref`, when this user may make change `c` to it (`changeable`; a room's admin may delete); else the refusal. */
  async #mayChange(store: LocalStore, ref: string, c: MessageChange): Promise<ChatMessage> {
    const { host } = this, room = store.byMidAny(ref)?.to;
    const admin = c.kind === "delete" && room?.kind === "room" && await host.codec.roomAdmin?.(room.name!);
    // The time is the one sealed in the edit (e2e/apply.ts): the recipients' rule, same times.
    return changeable(store, host.user, ref, c, host.clock.now(), admin === true);
  }

  /** The earlier texts of message `ref`, oldest first, each with when it was replaced (none when not held). */
  editsOf(ref: string): Promise<{ at: number; text: string }[]> {
    return Promise.resolve(editsOf(this.host.store, ref));
  }

  /** Toggles this user's reaction `emoji` on message `ref`. */
  react(ref: string, emoji: string): Promise<ChatMessage> {
    const store = this.host.store;
    if (!store) return Promise.reject(noKeys("Edits, deletions and reactions"));
    return this.changeMessage(ref, toggled(store, this.host.user, ref, emoji));
  }

  /**
   * From now on, messages in `target` are deleted from every store `seconds` after they are sent
   * (0: off). The setting is a sealed message of the conversation, so every member's client learns
   * it (and shows it as a line); it is kept here at once.
   */
  async setExpiry(target: Target, seconds: number): Promise<ChatMessage> {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_EXPIRY_S) {
      throw new BackendError("usage", "Messages can disappear after 1 second to 366 days (or off)");
    }
    return await this.#setting(wire(target), { kind: "expire", seconds }, expiryText(seconds));
  }

  /** How long after they are sent messages in `target` disappear, in seconds (0: never; no store: 0). */
  expiry(target: Target): Promise<number> {
    const { host } = this;
    return Promise.resolve(host.store?.expiryOf(convOfTarget(host.user, wire(target))) ?? 0);
  }

  /**
   * Sets the topic of `room` for every member ("" clears it): a setting sealed like a message of the
   * room, kept here at once; its line (`topic` says the text).
   */
  async setTopic(room: string, text: string): Promise<ChatMessage> {
    const problem = topicProblem(text);
    if (problem) throw new BackendError("usage", problem);
    return await this.#setting(wire({ kind: "room", name: room }), { kind: "topic", text }, topicText(text));
  }

  /**
   * Sends setting `s` held here for `room` once more, with the time it was set (`s.at`), for members
   * invited since: it shows only where it is news (not here, nor on my other devices).
   */
  async again(room: string, s: Setting & { at: number }): Promise<void> {
    await this.#setting(wire({ kind: "room", name: room }), s, "");
  }

  /**
   * Seals setting `s` for `to` and sends it; a new one (no `at`) is kept here at once and its line
   * saved and answered (a setting line: never changed; a topic's says its text).
   */
  async #setting(to: Target, s: Setting, text: string): Promise<ChatMessage> {
    const { host } = this, codec = host.codec, store = host.store;
    if (!codec.sealSetting || !store) {
      throw noKeys(s.kind === "topic" ? "Room topics" : "Disappearing messages");
    }
    to = host.session.address?.(to) ?? to;
    if (host.outgoing && s.at === undefined && this.way(to) === "applied") {
      return this.#keepQueued(to, s, text);
    }
    const sent = await this.#sendSealed(to, (mid) => codec.sealSetting!(to, mid, s), text);
    if (s.at !== undefined) return sent;
    const m: ChatMessage = { ...sent, setting: true, ...(s.kind === "topic" ? { topic: s.text } : {}) };
    writeTx(store.db, () => keepSetting(store, host.user, m, s));
    return m;
  }

  /**
   * A new setting where no server answers (peer mode): checked as its receiver checks it, queued, kept
   * and its line saved (numbered as the session numbers it) in one transaction; it leaves when it may.
   */
  #keepQueued(to: Target, s: Setting, text: string): ChatMessage {
    const { host } = this, store = host.store!, mid = this.#mid(), ts = host.clock.now();
    const p = checkedPayload(settingPayload(mid, s));
    const line = writeTx(store.db, () => {
      host.outgoing!.queueChange(to, p, ts);
      const line = host.session.number({ mid, ts, from: host.user, to, text, seq: 0, setting: true });
      keepSetting(store, host.user, line, s);
      return line;
    });
    this.queued(store.pending(mid)!);
    return line;
  }

  /** Deletes the disappearing messages whose time is up from the local history, and says which. */
  purgeExpired(now = this.host.clock.now()): string[] {
    return purgeExpired(this.host.store, now, (e) => this.host.notify(e));
  }

  /**
   * Sends a body the codec seals under a fresh mid (a change, a setting) through the link, after the
   * room changes seen so far, sealing once more if devices changed; answers its envelope with `text` (what it shows as).
   */
  async #sendSealed(
    to: Target,
    seal: (mid: string) => Promise<Sealed>,
    text: string,
    mid = randomId(undefined, 12),
  ): Promise<ChatMessage> {
    const { host } = this, codec = host.codec;
    await host.opened();
    const r = await sealAndSend(
      () => seal(mid),
      async ({ body, devices, handouts }) => {
        await handOut(codec, host.link, handouts); // members get the sender key before the change
        return await host.link.send(to, mid, body, devices ? { devices } : {});
      },
      codec.devicesChanged?.bind(codec),
    );
    return { seq: r.seq, mid, ts: r.ts, from: host.user, to, text };
  }
}
