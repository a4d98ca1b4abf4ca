/**
 * Peer mode's key rules, apart from the node's connection logic: trust on first use of the key a
 * peer proves in the handshake (a different key under a known name is kept as `pending` and
 * refused; a further new key is kept beside it, never instead: pending_keys.ts), first contacts that
 * reached me kept in memory only and capped until accepted (strangers), and what verified peers
 * tell each other about the peers they know (`/peers --discover`). Safety numbers, `/trust` and
 * `/verify` [NUMBER] are client mode's (e2e/keys.ts over `contactBook`): a peer's record is its
 * DmManager contact (peer/store.ts).
 */
import type { SessionRecord } from "../../crypto/dm.ts";
import { type PublicIdentity, sameIdentity } from "../../crypto/identity.ts";
import { addPendingKey } from "../../crypto/pending_keys.ts";
import { BackendError } from "../backend.ts";
import type { PeerRecord, PeerStore } from "./store.ts";
import { normalizeName } from "../../protocol/names.ts";

/** The record of `peer` (any spelling of the name); refused (`no_such_peer`) when there is none. */
export function knownPeer(store: PeerStore, peer: string): PeerRecord {
  const name = normalizeName(peer);
  const rec = name ? store.peer(name) : undefined;
  if (!name || !rec) {
    throw new BackendError("no_such_peer", `No peer named ${peer}: /connect HOST:PORT first`);
  }
  return rec;
}

/** First contacts that reached me and are not accepted yet, kept at once (in memory only). */
export const MAX_STRANGERS = 16;

/**
 * Checks (or pins, at first contact) the key `name` proved. `dialed`: the address the user (or a
 * verified introduction) dialled — a first contact there is kept for good, at that address, and
 * outranks a stranger's claim to the name. A first contact that reached me is a stranger: kept in
 * memory only, without an address, until accepted (`acceptStranger`); when MAX_STRANGERS wait,
 * the oldest one without a channel (`online`) is forgotten, or the newcomer refused ("full").
 * "changed": the key differs from the pin (kept as pending). "new": a new stranger.
 */
export function pinPeerKey(
  store: PeerStore,
  name: string,
  key: PublicIdentity,
  dialed?: string,
  online: (name: string) => boolean = () => false,
): "ok" | "new" | "changed" | "full" {
  let rec = store.peer(name);
  if (rec?.stranger && dialed && !sameIdentity(rec.identity, key)) rec = void store.forgetStranger(name);
  if (rec && !sameIdentity(rec.identity, key)) {
    const next = addPendingKey(rec, key); // a second new key is kept beside the first, never instead
    if (next !== rec) store.putPeer(next);
    return "changed";
  }
  if (rec) {
    if (dialed && (rec.addr !== dialed || rec.stranger)) {
      store.putPeer({ ...acceptStranger(rec), addr: dialed });
    }
    return "ok";
  }
  if (!dialed) {
    const waiting = store.strangers();
    if (waiting.length >= MAX_STRANGERS) {
      const idle = waiting.find((s) => !online(s.name));
      if (!idle) return "full";
      store.forgetStranger(idle.name);
    }
  }
  // Ratchet state an earlier stranger of this name left, made with another key, goes with it.
  const s = store.get(`session:${name}`) as SessionRecord | undefined;
  if (s && !sameIdentity(s.current.peer, key)) {
    store.commit({ put: {}, del: [`session:${name}`, `seen:${name}`] });
  }
  store.putPeer({
    name,
    identity: key,
    verified: false,
    ...(dialed ? { addr: dialed } : { stranger: true }),
  });
  return dialed ? "ok" : "new";
}

/** The record as accepted by the user: kept for good from now on (no longer a stranger). */
export function acceptStranger(rec: PeerRecord): PeerRecord {
  const { stranger: _, ...kept } = rec;
  return kept;
}

/** Keeps `name` for good when it is a stranger: the user wrote to it or pinned its key. */
export function keepPeer(store: PeerStore, name: string): void {
  const rec = store.peer(name);
  if (rec?.stranger) store.putPeer(acceptStranger(rec));
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

/** The peers of an introduction I do not know yet, strangers included (names normalised; never myself). */
export function newIntroductions(store: PeerStore, me: string, peers: Introduction[]): Introduction[] {
  const out: Introduction[] = [];
  for (const p of peers) {
    const name = normalizeName(p.name);
    const known = name ? store.peer(name) : undefined;
    if (name && name !== me && (!known || known.stranger) && !out.some((o) => o.name === name)) {
      out.push({ ...p, name });
    }
  }
  return out;
}
