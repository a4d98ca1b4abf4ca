/**
 * What an opened payload does to the local history, committed with the ratchet or chain step that
 * opened it (one transaction): a text is saved, a change (edit, deletion, reaction; issue 39) is
 * checked by e2e/changes.ts's one rule and applied, a disappearing-time setting or a room's topic is
 * kept for its conversation and shown as its sender's line (a setting re-sent to a member invited
 * later shows only where it is news). A room admin (by the verified log) may delete
 * others' messages. Runs under the folder's lock.
 *
 * My own changes (edit, deletion, reaction) and settings as the folder's other processes see them: a
 * change sealed by one process of a folder (`parley edit` beside the full-screen client) comes back to
 * the others sealed for every device but this one, so they cannot open it. The sending process files
 * what it changes as it seals it (`fileOwnChange`, by the envelope's mid, for ten minutes; the codec
 * seals the payload it answers); a process that gets the envelope back applies it from there
 * (`ownChange`) — whichever comes first applies it and records it consumed, the other only reads the
 * result (`ownChangeSent` for the sender). A setting is filed the same way (`fileOwnSetting`, `ownSetting`).
 */
import type { StoreWrites } from "../../crypto/state_store.ts";
import type { ChatMessage, MessageChange } from "../backend.ts";
import { SqliteCryptoStore } from "../session/crypto_store.ts";
import { convOf } from "../session/wire_events.ts";
import { setTopic } from "../session/local_topics.ts";
import { type Setting, UnreadableError } from "./body_codec.ts";
import {
  applyChange,
  changeOf,
  changePayload,
  changeTarget,
  expiryText,
  idTaken,
  isChange,
  refuseFuture,
  startsAt,
  targetOf,
  topicText,
} from "./changes.ts";
import { type ChangePayload, encodePayload, type Payload, type TopicPayload } from "./keys.ts";
import { FiledList } from "./controls.ts";
import type { E2eParts } from "./parts.ts";

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

/**
 * Saves message `m` of `conv` with the writes `w`; one whose id another sender's message holds here
 * (e2e/changes.ts `idTaken`), or one stamped minutes ahead of this device's clock (issue 69 N4: its
 * disappearing time and edit window would start there), is consumed, not stored, and refused (UnreadableError: said once).
 */
export async function save(p: E2eParts, w: StoreWrites, m: ChatMessage, conv: string): Promise<ChatMessage> {
  await refuseWith(p, w, m, conv, () => refuseFuture(m.ts, p.clock.now()));
  await refuseTaken(p, w, m, conv);
  await p.cs.commit(w, () => p.local.insert([m]));
  return m;
}

/** Refuses `m` when its id is another sender's here: the writes `w` committed, `m` consumed, not stored. */
async function refuseTaken(p: E2eParts, w: StoreWrites, m: ChatMessage, conv: string): Promise<void> {
  const taken = idTaken(p.local, m);
  if (taken === null) return;
  await commitConsumed(p, w, m.seq, conv);
  throw new UnreadableError(taken);
}

/** Runs `check`; when it refuses `m`, the writes `w` are committed and `m` consumed before its error goes on. */
async function refuseWith(p: E2eParts, w: StoreWrites, m: ChatMessage, conv: string, check: () => void) {
  try {
    check();
  } catch (e) {
    await commitConsumed(p, w, m.seq, conv);
    throw e;
  }
}

/**
 * Checks change `c` of `ref` that `env` carries (from its sender; `admin`: a room admin's deletion) and
 * applies it with the writes `w`, recording `env` as consumed under `conv` (null: not stored).
 */
export async function applyWith(
  p: E2eParts,
  w: StoreWrites,
  env: ChatMessage,
  change: { ref: string; c: MessageChange; admin: boolean; by?: string; at?: number },
  conv: string | null,
): Promise<ChatMessage> {
  const { ref, c, admin, by, at } = change;
  const orig = changeTarget(p.local, p.me, at === undefined ? env : { ...env, at }, ref, c, admin, by);
  let changed!: ChatMessage;
  await p.cs.commit(w, (db) => {
    changed = applyChange(p.local, orig.seq, env.from, env.ts, c);
    if (conv !== null) SqliteCryptoStore.markConsumed(db, env.seq, conv);
  });
  return changed;
}

