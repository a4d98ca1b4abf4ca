/**
 * `PeerLinks`: a peer node's table of channels, one `Channel` (peer/channel.ts) per peer name. A second
 * authenticated channel under a name either replaces the first or is refused, by the one rule both
 * sides apply alike (`keepNewChannel`); a channel of another key under the name (a stranger's) always
 * gives way. Its only I/O is closing the channel that loses.
 */
import { sameIdentity } from "../../crypto/identity.ts";
import type { PeerChannel } from "../../net/peer_net.ts";
import { type Channel, keepNewChannel } from "./channel.ts";

/** Links by peer name (a `Map`, plus the rules of admitting a new channel). */
export class PeerLinks extends Map<string, Channel> {
  /** The peer's link once its hello arrived (messages, typing and files may go), else undefined. */
  open(name: string): Channel | undefined {
    const l = this.get(name);
    return l?.hello ? l : undefined;
  }

  /**
   * Makes room for `ch`, a new channel to `name` (`outgoing`: I dialled; `mySign`: my signing key):
   * true when it is to be kept (the old link, if any, is closed and forgotten), false when the old
   * one stays (`ch` is closed).
   */
  makeRoom(name: string, ch: PeerChannel, outgoing: boolean, mySign: string): boolean {
    const old = this.get(name);
    if (old && sameIdentity(old.ch.peer, ch.peer) && !keepNewChannel(old, outgoing, mySign, ch.peer.sign)) {
      ch.close();
      return false;
    }
    if (old) {
      this.delete(name);
      old.ch.close();
    }
    return true;
  }
}
