/**
 * Changes of a message already sent (issue 39): an edit or a deletion by its sender, a reaction by
 * anyone in the conversation; in a room, its admins (by the room's verified log) may delete anyone's
 * message. Each travels as its own sealed message (a `ChangePayload`, e2e/keys.ts)
 * on the conversation's channel, so it is authenticated as its sender's like any message, stored
 * for offline members and fanned out to every device; the receiving codec checks it here against
 * the local history and applies it in the same transaction as the ratchet step. Refused, changing
 * nothing (the change is recorded as unreadable): a change of a message this client does not hold,
 * of a message in another conversation, an edit or deletion by anyone but the sender, an edit after
 * the window or of a deleted message, any change of a setting line (the disappearing time: shown as
 * its sender's line, but no text of theirs). A replayed change cannot arrive (the ratchet refuses it; a
 * re-sent one under a new id sets the same state again: reactions carry on/off, not a toggle).
 *
 * A message is its sender's and its id's (issue 69 N2): a change names both (`by` in its payload; one
 * from a client before 0.21 names the id alone and takes only the one row its rule allows: its
 * sender's own, or the one message holding that id, refused when two senders hold it), and a received
 * message whose id another sender's message holds already is refused (`idTaken`), never stored.
 */
import type { ChatMessage, LocalStore, MessageChange } from "./door.ts";
import { convOf } from "../session/wire_events.ts";
import { UnreadableError } from "./body_codec.ts";
import type { ChangePayload } from "./keys.ts";
import { durationText } from "../../common/parse_time.ts";

/** The line a disappearing-time setting shows as (issue 39.5), made here from the number, not sent as text. */
export function expiryText(seconds: number): string {
  return seconds
    ? `⏱ messages here now disappear ${durationText(seconds)} after they are sent`
    : "⏱ messages here no longer disappear";
}

/** The line a room's topic setting shows as, made here from the text ("" clears it). */
export function topicText(text: string): string {
  return text ? `✎ topic: ${text}` : "✎ the topic is cleared";
}

/** Why a setting line (`ChatMessage.setting`) takes no change: the refusal at the sender's client. */
export const SETTING_FIXED = "A setting line cannot be edited, deleted or reacted to";

/** How long after sending its sender may edit a message (ms). */
export const EDIT_WINDOW_MS = 24 * 3600_000;

/** Whether an edit made at `at` of a message sent at `sentAt` (ms) comes after the edit window (under `editTooLate`). */
function pastEditWindow(sentAt: number, at: number): boolean {
  return at - sentAt > EDIT_WINDOW_MS;
}

/**
 * Whether edit `edit` of message `orig` comes after the edit window — the one rule, for the sender's
 * check and the recipient's, in both modes (issue 69 N4): from the time the original's sender sealed
 * in it (`sentAt`) to the time sealed in the edit (`at`) when both carry one, so a server's stamps
 * (`ts`) move nothing; else (a text or edit of a client before 0.21) from the original's stamp to
 * the later of the edit's stamp and its sealed time.
 */
export function editTooLate(
  orig: Pick<ChatMessage, "ts" | "sentAt">,
  edit: { ts: number; at?: number },
): boolean {
  if (orig.sentAt !== undefined && edit.at !== undefined) return pastEditWindow(orig.sentAt, edit.at);
  return pastEditWindow(orig.ts, Math.max(edit.ts, edit.at ?? edit.ts));
}

/** How far after the sender's sealed time a server's stamp may start a disappearing message's timer (issue 69 N4). */
export const SEALED_SKEW_MS = 2 * 60_000;
/** How far ahead of this device's clock an envelope's time may be (issue 69 N4). */
export const FUTURE_TS_MS = 5 * 60_000;

/** When a message's disappearing time starts: the server's `ts`, no later than its sealed `at` plus the skew. */
export const startsAt = (ts: number, at?: number): number =>
  at === undefined ? ts : Math.min(ts, at + SEALED_SKEW_MS);

/** Refuses an envelope the server stamped minutes ahead of this device's clock (`now`): issue 69 N4. */
export function refuseFuture(ts: number, now: number): void {
  if (ts - now <= FUTURE_TS_MS) return;
  const min = Math.round((ts - now) / 60_000);
  throw new UnreadableError(`the server stamped it ${min} minutes in the future of this device's clock`);
}

/** The payload of change `c` of message `ref` sent by `by`, sent under `mid`; an edit carries its sealed time `at`. */
export function changePayload(
  mid: string,
  ref: string,
  c: MessageChange,
  by?: string,
  at?: number,
): ChangePayload {
  const b = by === undefined ? {} : { by };
  if (c.kind === "edit") return { v: 1, k: "edit", mid, ref, ...b, text: c.text, ...(at ? { at } : {}) };
  if (c.kind === "delete") return { v: 1, k: "delete", mid, ref, ...b };
  return { v: 1, k: "react", mid, ref, ...b, emoji: c.emoji, on: c.on };
}