/** Whether `user` is an admin of `room` by its verified membership log (false when it cannot be verified). */
export function isAdmin(p: E2eParts, room: string, user: string): Promise<boolean> {
  return p.logs.state(room).then((s) => s.admins.includes(user), () => false);
}

/** A deletion in a room by one of its admins (by the verified log): it may take anyone's message. */
export function deletesAsAdmin(p: E2eParts, env: ChatMessage, c: MessageChange): Promise<boolean> {
  if (c.kind !== "delete" || env.to.kind !== "room") return Promise.resolve(false);
  return isAdmin(p, env.to.name!, env.from);
}

/** Changes kept at most for one unconfirmed text of mine (more are refused as changes of an unknown text). */
const HELD_PER_TEXT = 64;

/** A received change: checked (UnreadableError when refused), applied with the ratchet step, announced. */
export async function receiveChange(
  p: E2eParts,
  w: StoreWrites,
  m: ChatMessage,
  conv: string,
  cp: ChangePayload,
): Promise<null> {
  const c = changeOf(cp);
  if (c.kind === "edit") {
    // The edit window (changes.ts `editTooLate`) from the sealed times, not the server's (issue 69
    // N4): a stamp ahead of this clock is refused; it is edited at its sealed time when later.
    await refuseWith(p, w, m, conv, () => refuseFuture(m.ts, p.clock.now()));
    if (cp.k === "edit" && cp.at !== undefined && cp.at > m.ts) m = { ...m, ts: cp.at };
  }
  const admin = await deletesAsAdmin(p, m, c);
  // The sender it names, and an edit's sealed time: held with it, or checked now.
  const named = {
    ...(cp.by === undefined ? {} : { by: cp.by }),
    ...(cp.k === "edit" && cp.at ? { at: cp.at } : {}),
  };
  if (c.kind === "delete" && !targetOf(p.local, m, cp.ref, c, admin, cp.by)) {
    // Taken back before it reached this device (the server deleted its copy): nothing to show.
    await commitConsumed(p, w, m.seq, conv);
    return null;
  }
  const held = p.held.get(cp.ref) ?? [];
  if (held.length < HELD_PER_TEXT && heldFor(p, m, cp.ref)) { // my text whose ok was lost: after its resend
    await commitConsumed(p, w, m.seq, conv);
    p.held.set(cp.ref, [...held, { m, c, admin, ...named }]);
    return null;
  }
  const message = await applyWith(p, w, m, { ref: cp.ref, c, admin, ...named }, conv);
  p.host.notify({ type: "message.changed", message });
  return null;
}

/**
 * Whether change `m` of `ref` waits for its text: not in the history, but mine and still in the outbox
 * to the same conversation (the server took it, the `ok` was lost; the resend will confirm it).
 */
function heldFor(p: E2eParts, m: ChatMessage, ref: string): boolean {
  if (p.local.byMidAny(ref)) return false;
  const mine = p.local.pending(ref);
  return mine !== undefined && convOf(p.me, { ...m, from: p.me, to: mine.to }) === convOf(p.me, m);
}

/**
 * My text `mid` was confirmed (into the history): the changes received for it meanwhile apply now, in
 * the order they came; one refused by the rule is said as a notice, like a refused change.
 */
export async function confirmed(p: E2eParts, mid: string): Promise<void> {
  const waiting = p.held.get(mid);
  if (!waiting) return;
  p.held.delete(mid);
  for (const h of waiting) {
    try {
      const message = await applyWith(p, NO_WRITES, h.m, { ...h, ref: mid }, null);
      p.host.notify({ type: "message.changed", message });
    } catch (e) {
      p.notice("error", `A change from ${h.m.from} could not be applied: ${(e as Error).message}`);
    }
  }
}

/**
 * A received disappearing-time setting: kept for the conversation and shown as a line of its
 * sender's; a re-send (`s.at`: to a member invited later) that is no news here is consumed unseen (null).
 */
