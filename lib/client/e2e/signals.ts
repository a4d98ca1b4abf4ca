/**
 * Signals (typing, core/typing.ts; watch-together, video/): sealed like a message and sent as
 * ephemeral sends (the server relays them to live sessions only, never stores them). A DM signal
 * goes to every device of the other party, never my own: a device without a session gets one from
 * its prekey bundle, once per device list (e2e/dm_seal.ts `sealDmSignal`); a room signal goes under
 * my sender key, with the handouts it needs first (e2e/room_seal.ts); e2e/codec.ts picks which.
 * Opening one commits its ratchet or chain step, so the next real message still opens; one that
 * cannot be read, or is mine, is dropped. Runs under the folder's lock.
 * Every process of a folder is the same device and gets the signal, but only the first can open it:
 * that one files what it opened in the keystore for a minute (`OPENED`, e2e/filed.ts), committed
 * with its step, and the others read it there (`watch-together` beside the full-screen client).
 * Each process takes a signal once (`taken`): one sent again, by the server or anyone, is dropped as
 * the ratchet would drop it. What is filed goes once its minute is up: when a later signal is filed,
 * and at every login (`pruneOpened`), so a process that starts leaves none of an earlier one's behind.
 */
import { fromBase64, toBase64 } from "../../common/bytes.ts";
import { LruMap } from "../../common/lru.ts";
import type { StoreWrites } from "../../crypto/state_store.ts";
import type { Target } from "../backend.ts";
import { openDmPart } from "./dm_seal.ts";
import type { E2eParts } from "./codec.ts";
import { FiledList } from "./controls.ts";

/** Signals opened here, by sender and mid, for the folder's other processes (64 at most, 1 minute each). */
const OPENED = new FiledList<string>("signals:opened", 64, 60_000);
/** The signals this process took (sender and mid), per keystore: the newest 256. */
const taken = new WeakMap<object, LruMap<string, true>>();

/** Whether this process took `from`'s signal `mid` before; marks it taken. */
function takenBefore(p: E2eParts, from: string, mid: string): boolean {
  let seen = taken.get(p.cs);
  if (!seen) taken.set(p.cs, seen = new LruMap(256));
  const k = `${from}\n${mid}`;
  if (seen.has(k)) return true;
  seen.set(k, true);
  return false;
}

/** Opened signals filed here whose minute is up leave the keystore; true when some did. Under the lock. */
export async function pruneOpened(p: E2eParts): Promise<boolean> {
  const w = await OPENED.pruned(p.cs, p.clock.now());
  if (w) await p.cs.commit(w);
  return w !== null;
}

/** Opens a signal; null when it is mine or cannot be read. */
export async function openSignal(
  p: E2eParts,
  m: { mid?: string; from: string; to: Target },
  body: Uint8Array,
): Promise<Uint8Array | null> {
  if (m.from === p.me) return null; // never shown for oneself (nor from my other devices)
  const mid = m.mid;
  if (mid !== undefined) {
    if (takenBefore(p, m.from, mid)) return null; // sent again
    const filed = await OPENED.get(p.cs, m.from, mid); // another process of this folder opened it first
    if (filed !== undefined) return fromBase64(filed);
  }
  try {
    let o: { plaintext: Uint8Array; writes: StoreWrites };
    if (m.to.kind === "user") {
      const part = await openDmPart(p, m.from, body, false);
      if (!part) return null;
      o = part;
    } else if (m.to.kind === "room") {
      o = await p.rooms.open(m.to.name!, m.from, body, await p.devices.addresses(m.from));
    } else return null;
    if (mid === undefined) await p.cs.commit(o.writes);
    else {
      const at = p.clock.now();
      const f = await OPENED.writes(p.cs, { from: m.from, id: mid, at, value: toBase64(o.plaintext) });
      await p.cs.commit({ put: { ...o.writes.put, ...f.put }, del: o.writes.del });
    }
    return o.plaintext;
  } catch {
    return null; // a signal that cannot be read is dropped: it is never stored or retried
  }
}
