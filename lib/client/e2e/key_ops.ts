/**
 * The `KeyOps` of an attached codec: safety numbers (`fingerprint`; shown numbers are recorded so
 * a later `verify` without a number binds to the key shown), pinning a contact's key (`verify`,
 * `trust`: e2e/keys.ts `keyToPin` picks the one key a number names), and the signed records of
 * room membership changes (`signChange`, `logEntry`: e2e/room_log.ts). Each operation runs under
 * the folder's lock (`serial`).
 */
import { signMembershipChange } from "../../crypto/membership.ts";
import { loadIdentity } from "../../crypto/keystore.ts";
import { type PublicIdentity, publicIdentity } from "../../crypto/identity.ts";
import { markShown, waitingKeys } from "../../crypto/pending_keys.ts";
import { identitySafetyNumber } from "../../crypto/safety_number.ts";
import { BackendError, type Fingerprint } from "../backend.ts";
import type { KeyOps } from "./body_codec.ts";
import { groups, keyToPin, ownFingerprint } from "./keys.ts";
import type { E2eParts } from "./parts.ts";

/** The key operations of `p`, each under the folder's lock through `serial`. */
export function keyOps(p: E2eParts, serial: <T>(fn: () => Promise<T>) => Promise<T>): KeyOps {
  return {
    fingerprint: (u) => serial(() => fingerprint(p, u, true)),
    verify: (u, n) => serial(() => accept(p, u, n, true)),
    trust: (u, n) => serial(() => accept(p, u, n, false)),
    signChange: (room, action, target) =>
      serial(async () =>
        signMembershipChange(await loadIdentity(p.cs), {
          room,
          action,
          target,
          by: p.me,
          epoch: 0,
          at: p.clock.now(),
        })
      ),
    // Leaving is always possible: with a log this client cannot verify, the leave carries no entry.
    // "enter" (a self-join) is signed on the open room's log the server gives a joiner (room_log.ts).
    logEntry: (room, action, target) =>
      serial(() =>
        p.logs.entry(p.me, room, action, target).catch((e) => {
          if (action === "leave" && e instanceof BackendError && e.code === "membership") return undefined;
          throw e;
        })
      ),
  };
}

/** Pins the one key of `user` that `number` (or the number last shown) names; answers its number. */
async function accept(
  p: E2eParts,
  user: string,
  number: string | undefined,
  verified: boolean,
): Promise<Fingerprint> {
  await p.dir.pin(user);
  const mine = publicIdentity(await loadIdentity(p.cs));
  const key = await keyToPin(p.me, mine, user, (await p.dm.contact(user))!, number, verified);
  await p.dm.accept(user, key, verified, await p.devices.of(user));
  return await fingerprint(p, user);
}

/** `shown`: the number is displayed for comparing (the directory is asked again; the key is recorded). */
async function fingerprint(p: E2eParts, user?: string, shown = false): Promise<Fingerprint> {
  if (!user || user === p.me) {
    return { user: p.me, safetyNumber: await ownFingerprint(p.cs, p.me), verified: true, changed: false };
  }
  const known = await p.dm.contact(user);
  await p.dir.pin(user, shown && !known?.pending); // compare with what the directory holds now
  const c = (await p.dm.contact(user))!;
  const waiting = waitingKeys(c);
  const target = waiting[0] ?? c.identity; // the key whose number is shown
  const marked = shown ? markShown(c) : null;
  if (marked) await p.cs.commit({ put: { [`contact:${user}`]: marked }, del: [] });
  const mine = publicIdentity(await loadIdentity(p.cs));
  const numberOf = async (k: PublicIdentity) => groups(await identitySafetyNumber(p.me, mine, user, k));
  return {
    user,
    safetyNumber: await numberOf(target),
    verified: c.verified,
    changed: c.pending !== undefined,
    ...(waiting.length > 1 ? { others: await Promise.all(waiting.slice(1).map(numberOf)) } : {}),
  };
}
