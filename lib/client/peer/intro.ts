/**
 * Introductions between peers that verified each other (`/peers --discover`, peer/node.ts): `who`
 * asks a verified peer whom it knows, `intro` answers with names, addresses and identities
 * (peer/keys.ts `introductionsFor`), and each new name is dialled at its address, where it must
 * prove the identity its introducer gave. Records from a peer I did not verify are ignored.
 */
import type { PublicIdentity } from "../../crypto/identity.ts";
import type { BackendEvent } from "../backend.ts";
import { introductionsFor, newIntroductions } from "./keys.ts";
import type { Channel } from "./channel.ts";
import type { PeerStore } from "./store.ts";
import { encodePeerRecord, type PeerWireRecord } from "./wire.ts";

/** Asks every connected peer I verified whom it knows; answers how many were asked. */
export function askVerifiedPeers(links: Map<string, Channel>, store: PeerStore): number {
  const asked = [...links].filter(([n, l]) => l.hello && store.peer(n)?.verified);
  for (const [, l] of asked) void l.ch.send(encodePeerRecord({ t: "who" })).catch(() => {});
  return asked.length;
}

/** What handling `who` and `intro` needs of the node. */
export interface IntroCore {
  me: string;
  store: PeerStore;
  emit(e: BackendEvent): void;
  connect(addr: string, expect: PublicIdentity): Promise<string>;
}

/** A `who` or `intro` record from `name`: answered, or its new peers dialled (verified peers only). */
export async function introductions(
  c: IntroCore,
  name: string,
  link: Channel,
  r: PeerWireRecord,
): Promise<void> {
  if (!c.store.peer(name)?.verified) return; // only between peers that verified each other
  if (r.t === "who") {
    return link.ch.send(encodePeerRecord({ t: "intro", peers: introductionsFor(c.store, name) }));
  }
  if (r.t !== "intro") return;
  for (const p of newIntroductions(c.store, c.me, r.peers)) {
    c.emit({ type: "notice", text: `${name} introduces ${p.name} at ${p.addr}`, level: "info" });
    await c.connect(p.addr, p.identity).catch((e) =>
      c.emit({ type: "notice", text: `${p.name}: ${(e as Error).message}`, level: "warn" })
    );
  }
}
