/**
 * Signals (typing, core/typing.ts; watch-together, video/): sealed like a message and sent as
 * ephemeral sends (the server relays them to live sessions only, never stores them). A DM signal
 * goes to every device of the other party, never my own: a device without a session gets one from
 * its prekey bundle, once per device list (e2e/dm_seal.ts `sealDmSignal`); a room signal goes under
 * my sender key, with the handouts it needs first (e2e/room_seal.ts).
 * Opening one commits its ratchet or chain step, so the next real message still opens; one that
 * cannot be read, or is mine, is dropped. Runs under the folder's lock.
 */
import { deviceAddress } from "../../common/device_address.ts";
import type { StoreWrites } from "../../crypto/state_store.ts";
import type { Target } from "../backend.ts";
import type { Sealed } from "./body_codec.ts";
import { decodeMultiBody } from "./devices.ts";
import { sealDmSignal } from "./dm_seal.ts";
import type { E2eParts } from "./parts.ts";
import { sealRoom } from "./room_seal.ts";

/** Seals a signal's payload for `to`; null when there is nobody to seal it for. */
export async function sealSignal(p: E2eParts, to: Target, payload: Uint8Array): Promise<Sealed | null> {
  if (to.kind === "user") {
    return await sealDmSignal(p, to.name!, payload);
  }
  return to.kind === "room" ? await sealRoom(p, to, payload) : null;
}

/** Opens a signal; null when it is mine or cannot be read. */
export async function openSignal(
  p: E2eParts,
  m: { from: string; to: Target },
  body: Uint8Array,
): Promise<Uint8Array | null> {
  if (m.from === p.me) return null; // never shown for oneself (nor from my other devices)
  try {
    let o: { plaintext: Uint8Array; writes: StoreWrites };
    if (m.to.kind === "user") {
      const multi = decodeMultiBody(body);
      const part = multi?.to[p.dm.self];
      if (!multi || !part) return null;
      o = await p.dm.openDm(deviceAddress(m.from, multi.d), part);
    } else if (m.to.kind === "room") {
      o = await p.rooms.open(m.to.name!, m.from, body, await p.devices.addresses(m.from));
    } else return null;
    await p.cs.commit(o.writes);
    return o.plaintext;
  } catch {
    return null; // a signal that cannot be read is dropped: it is never stored or retried
  }
}
