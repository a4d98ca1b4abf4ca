/**
 * This folder's device key (issue 33) and the proofs made with it: `deviceAuth` for the requests that
 * need a proven device (key uploads, e2e/keys.ts), `loginProof` for a password login through a lockout
 * (issue 69 D1, start/login_again.ts), and the device id the server gave the folder.
 */
import { type DeviceKey, newDeviceKey, signDeviceProof } from "../../crypto/device_link.ts";
import type { CryptoStateStore } from "../../crypto/state_store.ts";

/** Who this session is, for device proofs: the account and the nonce of the server's hello reply. */
export interface SessionId {
  /** the account */
  user: string;
  /** the server's nonce for this session */
  nonce: string;
}

/** This folder's own device key (issue 33), made on first use; never moves to another folder. */
export async function deviceKeyOf(store: CryptoStateStore): Promise<DeviceKey> {
  const had = (await store.get("e2e:devkey")) as DeviceKey | undefined;
  if (had) return had;
  const k = await newDeviceKey();
  await store.commit({ put: { "e2e:devkey": k }, del: [] });
  return k;
}

/** The `deviceKey` and `proof` fields that show the server this session is device `device`. */
export async function deviceAuth(
  store: CryptoStateStore,
  who: SessionId,
  device: number,
): Promise<{ deviceKey: string; proof: string }> {
  const k = await deviceKeyOf(store);
  return { deviceKey: k.pub, proof: await signDeviceProof(k, who.user, device, who.nonce) };
}

/**
 * A password login's proof that it comes from this folder's device `device` (issue 69 D1: the server
 * lets it through a lockout, as a resume token); null for a device the server has not numbered yet.
 */
export async function loginProof(
  store: CryptoStateStore,
  who: SessionId,
  device: number,
): Promise<{ device: number; deviceKey: string; proof: string } | null> {
  return device > 0 ? { device, ...(await deviceAuth(store, who, device)) } : null;
}

/** This folder's device id (1 for a folder made before devices existed; 0 until the server assigns one). */
export async function deviceOf(store: CryptoStateStore): Promise<number> {
  return ((await store.get("e2e:device")) as number | undefined) ?? 1;
}
