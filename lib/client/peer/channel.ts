/**
 * One authenticated channel to a peer as the node keeps it (`Channel`): whether it was dialled or
 * accepted, the peer's prekey bundle from its hello, `say` (write
 * a record) and `ended` (closed), and its keepalive — a ping every `everyMs` once the peer said
 * hello; a channel silent for three periods (or one whose peer never says hello) is closed, so the
 * node redials instead of waiting forever. Also the rule that keeps one channel per peer when both dialled at once.
 */
import type { Clock } from "../../common/clock.ts";
import type { PrekeyBundle } from "../../crypto/prekeys.ts";
import type { PeerChannel } from "../../net/peer_net.ts";
import { encodePeerRecord, type PeerWireRecord } from "./wire.ts";
import { encodeFileData } from "../files/carried_wire.ts";
import type { FileData } from "../files/carried_common.ts";

export interface Channel {
  ch: PeerChannel;
  outgoing: boolean;
  bundle?: PrekeyBundle;
  hello: boolean;
  /** call on every record received */
  alive(): void;
  /**
   * Writes one record on this channel (resolves once written: TCP backpressure); `fdata` as its
   * record and its bulk frame, queued together so nothing comes between them.
   */
  say(r: PeerWireRecord | FileData): Promise<void>;
  /** the channel has closed */
  ended: boolean;
}

export function openChannel(ch: PeerChannel, outgoing: boolean, everyMs: number, clock: Clock): Channel {
  let heard = clock.now();
  const link: Channel = {
    ch,
    outgoing,
    hello: false,
    alive: () => (heard = clock.now()),
    say: (r) => {
      if (!("data" in r)) return ch.send(encodePeerRecord(r));
      const { head, body } = encodeFileData(r);
      const sent = ch.send(head), bulk = ch.sendBulk(body); // one after the other in the write queue
      return Promise.all([sent, bulk]).then(() => {});
    },
    ended: false,
  };
  const ping = setInterval(() => {
    if (clock.now() - heard > 3 * everyMs) ch.close();
    else if (link.hello) void ch.send(encodePeerRecord({ t: "ping" })).catch(() => {});
  }, everyMs);
  void ch.closed.then(() => {
    clearInterval(ping);
    link.ended = true;
  });
  return link;
}

/**
 * A second channel to the same peer: keep the new one when it goes the same way as the old (a
 * reconnect), else the one dialled by the smaller signing key — both sides decide alike.
 */
export function keepNewChannel(old: Channel, outgoing: boolean, mySign: string, theirSign: string): boolean {
  return old.outgoing === outgoing || (outgoing ? mySign < theirSign : theirSign < mySign);
}
