/**
 * Device key management over a `CryptoStateStore`: creates the identity and prekeys on first run,
 * rotates the signed prekey, replenishes one-time prekeys, and returns what to upload to the
 * server (public halves only).
 */

import { generateIdentity, type IdentityKeyPair, type PublicIdentity, publicIdentity } from "./identity.ts";
import {
  generateOneTimePrekeys,
  generateSignedPrekey,
  type OneTimePrekey,
  pruneSignedPrekeys,
  type SignedPrekey,
  signedPrekeyNeedsRotation,
} from "./prekeys.ts";
import type { CryptoStateStore } from "./state_store.ts";

/** What the client uploads: the server builds `PrekeyBundle`s from it, one opk per bundle. */
export interface PrekeyUpload {
  identity: PublicIdentity;
  spk: { id: number; pub: string; sig: string };
  opks: { id: number; pub: string }[];
}

export const OPK_BATCH = 100;

export async function loadIdentity(store: CryptoStateStore): Promise<IdentityKeyPair> {
  const id = (await store.get("identity")) as IdentityKeyPair | undefined;
  if (!id) throw new Error("No identity: call ensureDeviceKeys() first");
  return id;
}

function spkPublic(s: SignedPrekey) {
  return { id: s.id, pub: s.pub, sig: s.sig };
}

function opkPublic(o: OneTimePrekey) {
  return { id: o.id, pub: o.pub };
}

/**
 * Creates the identity (unless the folder holds one, e.g. moved in from a linked device), signed
 * prekey 1 and a batch of one-time prekeys when absent; returns the upload or null.
 */
export async function ensureDeviceKeys(
  store: CryptoStateStore,
  now: number,
  opks = OPK_BATCH,
): Promise<PrekeyUpload | null> {
  const had = (await store.get("identity")) as IdentityKeyPair | undefined;
  if (had && (await store.get("spk:current")) !== undefined) return null;
  const identity = had ?? await generateIdentity();
  const spk = await generateSignedPrekey(identity, 1, now);
  const list = await generateOneTimePrekeys(1, opks);
  const put: Record<string, unknown> = {
    identity,
    "spk:current": 1,
    "spk:ids": [1],
    "spk:1": spk,
    "opk:next": 1 + opks,
  };
  for (const o of list) put[`opk:${o.id}`] = o;
  await store.commit({ put, del: [] });
  return { identity: publicIdentity(identity), spk: spkPublic(spk), opks: list.map(opkPublic) };
}

/** Rotates the signed prekey when it is older than SPK_ROTATE_MS; returns the new public spk or null. */
export async function rotateSignedPrekeyIfDue(
  store: CryptoStateStore,
  now: number,
  force = false,
): Promise<{ id: number; pub: string; sig: string } | null> {
  const identity = await loadIdentity(store);
  const cur = (await store.get("spk:current")) as number;
  const spk = (await store.get(`spk:${cur}`)) as SignedPrekey;
  if (!force && !signedPrekeyNeedsRotation(spk, now)) return null;
  const next = await generateSignedPrekey(identity, (cur + 1) >>> 0, now);
  const ids = (await store.get("spk:ids")) as number[];
  const all: SignedPrekey[] = [];
  for (const id of ids) all.push((await store.get(`spk:${id}`)) as SignedPrekey);
  all.push(next);
  const kept = pruneSignedPrekeys(all, next.id, now);
  const put: Record<string, unknown> = { "spk:current": next.id, "spk:ids": kept.map((s) => s.id) };
  put[`spk:${next.id}`] = next;
  const del = all.filter((s) => !kept.includes(s)).map((s) => `spk:${s.id}`);
  await store.commit({ put, del });
  return spkPublic(next);
}

/** Makes `n` more one-time prekeys; returns their public halves for upload. */
export async function replenishOneTimePrekeys(
  store: CryptoStateStore,
  n: number,
): Promise<{ id: number; pub: string }[]> {
  const start = ((await store.get("opk:next")) as number | undefined) ?? 1;
  const list = await generateOneTimePrekeys(start, n);
  const put: Record<string, unknown> = { "opk:next": start + n };
  for (const o of list) put[`opk:${o.id}`] = o;
  await store.commit({ put, del: [] });
  return list.map(opkPublic);
}

/** The current public signed prekey and identity (to re-upload). */
export async function currentUpload(store: CryptoStateStore): Promise<Omit<PrekeyUpload, "opks">> {
  const identity = await loadIdentity(store);
  const spk = (await store.get(`spk:${await store.get("spk:current")}`)) as SignedPrekey;
  return { identity: publicIdentity(identity), spk: spkPublic(spk) };
}
