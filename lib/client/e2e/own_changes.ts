/**
 * My changes (edit, deletion, reaction) and disappearing-time settings as the folder's other
 * processes see them. A change sealed by one process of a folder (`parley edit` beside the
 * full-screen client) comes back to the others as an envelope sealed for every device but this one,
 * so they cannot open it. The sending process files what it changes as it seals it
 * (`sealOwnChange`, by the envelope's mid, for ten minutes); a process that gets the envelope back
 * applies it from there (`ownChange`) — whichever of them comes first applies it and records it
 * consumed, the other only reads the result (`ownChangeSent` for the sender) — and says so on
 * screen. A setting is filed the same way (`sealOwnSetting`, `ownSetting`).
 * Runs under the folder's lock.
 */
import type { ChatMessage, MessageChange, Target } from "../backend.ts";
import { convOf } from "../session/wire_events.ts";
import { applyWith, deletesAsAdmin, receiveExpiry, receiveTopic } from "./apply.ts";
import type { Sealed, Setting } from "./body_codec.ts";
import { changePayload } from "./changes.ts";
import { FiledList } from "./filed.ts";
import { encodePayload } from "./keys.ts";
import { type E2eParts, NO_WRITES } from "./parts.ts";
import { sealFor } from "./room_seal.ts";

/** My changes sealed in this folder, by the mid of their envelope. */
const MINE = new FiledList<{ ref: string; c: MessageChange; by?: string; at?: number }>(
  "changes:mine",
  64,
  10 * 60_000,
);
/** My settings sealed in this folder, by the mid of their envelope (a number: a disappearing time filed by 0.18). */
const SETTINGS = new FiledList<number | Setting>("settings:mine", 64, 10 * 60_000);

/** Seals my setting `s` for `to` (its disappearing time, a room's topic), filed first like a change. */
export async function sealOwnSetting(p: E2eParts, to: Target, mid: string, s: Setting): Promise<Sealed> {
  await p.cs.commit(await SETTINGS.writes(p.cs, { from: p.me, id: mid, at: p.clock.now(), value: s }));
  const at = s.at !== undefined ? { at: s.at } : {};
  const payload = encodePayload(
    s.kind === "expire"
      ? { v: 1, k: "expire", mid, seconds: s.seconds, ...at }
      : { v: 1, k: "topic", mid, text: s.text, ...at },
  );
  return await sealFor(p, to, payload);
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

/** Seals my change `c` of `ref` (sent by `by`) under `mid` for `to`, filed first for the folder's other processes. */
export async function sealOwnChange(
  p: E2eParts,
  to: Target,
  mid: string,
  ref: string,
  c: MessageChange,
  by?: string,
): Promise<Sealed> {
  const at = p.clock.now(); // an edit's sealed time, filed with it for the edit window: issue 69 N4
  const value = { ref, c, ...(by === undefined ? {} : { by }), ...(c.kind === "edit" ? { at } : {}) };
  await p.cs.commit(await MINE.writes(p.cs, { from: p.me, id: mid, at, value }));
  const payload = encodePayload(changePayload(mid, ref, c, by, at));
  return await sealFor(p, to, payload);
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
