/**
 * The one rule of which key a contact's verification pins (DmManager's contacts, in both modes; peer
 * mode's also take a key a peer proves in its handshake):
 * - `addPendingKey`: a new key seen under a pinned name waits as `pending`; a further, different new
 *   key never replaces it: it is kept in `others` (at most MAX_OTHER_KEYS) and the comparison
 *   restarts (`shown` is forgotten).
 * - `chooseKey`: the key a `verify`/`trust` binds to. With the safety number the user typed, the
 *   one key (pinned or pending) whose number it is; without, the key whose number was last shown
 *   to the user (`shown`, set by `markShown`), refused when the key that would be pinned is
 *   another one by now.
 * - `pinnedKey`: what a contact is once one key is pinned: every other key forgotten, the key counted
 *   as shown, verified when it was verified before and stays the same.
 * Pure: the safety number of a key is computed by the caller's `numberOf`.
 */
import { type PublicIdentity, sameIdentity } from "./identity.ts";

/** Different new keys kept besides the first pending one; beyond this the oldest extra goes. */
export const MAX_OTHER_KEYS = 4;

/** A contact's pinned key and the new keys presented under its name, waiting to be compared. */
export interface KeyCandidates {
  /** the pinned key */
  identity: PublicIdentity;
  /** the first new key seen and not yet accepted */
  pending?: PublicIdentity;
  /** further different new keys seen while `pending` waited */
  others?: PublicIdentity[];
  /** the key whose safety number the user was last shown */
  shown?: PublicIdentity;
}

/** The record with `seen` waiting for a decision; unchanged when it is already pinned or waiting. */
export function addPendingKey<T extends KeyCandidates>(rec: T, seen: PublicIdentity): T {
  if (sameIdentity(rec.identity, seen)) return rec;
  if (!rec.pending) return { ...rec, pending: seen };
  const waiting = [rec.pending, ...(rec.others ?? [])];
  if (waiting.some((k) => sameIdentity(k, seen))) return rec;
  const { shown: _, ...rest } = rec;
  return { ...rest, others: [...(rec.others ?? []), seen].slice(-MAX_OTHER_KEYS) } as T;
}

/**
 * The record with `shown` set to the key whose number is shown now (the waiting one, or the pinned
 * one when none waits); null when nothing changes or several new keys wait (no key is shown alone).
 */
export function markShown<T extends KeyCandidates>(rec: T): T | null {
  const waiting = waitingKeys(rec);
  if (waiting.length > 1) return null;
  const target = waiting[0] ?? rec.identity;
  return rec.shown && sameIdentity(rec.shown, target) ? null : { ...rec, shown: target };
}

/** `rec` once `key` is pinned (`verified`: after comparing its number); a verified key kept stays verified. */
export function pinnedKey(
  rec: (KeyCandidates & { verified: boolean }) | undefined,
  key: PublicIdentity,
  verified: boolean,
): { identity: PublicIdentity; verified: boolean; shown: PublicIdentity } {
  const kept = rec !== undefined && sameIdentity(rec.identity, key);
  return { identity: key, verified: verified || (kept && rec.verified), shown: key };
}

/** The new keys waiting, first seen first. */
export function waitingKeys(rec: KeyCandidates): PublicIdentity[] {
  return rec.pending ? [rec.pending, ...(rec.others ?? [])] : [];
}

export type KeyChoice =
  | { key: PublicIdentity }
  | {
    /**
     * bad_number: not 60 digits; no_match: the number is no key's; ambiguous: several new keys wait;
     * not_shown: no number was shown yet; changed: the key changed since its number was shown.
     */
    refused: "bad_number" | "no_match" | "ambiguous" | "not_shown" | "changed";
  };

/** The 60 digits of a typed safety number (spaces and dashes allowed), or null. */
export function safetyDigits(typed: string): string | null {
  const d = typed.replace(/[\s-]/g, "");
  return /^\d{60}$/.test(d) ? d : null;
}

/**
 * Which key to pin. `number`: what the user typed (any grouping); `needShown`: without a number,
 * refuse unless a number was shown (verify; a plain trust accepts the one waiting key).
 */
export async function chooseKey(
  rec: KeyCandidates,
  o: { number?: string; needShown: boolean; numberOf: (k: PublicIdentity) => Promise<string> },
): Promise<KeyChoice> {
  const waiting = waitingKeys(rec);
  if (o.number !== undefined && o.number.trim() !== "") {
    const want = safetyDigits(o.number);
    if (!want) return { refused: "bad_number" };
    for (const k of [rec.identity, ...waiting]) if ((await o.numberOf(k)) === want) return { key: k };
    return { refused: "no_match" };
  }
  if (waiting.length > 1) return { refused: "ambiguous" };
  const target = waiting[0] ?? rec.identity;
  if (!rec.shown) return o.needShown ? { refused: "not_shown" } : { key: target };
  return sameIdentity(rec.shown, target) ? { key: target } : { refused: "changed" };
}
