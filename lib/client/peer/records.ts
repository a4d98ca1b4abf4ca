/**
 * The records of one peer channel as a node reads them (peer/node.ts): each decoded (peer/wire.ts),
 * an `fdata` joined to the bulk frame after it, until the channel ends; a malformed record ends the
 * channel with a warning, an error while handling one is a warning and the reading goes on. And the
 * first record both ways, `hello`: where I listen and my prekey bundle (`sayHello`); the peer's: its prekey bundle (when it is the channel's identity's) and, from a verified peer
 * only, the address to redial it at.
 */
import type { BackendEvent } from "../backend.ts";
import type { Channel } from "./channel.ts";
import type { PeerStore } from "./store.ts";
import { decodePeerRecord, encodePeerRecord, type PeerWireRecord } from "./wire.ts";
import { joinFileData } from "../files/carried_wire.ts";
import type { FileRecord } from "../files/carried_common.ts";
import type { PrekeyBundle } from "../../crypto/prekeys.ts";
import { sameIdentity } from "../../crypto/identity.ts";

/** Reads `link`'s records into `handle` until the channel ends or sends a malformed one. */
export async function readRecords(
  name: string,
  link: Channel,
  handle: (r: PeerWireRecord | FileRecord) => Promise<void>,
  emit: (e: BackendEvent) => void,
): Promise<void> {
  for (;;) {
    const b = await link.ch.recv();
    if (!b) return;
    link.alive();
    let r: PeerWireRecord | FileRecord;
    try {
      r = decodePeerRecord(b);
      // File data: its bytes are the bulk frame that follows (peer/wire.ts).
      if (r.t === "fdata" && !("data" in r)) {
        const body = await link.ch.recvBulk();
        if (!body) return;
        r = joinFileData(r, body);
      }
    } catch (e) {
      return emit({ type: "notice", text: `${name}: ${(e as Error).message}; disconnected`, level: "warn" });
    }
    await handle(r).catch((e) =>
      emit({ type: "notice", text: `${name}: ${(e as Error).message}`, level: "warn" })
    );
  }
}

/** Takes the `hello` of `name`; true when it is the channel's first (the peer is connected now). */
export function takeHello(
  store: PeerStore,
  name: string,
  link: Channel,
  r: Extract<PeerWireRecord, { t: "hello" }>,
) {
  if (sameIdentity(r.bundle.identity, link.ch.peer)) link.bundle = r.bundle;
  const host = link.ch.host.includes(":") ? `[${link.ch.host}]` : link.ch.host;
  const addr = r.listen?.startsWith(":") ? `${host}${r.listen}` : r.listen;
  // The address a peer names is taken only from a verified one (else the user dials it).
  const rec = store.peer(name);
  if (rec?.verified && addr && rec.addr !== addr) store.putPeer({ ...rec, addr });
  if (link.hello) return false;
  link.hello = true;
  return true;
}

/** My first record on a channel: where I listen (`at`) and my signed prekey bundle. */
export function sayHello(link: Channel, bundle: PrekeyBundle, at: string): Promise<void> {
  return link.ch.send(encodePeerRecord({ t: "hello", listen: at, bundle }));
}
