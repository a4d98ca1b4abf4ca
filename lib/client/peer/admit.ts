/**
 * Whether a node takes a new authenticated channel (peer/node.ts `#adopt`): the name it claims must
 * be a valid name other than mine, its key is pinned or checked (peer/keys.ts `pinPeerKey`), and the
 * refusals and a first contact are told as events; so is a channel its dialler hung up on before its hello
 * (`hungUp`: the dialler refused me). Pure decisions over the store; no sockets.
 */
import type { PeerChannel } from "../../net/peer_net.ts";
import { normalizeName } from "../../protocol/names.ts";
import type { BackendEvent } from "../backend.ts";
import { keyChanged } from "./events.ts";
import { MAX_STRANGERS, pinPeerKey } from "./keys.ts";
import type { PeerStore } from "./store.ts";

/**
 * The peer's name when its channel may be kept (its key pinned or matching), else null (the caller
 * closes it). `dialed`: the address I dialled it at; `linked`: a peer with a channel now.
 */
export function admitPeer(
  me: string,
  store: PeerStore,
  ch: PeerChannel,
  dialed: string | undefined,
  linked: (name: string) => boolean,
  emit: (e: BackendEvent) => void,
): string | null {
  const name = normalizeName(ch.peerName);
  if (!name || name === me) {
    emit({ type: "notice", text: `Refused a peer named "${ch.peerName}"`, level: "warn" });
    return null;
  }
  const pinned = pinPeerKey(store, name, ch.peer, dialed, linked);
  if (pinned === "changed") {
    emit(keyChanged(name));
    return null;
  }
  if (pinned === "full") {
    const text = `Refused ${name}: ${MAX_STRANGERS} first contacts wait already (/trust or write to one)`;
    emit({ type: "notice", text, level: "warn" });
    return null;
  }
  if (pinned === "new") {
    const text = `${name} reached you for the first time: not kept after you quit unless you /trust, ` +
      `/verify or write to ${name}`;
    emit({ type: "notice", text, level: "info" });
  }
  return name;
}

/**
 * What a node says when a peer that dialled it ends the channel before its hello: the dialler refused
 * it after the handshake (its pin holds another key for this name, or it was stopping). The event a
 * refused incoming channel gives; a channel I dialled that my peer drops is no refusal (two channels
 * at once: it keeps the other one).
 */
export function hungUp(name: string): BackendEvent {
  const text =
    `${name} reached this node and hung up before its hello: it may have refused this node's key ` +
    `(compare safety numbers: /fingerprint ${name})`;
  return { type: "notice", text, level: "warn" };
}