/** Why message `m` (received) is refused: another sender's message holds its id here; null when none does. */
export function idTaken(local: LocalStore, m: Pick<ChatMessage, "mid" | "from">): string | null {
  const owner = local.sendersOf(m.mid).find((s) => s !== m.from);
  return owner === undefined
    ? null
    : `its id ${m.mid} is a message of ${owner}'s already (a copy of another's id): not stored, not shown`;
}

/**
 * The message change `c` by `env.from` takes (`ref` sent by `by`, when the change names its sender),
 * or undefined: an edit or deletion only its sender's own (UnreadableError when it names another's),
 * a reaction or a room admin's deletion (`roomAdmin`) the named sender's message, or without a name
 * the one message holding `ref` (none when two senders hold it).
 */
export function targetOf(
  local: LocalStore,
  env: Pick<ChatMessage, "from" | "to">,
  ref: string,
  c: MessageChange,
  roomAdmin: boolean,
  by?: string,
): ChatMessage | undefined {
  const anyone = c.kind === "react" || (c.kind === "delete" && roomAdmin && env.to.kind === "room");
  if (!anyone && by !== undefined && by !== env.from) {
    throw new UnreadableError(`it changes a message of ${by}'s, which only ${by} may edit or delete`);
  }
  if (!anyone) return local.byMid(env.from, ref);
  return by === undefined ? local.byMidAny(ref) : local.byMid(by, ref);
}

/** Whether a payload is a change (edit, deletion, reaction). */
export function isChange(p: { k: string }): p is ChangePayload {
  return p.k === "edit" || p.k === "delete" || p.k === "react";
}

/** The change a payload carries. */
export function changeOf(p: ChangePayload): MessageChange {
  if (p.k === "edit") return { kind: "edit", text: p.text };
  if (p.k === "delete") return { kind: "delete" };
  return { kind: "react", emoji: p.emoji, on: p.on };
}

/**
 * The message `env` (a change's envelope: sender, conversation, server time, and the time sealed in
 * an edit, `at`) may change with `c`, checked against the local history seen from `me`;
 * UnreadableError says why not.
 */
export function changeTarget(
  local: LocalStore,
  me: string,
  env: Pick<ChatMessage, "from" | "to" | "ts"> & { at?: number },
  ref: string,
  c: MessageChange,
  /** The sender is an admin of the room `env` is in (its verified log): it may delete others' messages there. */
  roomAdmin = false,
  /** The sender of the message it changes, as the change names it (none: a change from before 0.21). */
  by?: string,
): ChatMessage {
  const orig = targetOf(local, env, ref, c, roomAdmin, by);
  if (!orig) {
    if (by === undefined && local.sendersOf(ref).length > 1) {
      throw new UnreadableError(`it names message ${ref} but not its sender, and two senders hold that id`);
    }
    throw new UnreadableError(
      c.kind === "react"
        ? "it reacts to a message this client does not hold"
        : `it changes a message of ${by ?? env.from}'s this client does not hold (or not theirs)`,
    );
  }
  if (convOf(me, orig) !== convOf(me, { ...orig, from: env.from, to: env.to })) {
    throw new UnreadableError("it changes a message of another conversation");
  }
  if (orig.setting) throw new UnreadableError("it changes a setting line, not a text");
  if (orig.deleted) throw new UnreadableError("the message it changes was deleted");
  if (c.kind === "edit" && editTooLate(orig, env)) {
    throw new UnreadableError("it edits a message older than the edit window (24 h)");
  }
  return orig;
}

/**
 * Checks change `c` of `ref` that `env` carries (`changeTarget`: UnreadableError when refused) and
 * applies it as made by its sender at its time (inside the caller's transaction); the new state. The
 * one way a change reaches the history in both modes: received (e2e/apply.ts), or made here by a
 * peer node (core/message_changes.ts over peer/session.ts).
 */
export function applyChecked(
  local: LocalStore,
  me: string,
  env: Pick<ChatMessage, "from" | "to" | "ts"> & { at?: number },
  ref: string,
  c: MessageChange,
  roomAdmin = false,
  by?: string,
): ChatMessage {
  const orig = changeTarget(local, me, env, ref, c, roomAdmin, by);
  return applyChange(local, orig.seq, env.from, env.ts, c);
}

/** Applies `c` by `by` at `at` to message `seq` (inside the caller's transaction); the new state. */
export function applyChange(
  local: LocalStore,
  seq: number,
  by: string,
  at: number,
  c: MessageChange,
): ChatMessage {
  if (c.kind === "edit") local.applyEdit(seq, c.text, at);
  else if (c.kind === "delete") local.applyDelete(seq);
  else local.applyReaction(seq, by, c.emoji, c.on, at);
  return local.get(seq)!;
}