export function receiveExpiry(
  p: E2eParts,
  w: StoreWrites,
  m: ChatMessage,
  s: { seconds: number; at?: number },
): Promise<ChatMessage | null> {
  const line: ChatMessage = { ...m, text: expiryText(s.seconds), setting: true };
  return keepSetting(p, w, m, line, s.at, (conv, at) => p.local.setExpiry(conv, s.seconds, at));
}

/**
 * Keeps a setting `m` carries with `keep(conv, at)` (whether it is news here) in the ratchet step's
 * transaction, `at` its time (a re-send's `sentAt`: when first set, never after its envelope); `line`
 * is saved and answered, unless it is a re-send that is no news here (consumed unseen: null).
 */
async function keepSetting(
  p: E2eParts,
  w: StoreWrites,
  m: ChatMessage,
  line: ChatMessage,
  sentAt: number | undefined,
  keep: (conv: string, at: number) => boolean,
): Promise<ChatMessage | null> {
  const conv = convOf(p.me, m);
  await refuseTaken(p, w, m, conv);
  let shown = true;
  await p.cs.commit(w, (db) => {
    shown = keep(conv, Math.min(sentAt ?? m.ts, m.ts)) || sentAt === undefined;
    if (shown) p.local.insert([line]);
    else SqliteCryptoStore.markConsumed(db, m.seq, conv);
  });
  return shown ? line : null;
}

/**
 * A received room topic: kept for the room unless a newer one is held, and shown as its sender's line
 * (`topic` says the new text); a re-send (`pl.at`) that changes nothing here is consumed unseen (null).
 */
export function receiveTopic(
  p: E2eParts,
  w: StoreWrites,
  m: ChatMessage,
  pl: Pick<TopicPayload, "text" | "at">,
): Promise<ChatMessage | null> {
  if (m.to.kind !== "room") throw new SyntaxError("A topic outside a room");
  const line: ChatMessage = { ...m, text: topicText(pl.text), setting: true, topic: pl.text };
  return keepSetting(
    p,
    w,
    m,
    line,
    pl.at,
    (conv, at) => setTopic(p.local.db, conv, { text: pl.text, by: m.from, at }),
  );
}

/** My changes sealed in this folder, by the mid of their envelope. */
const MINE = new FiledList<{ ref: string; c: MessageChange; by?: string; at?: number }>(
  "changes:mine",
  64,
  10 * 60_000,
);
/** My settings sealed in this folder, by the mid of their envelope (a number: a disappearing time filed by 0.18). */
const SETTINGS = new FiledList<number | Setting>("settings:mine", 64, 10 * 60_000);

/** Files my setting `s` (its disappearing time, a room's topic) like a change; the payload to seal for its conversation. */
export async function fileOwnSetting(p: E2eParts, mid: string, s: Setting): Promise<Uint8Array> {
  await p.cs.commit(await SETTINGS.writes(p.cs, { from: p.me, id: mid, at: p.clock.now(), value: s }));
  const at = s.at !== undefined ? { at: s.at } : {};
  return encodePayload(
    s.kind === "expire"
      ? { v: 1, k: "expire", mid, seconds: s.seconds, ...at }
      : { v: 1, k: "topic", mid, text: s.text, ...at },
  );
}

/**
 * Envelope `m` of mine as a setting filed in this folder: its line (saved here, or by the process
 * that sent it: the first to file it wins; null for a re-sent setting that is no news here), or
 * undefined when it is no setting of mine filed here.
 */
export async function ownSetting(p: E2eParts, m: ChatMessage): Promise<ChatMessage | null | undefined> {
  const filed = await SETTINGS.get(p.cs, p.me, m.mid);
  if (filed === undefined) return undefined;
  const s: Setting = typeof filed === "number" ? { kind: "expire", seconds: filed } : filed;
  if (s.kind === "expire") return await receiveExpiry(p, NO_WRITES, m, s);
  return await receiveTopic(p, NO_WRITES, m, s);
}

/**
 * Envelope `m` of mine as a change filed in this folder: the changed message (applied now and recorded
 * consumed, unless that was done already), or undefined when it is no change of mine filed here.
 */
