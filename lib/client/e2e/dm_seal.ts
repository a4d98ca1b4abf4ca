/**
 * Pairwise sealing: a DM payload encrypted with the Double Ratchet (`DmManager`) to every device
 * of its recipient and my other devices (e2e/devices.ts's targets), one part each in a v2 body, or
 * one v1 envelope between two first devices. The first message to a device starts its session
 * from a prekey bundle (X3DH, fetched from the directory). A changed identity key refuses the seal
 * (`keyChangedError`). Signals (typing, watch together) go to every device of the recipient too,
 * a session started once per device list (`sealDmSignal`). Runs under the folder's lock; never sends.
 */
import { parseDeviceAddress } from "../../common/device_address.ts";
import { KeyChangedError, NoSessionError } from "../../crypto/dm.ts";
import { encodeMultiBody } from "./devices.ts";
import { keyChangedError } from "./keys.ts";
import type { E2eParts } from "./parts.ts";

/** A sealed DM: its body and the device addresses it is encrypted to. */
export interface DmSealed {
  body: Uint8Array;
  devices: string[];
}

/** Encrypts a DM payload to every device of `user` and my other devices (e2e/devices.ts). */
export async function dmEncrypt(p: E2eParts, user: string, payload: Uint8Array): Promise<DmSealed> {
  const to = await p.devices.targets(user);
  // A note to self goes to my other devices, if any (none: a body with no part, kept for this folder).
  if (user !== p.me && (to.length === 0 || (to.length === 1 && to[0] === user && p.dm.self === p.me))) {
    return { body: await encryptTo(p, user, payload), devices: [user] }; // v1: first to first
  }
  const parts = new Map<string, Uint8Array>();
  for (const a of to) parts.set(a, await encryptTo(p, a, payload));
  return { body: encodeMultiBody(p.device, parts), devices: to };
}

/** One device's envelope: with the session, or starting one from its prekey bundle. */
async function encryptTo(p: E2eParts, address: string, payload: Uint8Array): Promise<Uint8Array> {
  try {
    try {
      return await p.dm.encryptDm(address, p.dir.bundles.get(address) ?? null, payload);
    } catch (e) {
      if (!(e instanceof NoSessionError)) throw e;
    }
    const { user, device } = parseDeviceAddress(address);
    return await p.dm.encryptDm(address, await p.dir.fetchBundle(user, device), payload);
  } catch (e) {
    if (e instanceof KeyChangedError) throw keyChangedError(e);
    throw e;
  } finally {
    if (await p.cs.get(`session:${address}`)) p.dir.bundles.delete(address);
  }
}

/**
 * A signal's DM body (typing, watch together; issue 39): a part for each device of `user`, never my
 * own (a signal is never shown for oneself). A device without a session gets one started from its
 * prekey bundle, as a message's would, but only once per device list of `user` (`signalLists`): a
 * device whose bundle cannot be had is tried again when the list changes, not on every keystroke.
 * `devices` names the lists it was sealed against, as a message's: the server refuses it
 * (`devices_changed`) when they changed. Null when no device of `user` can read it.
 */
export async function sealDmSignal(p: E2eParts, user: string, payload: Uint8Array): Promise<DmSealed | null> {
  if (user === p.me) return null;
  const theirs = await p.devices.addresses(user);
  const exchange = p.signalLists.get(user) !== theirs.join();
  p.signalLists.set(user, theirs.join());
  const parts = new Map<string, Uint8Array>();
  for (const a of theirs) {
    if (!exchange && !(await p.cs.get(`session:${a}`))) continue;
    try {
      parts.set(a, await encryptTo(p, a, payload));
    } catch {
      // a changed key, no keys published, a lost session: no signal for that device
    }
  }
  if (!parts.size) return null;
  return { body: encodeMultiBody(p.device, parts), devices: await p.devices.targets(user) };
}
