/**
 * Peer mode's key rules, apart from the node's connection logic: trust on first use of the key a
 * peer proves in the handshake (a different key under a known name is kept as `pending` and
 * refused), accepting it (`/trust`, `/verify`: the DmManager pin moves too and the old ratchet
 * sessions go), safety numbers (lib/crypto/safety_number.ts), the signed prekey bundle a node
 * sends in its hello so its peer can run X3DH, and what verified peers tell each other about the
 * peers they know (`/peers --discover`).
 */
import type { DmManager } from "../crypto/dm.ts";
import {
  type IdentityKeyPair,
  type PublicIdentity,
  publicIdentity,
  sameIdentity,
} from "../crypto/identity.ts";
import type { PrekeyBundle, SignedPrekey } from "../crypto/prekeys.ts";
import { formatSafetyNumber, identitySafetyNumber } from "../crypto/safety_number.ts";
import { BackendError, type Fingerprint } from "./backend.ts";
import type { PeerRecord, PeerStore } from "./peer_store.ts";
import { normalizeName } from "../protocol/names.ts";

/** Checks (or pins, at first contact) the key `name` proved; false when it differs from the pin. */
export function pinPeerKey(store: PeerStore, name: string, key: PublicIdentity, dialed?: string): boolean {
  const rec = store.peer(name);
  if (rec && !sameIdentity(rec.identity, key)) {
    if (!rec.pending || !sameIdentity(rec.pending, key)) store.putPeer({ ...rec, pending: key });
    return false;
  }
  if (!rec) store.putPeer({ name, identity: key, verified: false, ...(dialed ? { addr: dialed } : {}) });
  else if (dialed && rec.addr !== dialed) store.putPeer({ ...rec, addr: dialed });
  return true;
}

export function keyChangedRefusal(name: string): BackendError {
  return new BackendError(
    "key_changed",
    `The identity key of ${name} changed: compare safety numbers (/fingerprint ${name}), then /verify or /trust`,
  );
}

export interface Introduction {
  name: string;
  addr: string;
  identity: PublicIdentity;
}

/** What I tell a verified peer that asks whom I know: peers with an address, none refused, at most 64. */
export function introductionsFor(store: PeerStore, asker: string): Introduction[] {
  return store.peers().filter((p) => p.name !== asker && p.addr && !p.pending).slice(0, 64)
    .map((p) => ({ name: p.name, addr: p.addr!, identity: p.identity }));
}

/** The peers of an introduction I do not know yet (names normalised; never myself). */
export function newIntroductions(store: PeerStore, me: string, peers: Introduction[]): Introduction[] {
  const out: Introduction[] = [];
  for (const p of peers) {
    const name = normalizeName(p.name);
    if (name && name !== me && !store.peer(name) && !out.some((o) => o.name === name)) {
      out.push({ ...p, name });
    }
  }
  return out;
}

/** My signed prekey bundle (no one-time prekey: X3DH with three DHs). */
export function ownBundle(store: PeerStore, identity: IdentityKeyPair): PrekeyBundle {
  const spk = store.get(`spk:${store.get("spk:current") as number}`) as SignedPrekey;
  return { identity: publicIdentity(identity), spk: { id: spk.id, pub: spk.pub, sig: spk.sig } };
}

/** The safety number with the peer's pending key if one waits, else its pinned one. */
export async function peerFingerprint(
  me: string,
  mine: IdentityKeyPair,
  rec: PeerRecord,
): Promise<Fingerprint> {
  const digits = await identitySafetyNumber(me, publicIdentity(mine), rec.name, rec.pending ?? rec.identity);
  return {
    user: rec.name,
    safetyNumber: formatSafetyNumber(digits, 12),
    verified: rec.verified,
    changed: rec.pending !== undefined,
  };
}

/** Pins the peer's current key (a pending one included); `verified` after comparing numbers. */
export async function acceptPeerKey(store: PeerStore, dm: DmManager, rec: PeerRecord, verified: boolean) {
  if (rec.pending) {
    const c = await dm.contact(rec.name);
    if (c && !sameIdentity(c.identity, rec.pending)) {
      await store.commit({ put: { [`contact:${rec.name}`]: { ...c, pending: rec.pending } }, del: [] });
      await dm.trust(rec.name); // pins the new key, drops the sessions made with the old one
    }
  }
  store.putPeer({
    name: rec.name,
    identity: rec.pending ?? rec.identity,
    verified: verified || (!rec.pending && rec.verified),
    ...(rec.addr ? { addr: rec.addr } : {}),
  });
  if (verified && (await dm.contact(rec.name))) await dm.verify(rec.name);
}