export async function ownChange(p: E2eParts, m: ChatMessage, conv: string): Promise<ChatMessage | undefined> {
  const f = await MINE.get(p.cs, p.me, m.mid);
  if (!f) return undefined;
  if (p.cs.consumed(m.seq)) return named(p, f.ref, f.by);
  const admin = await deletesAsAdmin(p, m, f.c);
  return await applyWith(p, NO_WRITES, m, { ...f, admin }, conv);
}

/** Message `ref` of `by` (none named: the one message holding `ref`). */
function named(p: E2eParts, ref: string, by: string | undefined): ChatMessage | undefined {
  return by === undefined ? p.local.byMidAny(ref) : p.local.byMid(by, ref);
}

/** Files my change `c` of `ref` (sent by `by`) under `mid` for the folder's other processes; the payload to seal. */
export async function fileOwnChange(
  p: E2eParts,
  mid: string,
  ref: string,
  c: MessageChange,
  by?: string,
): Promise<Uint8Array> {
  const at = p.clock.now(); // an edit's sealed time, filed with it for the edit window: issue 69 N4
  const value = { ref, c, ...(by === undefined ? {} : { by }), ...(c.kind === "edit" ? { at } : {}) };
  await p.cs.commit(await MINE.writes(p.cs, { from: p.me, id: mid, at, value }));
  return encodePayload(changePayload(mid, ref, c, by, at));
}

/**
 * My change `c` of `ref` (sent by `by`) went through (envelope `sent`, with the seq the server gave it): applied to
 * the local history and recorded consumed — unless another process of the folder got it back first
 * and did so — and the message as it is now.
 */
export async function ownChangeSent(
  p: E2eParts,
  sent: ChatMessage,
  ref: string,
  c: MessageChange,
  by?: string,
): Promise<ChatMessage> {
  if (sent.seq > 0 && p.cs.consumed(sent.seq)) return named(p, ref, by) ?? sent;
  const conv = sent.seq > 0 ? convOf(p.me, sent) : null;
  const admin = await deletesAsAdmin(p, sent, c);
  const at = (await MINE.get(p.cs, p.me, sent.mid))?.at; // the edit's sealed time, as filed
  const also = { ...(by === undefined ? {} : { by }), ...(at === undefined ? {} : { at }) };
  return await applyWith(p, NO_WRITES, sent, { ref, c, admin, ...also }, conv);
}

/**
 * Mine, sent from this folder by another process (or this one): its text is in the outbox or history,
 * and it disappears as its sender sealed it (the time its outbox entry kept, core/outbox.ts, or the
 * conversation's: the process that sent it may file it after this one does, and the first to file a
 * message wins).
 */
export function ownMessage(p: E2eParts, m: ChatMessage, conv: string): ChatMessage | null {
  const pending = p.local.pending(m.mid);
  const own = pending ?? p.local.byMid(p.me, m.mid);
  if (!own) return null;
  const ttl = pending ? pending.ttl ?? 0 : p.local.expiryOf(conv);
  const at = startsAt(m.ts, pending?.ts); // no later than when written here (issue 69 N4)
  const mine = withReply(
    { ...m, text: own.text, ...(ttl ? { expires: at + ttl * 1000 } : {}) },
    own.replyTo,
    own.replyTo ? p.local.byMidAny(own.replyTo)?.from : undefined,
  );
  p.local.confirm(mine);
  return mine;
}

/** A text or a change opened from `m`: saved, or checked and applied; undefined when `pl` is neither. */
export function receiveTextOrChange(
  p: E2eParts,
  w: StoreWrites,
  m: ChatMessage,
  conv: string,
  pl: Payload,
): Promise<ChatMessage | null> | undefined {
  if (pl.k === "text") return save(p, w, opened(m, pl), conv);
  if (isChange(pl)) return receiveChange(p, w, m, conv, pl);
  return undefined;
}

/** No keystore writes. */
export const NO_WRITES: StoreWrites = { put: {}, del: [] };

/** Commits `w` and records the message `seq` of `conv` as consumed: it never shows as a line. */
export function commitConsumed(p: E2eParts, w: StoreWrites, seq: number, conv: string): Promise<void> {
  return p.cs.commit(w, (db) => SqliteCryptoStore.markConsumed(db, seq, conv));
}
